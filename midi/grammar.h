// What may follow what in the `event` scheme (midi/tokenizer_event.h), so that sampling never
// writes a sequence the tokenizer could not have written: a duration without a note, a note
// without an instrument, an instrument outside the piece's ensemble. Version 2 of the scheme
// begins every piece with its ensemble (I<program> and IDRUMS tokens after BOS); the grammar
// keeps the notes inside it.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "midi/tokenizer.h"

namespace legato::midi {

class EventGrammar {
 public:
  // `vocab`: token strings in id order; `options`: the scheme's grid and version.
  EventGrammar(const std::vector<std::string>& vocab, const EventOptions& options);

  // Advances the state by one token. A token the grammar forbids is still taken (a primer cut
  // from the middle of a file starts with whatever it starts with): the state follows it.
  void feed(int32_t token);
  bool allows(int32_t token) const;
  // Sets the logits of every token that cannot come next to -1e30 (never sampled); the instruments
  // of the ensemble first take the probability of those masked for being outside it, so that the
  // network changes instrument as often as it means to (`logits`: [vocab], the network's output).
  void mask(float* logits) const;

  // The ensemble fed so far is the whole of it: no further instrument joins the header (a primer
  // that ends with its ensemble, chosen by the user or drawn from the corpus).
  void close_header() { header_closed_ = true; }
  // EOS is forbidden until the piece's time reaches `steps` grid steps (0: no minimum).
  void set_min_steps(int64_t steps) { min_steps_ = steps; }
  // The middle of an infilling (midi/infill.h) starts here and must end at grid step `end`: no
  // shift may pass it, no note start at it, no EOS come (the rest of the piece follows); the
  // middle names its first instrument again, as training's middles do. finished() says when the
  // time has reached `end` with the last note whole. With `name_instrument` false the music goes
  // on in the instrument in force (a plain continuation held to the same end: composer
  // --infill-sees before).
  void begin_middle(int64_t end, bool name_instrument = true);
  // In a middle, what the network gives the shifts that would pass its end goes to the shift that
  // lands on it (as training splits a shift across the gap's edge: the middle ends with its first
  // part), instead of being spread over notes and shorter shifts, which crowded the gap's last
  // quarter with twice its share of notes (docs/infill.md, quality.md 2026-12-07 "seam").
  void set_rest_to_end(bool on) { rest_to_end_ = on; }
  bool finished() const { return max_steps_ > 0 && now_ >= max_steps_ && last_.kind != Kind::Note; }
  int64_t now() const { return now_; }        // grid steps advanced so far
  int64_t music_end() const { return end_; }  // the latest end of a note so far, in grid steps
  // The header's instruments in order (programs, -1 for drums); empty before or without one.
  const std::vector<int>& ensemble() const { return ensemble_; }
  // The instrument the next note plays: a program, -1 for drums, kNoInstrument when not yet known.
  static constexpr int kNoInstrument = -2;
  int instrument() const { return instrument_; }
  // What token `id` is, for steering sampling (model/control_guide.h): a note's MIDI pitch, a time
  // shift's grid steps; -1 for any other token.
  int pitch_of(int32_t id) const;
  int shift_of(int32_t id) const;
  const EventOptions& options() const { return options_; }

 private:
  enum class Kind : uint8_t { Other, Bos, Eos, Shift, Program, Velocity, Note, Duration, Header };
  struct Token {
    Kind kind = Kind::Other;
    int value = 0;  // steps, program (-1: drums), bin or pitch
  };
  enum class Phase : uint8_t { Start, Header, Body };

  bool allowed_in_header(const Token& t) const;
  bool allowed_in_body(const Token& t) const;
  bool instrument_allowed(int instrument) const;
  bool within_middle(const Token& t) const;
  void keep_instrument_mass(float* logits) const;
  void keep_shift_mass(float* logits) const;

  std::vector<Token> tokens_;  // per vocabulary id
  EventOptions options_;
  Phase phase_ = Phase::Start;
  Token last_;                      // the last token fed
  int instrument_ = kNoInstrument;  // the instrument the next note plays (-1: drums)
  bool mid_piece_ = false;          // fed from the middle of a piece: instrument and ensemble unknown
  bool header_closed_ = false;
  bool rest_to_end_ = false;      // set_rest_to_end
  std::bitset<129> in_ensemble_;  // instrument + 1
  std::vector<int> ensemble_;
  int64_t now_ = 0, min_steps_ = 0, max_steps_ = 0;  // max 0: no limit
  int64_t held_ = 0, end_ = 0;                       // the duration of the latest note so far; where the music ends
};

}  // namespace legato::midi
