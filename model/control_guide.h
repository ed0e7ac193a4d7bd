#pragma once
// Guidance: sampling steered toward the controls asked for (composer --key, --density;
// docs/controls.md). A network follows its control tokens only as well as it learnt them, and short
// runs learn them poorly (bench/results/quality.md: 48% of --key pieces in the key, 46% of --density
// pieces in the class); a person who asks for "D minor" expects D minor. So while sampling, biases
// on the logits favour the asked key's notes and the note starts or time shifts that bring the
// piece's running density toward the asked class. Strength 0 leaves the logits as they are: the
// control tokens alone.
#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "midi/grammar.h"
#include "midi/key.h"

namespace legato::model {

// The defaults of composer --key-strength and --density-strength, measured in
// bench/results/quality.md (2026-12-06, guidance): the smallest that reached the goals there.
inline constexpr double kDefaultKeyStrength = 4.0;
// The density's is 40, for pieces and gaps alike: the running density is a cumulative measure, so a
// weak pull settles short of the target wherever the network's own density lies elsewhere. At 5
// (the first default) 56-79% of 16-bar pieces of the `default` recipe's 36- and 72-epoch networks
// fell in the asked third, at 40 83-88%, with the same mean OA against held-out pieces
// (bench/results/quality.md, session 13); for gaps the best of 5, 10, 15, 25 and 40 (74-100% of 27
// gaps per class and checkpoint, against 37-89% at 5: session 11, "asked of the new bars").
inline constexpr double kDefaultDensityStrength = 40.0;
// The default of composer --range-strength: the best of 4, 6 and 8 for a style's range
// (bench/results/quality.md, 2026-12-07, style guidance: 4 and 6 left the openmsx pieces nearer classical).
inline constexpr double kDefaultRangeStrength = 8.0;
// The default of composer --style-key-strength: off; at 4 it brings the openmsx pieces near their own
// held-out pieces but takes the classical ones away from theirs (the same section).
inline constexpr double kDefaultStyleKeyStrength = 0.0;

// The pitches a piece should keep to (composer --pitch-range LO-HI), as MIDI note numbers, both
// included: a style's pieces differ from another's in their range as much as in anything
// (quality.md, 2026-12-07: the openmsx style's pieces ranged wider than openmsx's own).
struct PitchRange {
  int lo = 0, hi = 127;
  PitchRange moved(int semitones) const { return {lo + semitones, hi + semitones}; }
};

// The bias added to a pitched note's logit for `pitch` (before the notes' total is restored, as the
// key's): -strength outside `range`, 0 within it.
float range_bias(int pitch, const PitchRange& range, double strength);

// The bias added to a pitched note's logit (before the notes' total is restored: ControlGuide),
// per pitch class (0 = C .. 11 = B), for `key` at `strength`: -strength off the key's scale (the seven pitch classes of
// its key signature; a minor key's harmonic minor: the raised 7th, the leading tone, is in the scale and the natural
// 7th gets -strength/4), +strength/2 on its tonic and +strength/4 on its third and fifth, so that the mode comes out as
// asked as well: a major key and its relative minor share the signature, and what tells them apart (to a listener
// and to midi::detect_key's profiles) is mostly how often the tonic sounds, then the rest of its triad, and in minor
// the leading tone instead of the relative major's fifth.
std::array<float, 12> key_bias(const midi::Key& key, double strength);

// The bias added to a pitched note's logit per pitch class (0 = C .. 11 = B) when the new notes keep
// to the pitch classes of some music (a gap's bars beside it: model/infill.h), given each class's
// share of that music's pitched notes (`shares`, summing to 1): -strength · (1 - 12 · share) for a
// class sounding in less than a twelfth of them (-strength where it never sounds), 0 for the others.
std::array<float, 12> class_bias(const std::array<double, 12>& shares, double strength);

// The notes per beat a density class (0 low, 1 mid, 2 high) aims at, given the corpus thirds'
// boundaries `bounds`: the middle of the middle third, and half a third's width below the lower
// boundary (no less than half of it) or above the upper one.
double density_target(int density_class, const std::array<double, 2>& bounds);

// The bias added to every note's logit (a time shift's gets its negative) when the piece so far has
// `notes` notes over `beats` beats and should have `target` notes per beat: strength times the log
// of the ratio of the target to the running density, within ±2·strength. The running density is
// counted with a bar (4 beats) of the target in front, so that the first notes do not swing it.
float density_bias(int64_t notes, double beats, double target, double strength);

// The guidance of one piece: made with what was asked, fed every token the network reads and
// samples, and asked for the biases of the next token.
class ControlGuide {
 public:
  // `key`: in the network's own key (moved into C's signature when it learnt in it), nullopt when
  // not asked; `density_class`: 0..2, -1 when not asked; `bounds`: the checkpoint's density_bounds.
  // `range`: in the network's own key as `key` is, nullopt when not asked.
  ControlGuide(std::optional<midi::Key> key, int density_class, const std::vector<double>& bounds, double key_strength,
               double density_strength, std::optional<PitchRange> range = std::nullopt, double range_strength = 0);
  bool active() const { return key_active_ || classes_active_ || density_active_ || range_active_; }
  // Adds the biases to `logits` [V] (V = the grammar's vocabulary) for the token after those
  // `grammar` has been fed. The density counts the notes sampled (not a primer's) from the first.
  void bias(float* logits, int64_t vocab, const midi::EventGrammar& grammar);
  // Counts `token` (sampled, already fed to `grammar`) into the running density.
  void feed(int32_t token, const midi::EventGrammar& grammar);
  // Measures the density as the notes since grid step `step` over the time since it, instead of
  // from the first note sampled to the latest end of a note: a gap's notes per beat are counted over
  // the gap (model/infill.h), and a long note, cut at the gap's end, must not make them look sparse.
  void measure_density_from(int64_t step) { first_step_ = step, elapsed_only_ = true; }
  // Steers the density toward `notes_per_beat` itself (a gap's toward the bars beside it) instead of
  // a class's target; strength 0 or a target that is not positive leaves it as it was.
  void aim_density(double notes_per_beat, double strength);
  // From now on the pitched notes are kept to `range` (in the network's key) at `strength` instead of
  // the range given at construction (nullopt or strength 0: to none); the key's bias stays. A
  // middle's last beats led into the notes that follow the gap (model/infill.h, lead_in_beats).
  void keep_to(const std::optional<PitchRange>& range, double strength);
  // The pitched notes' pitch classes biased by `bias` (class_bias) on top of the key's, from now on.
  void keep_to_classes(const std::array<float, 12>& bias);

 private:
  // key_bias, class_bias and range_bias on the pitched notes' logits, then all of them moved together
  // so that their total probability stays what the network gave: they choose among pitches,
  // never against them (otherwise a network unsure of the key plays more drums and rests instead).
  void bias_pitches(float* logits, int64_t vocab, const midi::EventGrammar& grammar) const;
  // pitch_bias_ from its parts.
  void rebuild_pitch_bias();
  bool key_active_ = false, classes_active_ = false, density_active_ = false, range_active_ = false;
  std::array<float, 128> pitch_bias_{};   // per MIDI pitch: its pitch class's biases plus the range's
  std::array<float, 12> key_bias_{};      // the key's part of it, per pitch class (0 when not asked)
  std::array<float, 12> classes_bias_{};  // keep_to_classes' part, per pitch class (0 when not asked)
  std::optional<PitchRange> range_;       // keep_to's range (nullopt: none) and strength
  double range_strength_ = 0;
  double target_ = 0, density_strength_ = 0;
  int64_t notes_ = 0, first_step_ = -1;  // the notes sampled, and where the first began (-1: none yet)
  bool elapsed_only_ = false;            // measure_density_from: the span ends now, not at a note's end
};

}  // namespace legato::model
