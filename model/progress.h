#pragma once
// Progress of long work: a live bar on a terminal, plain periodic lines otherwise (logs, CI).
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace legato::model {

class Progress {
 public:
  Progress(std::ostream& out, bool terminal, double line_interval_seconds = 10.0);
  void start(const std::string& label, int64_t total);
  // done of total units; a short status such as "loss 2.31 1520 tok/s".
  void update(int64_t done, const std::string& status);
  void finish();  // ends the bar's line

 private:
  std::ostream& out_;
  bool terminal_;
  double interval_;
  std::string label_;
  int64_t total_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace legato::model
