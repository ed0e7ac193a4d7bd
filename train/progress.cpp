#include "train/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace legato::model {
namespace {
std::string clock_text(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}
}  // namespace

int terminal_columns() {
  if (const char* env = std::getenv("COLUMNS"))
    if (const int c = std::atoi(env); c > 0) return c;
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

std::string Progress::bar_line(const std::string& label, int64_t done, int64_t total, const std::string& status,
                               const std::string& eta, int columns) {
  const std::string before = label + " [",
                    after = "] " + std::to_string(done) + "/" + std::to_string(total) + " " + status + " ETA " + eta;
  // One column stays free: a line that fills the last one wraps on some terminals.
  const int room = columns - 1 - static_cast<int>(before.size() + after.size());
  if (room < 10) return "";
  const int width = std::min(30, room);
  const int filled = total > 0 ? static_cast<int>(width * std::clamp<int64_t>(done, 0, total) / total) : 0;
  return before + std::string(filled, '#') + std::string(width - filled, '.') + after;
}

Progress::Progress(std::ostream& out, bool terminal, double interval, int columns)
    : out_(out), terminal_(terminal), interval_(interval), columns_(columns > 0 ? columns : terminal_columns()) {}

void Progress::start(const std::string& label, int64_t total) {
  label_ = label;
  total_ = total;
  start_ = last_ = last_plain_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double since_last = std::chrono::duration<double>(now - last_).count();
  if (terminal_ ? since_last < 0.1 && done < total_ : since_last < interval_) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = done > 0 ? elapsed * static_cast<double>(total_ - done) / static_cast<double>(done) : 0;
  if (terminal_) {
    const std::string line = bar_line(label_, done, total_, status, clock_text(eta), columns_);
    if (!line.empty()) {
      out_ << "\r" << line << std::string(shown_ > line.size() ? shown_ - line.size() : 0, ' ') << std::flush;
      shown_ = line.size();
      return;
    }
    // Too narrow for a bar: the plain lines, at their own pace.
    if (std::chrono::duration<double>(now - last_plain_).count() < interval_ && done < total_) return;
    last_plain_ = now;
  }
  out_ << label_ << ": " << done << "/" << total_ << " " << status << " ETA " << clock_text(eta) << "\n" << std::flush;
}

void Progress::finish() {
  if (terminal_ && shown_ > 0) out_ << "\r" << std::string(shown_, ' ') << "\r" << std::flush;
  shown_ = 0;
}

}  // namespace legato::model
