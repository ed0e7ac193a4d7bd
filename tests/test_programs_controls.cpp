// trainer --controls and composer --key / --density / --style as a person runs them
// (docs/controls.md): the controls named in the summary, and one line with exit code 2 for each refusal.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

#include "midi/writer.h"
#include "run_program.h"
#include "score_builder.h"
#include "temp_dir.h"

namespace {

using legato::testing::run_program;

size_t lines_of(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("programs: trainer --controls, composer --key --density --style; refusals are one line") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_controls");
  for (int k = 0; k < 4; ++k) {
    const std::string style = k < 2 ? "calm" : "busy";
    std::filesystem::create_directories(data / style);
    std::string name = "p";  // appended: GCC 12 warns falsely about "p" + std::to_string(k)
    name += std::to_string(k) + ".mid";
    midi::Score s = legato::testing::scale_piece(2 * k, k % 2 == 1, 100, 36);
    for (size_t n = 0, end = s.notes.size(); n < end; ++n)  // k more notes at each onset: four densities
      for (int extra = 1; extra <= k; ++extra) s.notes.push_back(s.notes[n]), s.notes.back().pitch += 12 * extra;
    std::stable_sort(s.notes.begin(), s.notes.end(),
                     [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
    midi::write_midi_file(s, data / style / name);
  }
  const std::string common = "--preset tiny --data " + data.string() +
                             " --epochs 1 --hidden 16 --seq-len 24 --batch 4 --eval-pieces 0 --val-split 0 --out ";
  const auto trained =
      run_program("trainer", common + (data / "ctl").string() + " --controls key,density --style-from-folders");
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  REQUIRE(run_program("trainer", common + (data / "plain").string()).status == 0);

  const std::string ck = " --checkpoint " + (data / "ctl" / "best.safetensors").string();
  const std::string out = " --out " + (data / "c.mid").string();
  const auto composed =
      run_program("composer", ck + out + " --key \"D minor\" --density high --style calm --length 40 --seed 2");
  INFO(composed.output);
  REQUIRE(composed.status == 0);
  CHECK(composed.output.find("controls: key D minor, density high, style calm") != std::string::npos);
  const auto drawn = run_program("composer", ck + out + " --length 40 --seed 2");
  CHECK(drawn.status == 0);
  CHECK(drawn.output.find("controls: key ") != std::string::npos);  // drawn from the corpus, and said

  const std::string plain_ck = " --checkpoint " + (data / "plain" / "best.safetensors").string();
  const std::string primer = " --primer " + (data / "calm" / "p0.mid").string();
  for (const std::string& args :
       {ck + " --density dense", ck + " --style jazz", ck + " --key \"H minor\"", ck + " --key Dm" + primer,
        ck + " --density low --infill " + (data / "calm" / "p0.mid").string() + " --bars 1-2", plain_ck + " --key C",
        ck + " --density high --density-strength -1"}) {
    const auto r = run_program("composer", args + out);
    INFO(args, "\n", r.output);
    CHECK(r.status == 2);
    CHECK(lines_of(r.output) == 1);
  }
  CHECK(run_program("composer", ck + out + " --density dense").output ==
        "composer: --density dense: unknown to this checkpoint; known: low, mid, high\n");
  CHECK(run_program("composer", plain_ck + out + " --key C").output ==
        "composer: --key C: this checkpoint was trained without control tokens (trainer --controls)\n");
  for (const std::string& args : {std::string(" --controls tempo"), std::string(" --controls key --scheme seed")}) {
    const auto r = run_program("trainer", common + (data / "bad").string() + args);
    INFO(args, "\n", r.output);
    CHECK(r.status == 2);
    CHECK(lines_of(r.output) == 1);
  }
  CHECK(run_program("composer", "--help").output.find("--density") != std::string::npos);
  CHECK(run_program("composer", "--help").output.find("--key-strength") != std::string::npos);
  CHECK(run_program("trainer", "--help").output.find("--style-from-folders") != std::string::npos);
}
