#pragma once
// The notes of an event-scheme token stream, one token at a time: a note (N<pitch> D<steps>...)
// is final once a token other than a duration follows it, and is handed out then, so that an
// answer's notes can be scheduled while the network is still writing.
#include <cstdint>

#include "live/event_vocab.h"

namespace legato::live {

struct LiveNote {
  int64_t onset = 0, duration = 0;  // grid steps
  int instrument = 0;               // program, -1 for drums
  int pitch = 0, velocity = 0;
};

class TokenNotes {
 public:
  explicit TokenNotes(const EventVocab& vocab) : vocab_(&vocab) {}
  // Takes the next token; true when it made the note before it final (written to `done`).
  bool feed(int32_t token, LiveNote& done);
  // The note still open, if any, as it stands (the stream ends or pauses here).
  bool flush(LiveNote& done);
  int64_t now() const { return now_; }  // grid steps advanced so far

 private:
  const EventVocab* vocab_;  // a pointer, not a reference: the session copies its tokenizers to go back to them
  LiveNote open_;
  bool has_open_ = false;
  int64_t now_ = 0;
  int instrument_ = 0;
  int velocity_ = 0;  // 0: the default, as the tokenizer gives notes without velocity tokens
};

}  // namespace legato::live
