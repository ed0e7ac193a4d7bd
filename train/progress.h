#pragma once
// Progress of long work: a live bar on a terminal, plain periodic lines otherwise (logs, CI).
// The bar's line fits the terminal's width (it never wraps, which would leave a stale line per
// redraw); a terminal narrower than the bar needs gets the plain lines instead.
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace legato::model {

// The width of the terminal on standard output: $COLUMNS, else the terminal's own, else 80.
int terminal_columns();

class Progress {
 public:
  // `columns`: the terminal's width (0: terminal_columns()); only used with `terminal`.
  Progress(std::ostream& out, bool terminal, double line_interval_seconds = 10.0, int columns = 0);
  void start(const std::string& label, int64_t total);
  // done of total units; a short status such as "loss 2.31 1520 tok/s".
  void update(int64_t done, const std::string& status);
  void finish();  // ends the bar's line

  // The bar's line for a terminal `columns` wide: at most columns - 1 characters, the bar 30 wide
  // or narrower; "" when even a bar of 10 does not fit (then plain lines are written).
  static std::string bar_line(const std::string& label, int64_t done, int64_t total, const std::string& status,
                              const std::string& eta, int columns);

 private:
  std::ostream& out_;
  bool terminal_;
  double interval_;
  int columns_;
  std::string label_;
  int64_t total_ = 0;
  size_t shown_ = 0;  // characters of the bar's line now on screen
  std::chrono::steady_clock::time_point start_, last_, last_plain_;
};

}  // namespace legato::model
