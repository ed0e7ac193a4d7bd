// The trainer's progress bar (train/progress.h): its line fits the terminal's width, so it never
// wraps into a stale line per redraw; a terminal narrower than the bar needs gets plain lines.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "train/progress.h"

using legato::model::Progress;

TEST_CASE("progress: the bar's line fits the terminal; too narrow a terminal gets plain lines") {
  const std::string status = "loss 2.5924 15230 tok/s", with_oa = status + ", mean OA 0.871";
  const std::string wide = Progress::bar_line("epoch 12/100", 150, 387, status, "1:23", 120);
  std::string drawn = "[";  // appended, not "[" + ...: GCC 12 warns falsely about that (-Wrestrict)
  drawn += std::string(11, '#') + std::string(19, '.') + "]";
  CHECK(wide.find(drawn) != std::string::npos);  // 30 wide
  for (int columns : {70, 80, 100, 120}) {
    CAPTURE(columns);
    const std::string line = Progress::bar_line("epoch 12/100", 150, 387, status, "1:23", columns);
    REQUIRE_FALSE(line.empty());
    CHECK(static_cast<int>(line.size()) <= columns - 1);
    CHECK(line.find(status) != std::string::npos);
  }
  CHECK(Progress::bar_line("epoch 12/100", 150, 387, status, "1:23", 50).empty());
  // The longer status of a run that measures its music needs more room than 70 columns leave.
  CHECK(Progress::bar_line("epoch 12/100", 150, 387, with_oa, "1:23", 70).empty());
  CHECK(static_cast<int>(Progress::bar_line("epoch 12/100", 150, 387, with_oa, "1:23", 100).size()) <= 99);

  // Drawn on a 70-column terminal: every redraw (between carriage returns) fits in 69 columns.
  std::ostringstream out70;
  Progress bar(out70, true, 10.0, 70);
  bar.start("epoch 1/20", 5);
  for (int k = 1; k <= 5; ++k) bar.update(k, status);
  bar.finish();
  std::istringstream redraws(out70.str());
  int count = 0;
  for (std::string piece; std::getline(redraws, piece, '\r');) {
    CHECK(piece.find('\n') == std::string::npos);
    CHECK(piece.size() <= 69);
    ++count;
  }
  CHECK(count >= 2);
  // On a 40-column terminal: plain lines (here the last one, at the end of the epoch), no bar.
  std::ostringstream out40;
  Progress plain(out40, true, 10.0, 40);
  plain.start("epoch 1/20", 5);
  for (int k = 1; k <= 5; ++k) plain.update(k, status);
  plain.finish();
  CHECK(out40.str().find('\r') == std::string::npos);
  CHECK(out40.str().find('[') == std::string::npos);
  CHECK(out40.str().find("epoch 1/20: 5/5 " + status) != std::string::npos);
}
