#include "model/progress.h"

#include <cstdio>

namespace legato::model {
namespace {
std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}
}  // namespace

Progress::Progress(std::ostream& out, bool terminal, double interval)
    : out_(out), terminal_(terminal), interval_(interval) {}

void Progress::start(const std::string& label, int64_t total) {
  label_ = label;
  total_ = total;
  start_ = last_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (terminal_ ? since_last < 0.1 && done < total_ : since_last < interval_) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0;
  const int width = 30;
  const int filled = total_ > 0 ? static_cast<int>(width * done / total_) : 0;
  if (terminal_) {
    out_ << "\r" << label_ << " [" << std::string(filled, '#') << std::string(width - filled, '.') << "] " << done
         << "/" << total_ << " " << status << " ETA " << clock_text(eta) << "   " << std::flush;
  } else {
    out_ << label_ << ": " << done << "/" << total_ << " " << status << " ETA " << clock_text(eta) << "\n"
         << std::flush;
  }
}

void Progress::finish() {
  if (terminal_) out_ << "\r" << std::string(110, ' ') << "\r" << std::flush;
}

}  // namespace legato::model
