#pragma once
// The event scheme's vocabulary (midi/tokenizer_event.h) as the live engine needs it: each token
// id's kind and value, and the id of each note, duration, time shift and instrument, so that
// notes become tokens and tokens become notes without string work on the engine's hot path.
#include <cstdint>
#include <string>
#include <vector>

namespace legato::live {

enum class TokenKind : uint8_t { Other, Bos, Eos, Unknown, Shift, Program, Velocity, Note, Duration, Header };

struct TokenInfo {
  TokenKind kind = TokenKind::Other;
  int value = 0;  // steps, program (-1: drums), bin or pitch
};

class EventVocab {
 public:
  // `vocab`: the checkpoint's token strings in id order. Throws std::invalid_argument when it is
  // not the event scheme's (no note, duration or time-shift tokens).
  explicit EventVocab(const std::vector<std::string>& vocab);

  const TokenInfo& info(int32_t id) const { return info_[static_cast<size_t>(id)]; }
  int64_t size() const { return static_cast<int64_t>(info_.size()); }
  // -1 where the vocabulary lacks the token.
  int32_t note(int pitch) const { return pitch >= 0 && pitch < 128 ? note_[pitch] : -1; }
  int32_t program(int program) const { return program >= -1 && program < 128 ? program_[program + 1] : -1; }
  int32_t header(int program) const { return program >= -1 && program < 128 ? header_[program + 1] : -1; }
  int32_t velocity(int bin) const { return bin >= 0 && bin < int(velocity_.size()) ? velocity_[bin] : -1; }
  int32_t bos() const { return bos_; }
  int velocity_bins() const { return static_cast<int>(velocity_.size()); }
  int max_shift() const { return static_cast<int>(shift_.size()) - 1; }
  int max_duration() const { return static_cast<int>(duration_.size()) - 1; }
  // The largest shift / duration token of at most `steps` (>= 1), so that longer spans repeat it.
  int32_t shift_at_most(int64_t steps) const { return largest(shift_, steps); }
  int32_t duration_at_most(int64_t steps) const { return largest(duration_, steps); }
  // The instrument a player's notes are fed as: piano where the vocabulary has it, else the first
  // pitched instrument it knows.
  int voice() const { return voice_; }

 private:
  static int32_t largest(const std::vector<int32_t>& ids, int64_t steps);

  std::vector<TokenInfo> info_;
  std::vector<int32_t> note_, program_, header_, velocity_, shift_, duration_;  // by value (shift_[0] unused)
  int32_t bos_ = -1;
  int voice_ = 0;
};

}  // namespace legato::live
