#include "midi/grammar.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

namespace legato::midi {
namespace {

std::optional<int> number_after(std::string_view token, std::string_view prefix) {
  if (token.size() <= prefix.size() || token.substr(0, prefix.size()) != prefix) return std::nullopt;
  int v = 0;
  const auto [ptr, ec] = std::from_chars(token.data() + prefix.size(), token.data() + token.size(), v);
  if (ec != std::errc() || ptr != token.data() + token.size()) return std::nullopt;
  return v;
}

}  // namespace

EventGrammar::EventGrammar(const std::vector<std::string>& vocab, const EventOptions& options) : options_(options) {
  tokens_.reserve(vocab.size());
  for (const std::string& s : vocab) {
    Token t;
    if (s == "BOS") {
      t.kind = Kind::Bos;
    } else if (s == "EOS") {
      t.kind = Kind::Eos;
    } else if (s == "DRUMS") {
      t = {Kind::Program, -1};
    } else if (s == "IDRUMS") {
      t = {Kind::Header, -1};
    } else if (auto v = number_after(s, "T")) {
      t = {Kind::Shift, *v};
    } else if (auto p = number_after(s, "P")) {
      t = {Kind::Program, *p};
    } else if (auto i = number_after(s, "I")) {
      t = {Kind::Header, *i};
    } else if (auto b = number_after(s, "V")) {
      t = {Kind::Velocity, *b};
    } else if (auto n = number_after(s, "N")) {
      t = {Kind::Note, *n};
    } else if (auto d = number_after(s, "D")) {
      t = {Kind::Duration, *d};
    }
    if (t.kind == Kind::Header && options_.version < 2) t.kind = Kind::Other;  // no header before version 2
    tokens_.push_back(t);
  }
}

void EventGrammar::feed(int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return;
  const Token t = tokens_[static_cast<size_t>(id)];
  if (t.kind == Kind::Bos) {
    // A new piece: nothing chosen yet.
    phase_ = options_.version >= 2 ? Phase::Header : Phase::Body;
    instrument_ = kNoInstrument;
    mid_piece_ = header_closed_ = false;
    in_ensemble_.reset();
    ensemble_.clear();
    now_ = held_ = end_ = 0;
  } else if (t.kind == Kind::Header) {
    in_ensemble_.set(static_cast<size_t>(t.value + 1));
    ensemble_.push_back(t.value);
  } else {
    // The first token of a primer cut mid-piece: no ensemble known, so none is enforced.
    if (phase_ == Phase::Start) mid_piece_ = true;
    phase_ = Phase::Body;
    if (t.kind == Kind::Shift) now_ += t.value;
    if (t.kind == Kind::Program) instrument_ = t.value;
    if (t.kind == Kind::Note) held_ = 0;
    if (t.kind == Kind::Duration) end_ = std::max(end_, now_ + (held_ += t.value));
  }
  last_ = t;
}

void EventGrammar::begin_middle(int64_t end, bool name_instrument) {
  max_steps_ = end;
  if (name_instrument) {
    instrument_ = kNoInstrument;
    mid_piece_ = false;
  }
  phase_ = Phase::Body;
}

bool EventGrammar::instrument_allowed(int instrument) const {
  if (instrument == instrument_) return false;  // the tokenizer names an instrument only when it changes
  if (options_.version < 2 || mid_piece_ || ensemble_.empty()) return true;
  return in_ensemble_.test(static_cast<size_t>(instrument + 1));
}

// After BOS: the ensemble, at least one instrument, in ascending order (drums first), so that an
// ensemble has one spelling; then the first shift or instrument of the music.
bool EventGrammar::allowed_in_header(const Token& t) const {
  if (t.kind == Kind::Header) return !header_closed_ && (ensemble_.empty() || t.value > ensemble_.back());
  if (ensemble_.empty()) return false;
  return t.kind == Kind::Shift || (t.kind == Kind::Program && instrument_allowed(t.value));
}

// The music, as tokenize() writes it: [T...] [P|DRUMS] [V] N D [D...], EOS after a whole note.
bool EventGrammar::allowed_in_body(const Token& t) const {
  const bool note_done = last_.kind == Kind::Duration || last_.kind == Kind::Other || last_.kind == Kind::Bos ||
                         last_.kind == Kind::Header;
  if (max_steps_ > 0 && !within_middle(t)) return false;
  switch (t.kind) {
    case Kind::Duration:
      // A duration follows its note, or a longest duration it continues.
      return last_.kind == Kind::Note || (last_.kind == Kind::Duration && last_.value == options_.max_duration_steps);
    case Kind::Shift: return note_done || (last_.kind == Kind::Shift && last_.value == options_.max_shift_steps);
    case Kind::Program: return (note_done || last_.kind == Kind::Shift) && instrument_allowed(t.value);
    case Kind::Velocity:
      return options_.velocity_bins > 0 && (note_done || last_.kind == Kind::Shift || last_.kind == Kind::Program);
    case Kind::Note:
      // A note needs an instrument (unknown, and so taken as given, in a primer cut mid-piece).
      return (instrument_ != kNoInstrument || mid_piece_) &&
             (note_done || last_.kind == Kind::Shift || last_.kind == Kind::Program || last_.kind == Kind::Velocity);
    case Kind::Eos: return last_.kind == Kind::Duration && now_ >= min_steps_;
    default: return false;  // BOS, UNK, a header token in the music
  }
}

// Inside an infilling's middle: time up to its end and no further, notes only before it.
bool EventGrammar::within_middle(const Token& t) const {
  switch (t.kind) {
    case Kind::Shift: return now_ + t.value <= max_steps_;
    case Kind::Program:
    case Kind::Velocity:
    case Kind::Note: return now_ < max_steps_;
    case Kind::Eos: return false;
    default: return true;
  }
}

int EventGrammar::pitch_of(int32_t id) const {
  const Token& t = tokens_.at(static_cast<size_t>(id));
  return t.kind == Kind::Note ? t.value : -1;
}

int EventGrammar::shift_of(int32_t id) const {
  const Token& t = tokens_.at(static_cast<size_t>(id));
  return t.kind == Kind::Shift ? t.value : -1;
}

bool EventGrammar::allows(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) return false;
  const Token& t = tokens_[static_cast<size_t>(id)];
  switch (phase_) {
    case Phase::Start: return t.kind == Kind::Bos;
    case Phase::Header: return allowed_in_header(t);
    case Phase::Body: return allowed_in_body(t);
  }
  return false;
}

// A network that does not tie its instruments to the piece's ensemble spreads the probability of
// changing instrument over every program of its corpus; masking the ones outside the ensemble
// would drop most of that probability while notes and shifts keep theirs, so that the pieces
// hardly change instrument and leave much of their ensemble silent (quality.md, 2026-12-06). The
// ensemble's instruments therefore take the probability of the instruments masked for being
// outside it, in proportion to their own: log(mass of every instrument the ensemble would not
// exclude / mass of the ensemble's), added to each of their logits.
void EventGrammar::keep_instrument_mass(float* logits) const {
  if (options_.version < 2 || mid_piece_ || ensemble_.empty()) return;  // no ensemble enforced
  double top = -1e30;
  for (size_t k = 0; k < tokens_.size(); ++k)
    if (tokens_[k].kind == Kind::Program) top = std::max(top, double(logits[k]));
  double all = 0, inside = 0;
  for (size_t k = 0; k < tokens_.size(); ++k) {
    const Token& t = tokens_[k];
    if (t.kind != Kind::Program || t.value == instrument_ || logits[k] <= -1e29f) continue;
    const double mass = std::exp(double(logits[k]) - top);
    all += mass;
    if (allows(static_cast<int32_t>(k))) inside += mass;
  }
  if (inside <= 0 || all <= inside) return;  // no instrument may come next, or none is outside
  const auto shift = static_cast<float>(std::log(all / inside));
  for (size_t k = 0; k < tokens_.size(); ++k)
    if (tokens_[k].kind == Kind::Program && allows(static_cast<int32_t>(k))) logits[k] += shift;
}

// In a middle with set_rest_to_end: the shift that lands on the middle's end takes the probability
// of every shift that would pass it: its logit becomes the log of the sum of their exponentials.
void EventGrammar::keep_shift_mass(float* logits) const {
  const int64_t left = max_steps_ - now_;
  if (!rest_to_end_ || max_steps_ <= 0 || left <= 0 || left >= options_.max_shift_steps) return;
  int32_t landing = -1;
  for (size_t k = 0; k < tokens_.size(); ++k)
    if (tokens_[k].kind == Kind::Shift && tokens_[k].value == left) landing = static_cast<int32_t>(k);
  if (landing < 0 || !allows(landing)) return;  // no shift may come next
  double top = logits[landing];
  for (size_t k = 0; k < tokens_.size(); ++k)
    if (tokens_[k].kind == Kind::Shift && tokens_[k].value > left) top = std::max(top, double(logits[k]));
  double mass = std::exp(double(logits[landing]) - top);
  for (size_t k = 0; k < tokens_.size(); ++k)
    if (tokens_[k].kind == Kind::Shift && tokens_[k].value > left) mass += std::exp(double(logits[k]) - top);
  logits[landing] = static_cast<float>(top + std::log(mass));
}

void EventGrammar::mask(float* logits) const {
  keep_instrument_mass(logits);
  keep_shift_mass(logits);
  for (size_t k = 0; k < tokens_.size(); ++k)
    if (!allows(static_cast<int32_t>(k))) logits[k] = -1e30f;
}

}  // namespace legato::midi
