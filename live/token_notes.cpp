#include "live/token_notes.h"

#include <algorithm>

namespace legato::live {

bool TokenNotes::flush(LiveNote& done) {
  if (!has_open_) return false;
  has_open_ = false;
  done = open_;
  return true;
}

bool TokenNotes::feed(int32_t token, LiveNote& done) {
  const TokenInfo& t = vocab_->info(token);
  if (t.kind == TokenKind::Duration) {
    if (has_open_) open_.duration += t.value;
    return false;
  }
  const bool finished = flush(done);
  switch (t.kind) {
    case TokenKind::Shift: now_ += t.value; break;
    case TokenKind::Program: instrument_ = t.value; break;
    case TokenKind::Velocity: {
      const int bins = std::max(1, vocab_->velocity_bins());
      velocity_ = std::clamp((2 * t.value + 1) * 128 / (2 * bins), 1, 127);  // the bin's centre
      break;
    }
    case TokenKind::Note:
      open_ = {now_, 0, instrument_, t.value, velocity_ > 0 ? velocity_ : vocab_->velocity_bins() ? 64 : 80};
      has_open_ = true;
      break;
    default: break;
  }
  return finished;
}

}  // namespace legato::live
