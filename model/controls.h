#pragma once
// Composing under control tokens (midi/controls.h, docs/controls.md): composer --key "D minor"
// --density low --style NAME become the tokens a network trained with trainer --controls read in
// front of its windows. The controls not asked for are drawn from the corpus: those of a training
// piece drawn at random among the pieces that agree with the ones asked for (all pieces when none
// does), so that they come in the corpus's proportions and go together as they did there.
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "model/checkpoint.h"
#include "model/control_guide.h"

namespace legato::model {

// What a composition asks for; an empty field is not asked for.
struct ControlRequest {
  std::string key;      // "D minor", "Bb major", "F#m" (midi::parse_key)
  std::string density;  // low, mid or high
  std::string style;    // a top-level folder of the training data
  // How hard sampling is steered toward the key and the density asked for (model/control_guide.h);
  // 0: by the control tokens alone.
  double key_strength = kDefaultKeyStrength;
  double density_strength = kDefaultDensityStrength;
  // The pitches to keep to (composer --pitch-range), in the music's key; not a control token (any
  // checkpoint takes it, and it is not drawn when not asked): only guidance, at range_strength.
  std::optional<PitchRange> pitch_range = std::nullopt;
  double range_strength = kDefaultRangeStrength;
  // With a style asked and no key: how hard sampling keeps to the key drawn with the style (from one
  // of its pieces), as --key-strength does to an asked key; 0: that key by its token alone.
  double style_key_strength = kDefaultStyleKeyStrength;
  bool empty() const { return key.empty() && density.empty() && style.empty(); }
};

// The values a checkpoint knows for a control ("key", "density", "style"), as composer takes them;
// empty when it was trained without it.
std::vector<std::string> known_values(const CheckpointMeta& meta, const std::string& control);

// std::invalid_argument with one line when the checkpoint was trained without a control asked for,
// or a value is malformed or unknown (the line lists the known ones).
void check_controls(const CheckpointMeta& meta, const ControlRequest& request);

// A density class's index (0 low, 1 mid, 2 high; midi::kDensityClasses), -1 for any other value.
int density_class(const std::string& value);

struct ChosenControls {
  std::vector<int32_t> tokens;  // the control tokens in the checkpoint's order: the network reads them first
  // With a key asked of a network trained in C's key signature: the semitones that move its music
  // into that key (instead of draw_key_shift's).
  std::optional<int> key_shift;
  // What guidance steers toward (only what was asked, not what was drawn): the key in the network's
  // own key, and the density class (0..2, -1 when not asked).
  std::optional<midi::Key> guide_key;
  int guide_density = -1;
  // With a style asked and no key: the key drawn with it (in the network's key), which guidance
  // keeps to at the request's style_key_strength. A style's pieces keep to fewer pitch classes than
  // a network's free sampling does (quality.md, 2026-12-07, style guidance).
  std::optional<midi::Key> style_key;
  // The training piece (CheckpointMeta::piece_controls' index) whose controls were drawn, when it
  // agrees with all that was asked: the pipeline gives its ensemble to a piece that asked for some.
  std::optional<size_t> piece;
};
// The controls asked for, the others drawn with `rng`; nothing (and no draw) for a checkpoint
// without controls. Checks the request as check_controls does.
ChosenControls choose_controls(const CheckpointMeta& meta, const ControlRequest& request, std::mt19937_64& rng);

// The guidance of one piece under `chosen` (ControlGuide), with the request's strengths; `shift`: the
// semitones from the network's key to the piece's, which the asked pitch range is moved back by.
ControlGuide guide_of(const CheckpointMeta& meta, const ControlRequest& request, const ChosenControls& chosen,
                      int shift);

// The pitch range guidance keeps a piece to: the one asked (ControlRequest::pitch_range), else, with
// a style asked, its profile's (StyleProfile, written by trainer); nullopt for neither. In the
// music's key, as --pitch-range is.
std::optional<PitchRange> range_of(const CheckpointMeta& meta, const ControlRequest& request);

// With a style asked whose profile has a length, and an event-scheme checkpoint: the seconds a piece
// of it lasts by default (composer without --seconds, --bars or --length); nullopt otherwise.
std::optional<double> style_seconds(const CheckpointMeta& meta, const ControlRequest& request);

// "LO-HI" (MIDI note numbers, 0 <= LO <= HI <= 127) as a range; std::invalid_argument with one line
// naming `flag` otherwise.
PitchRange parse_pitch_range(const std::string& text, const std::string& flag);

// std::invalid_argument with one line for a strength that is negative or not finite.
void check_strengths(const ControlRequest& request);

// "key D minor, density low, style NAME": the controls of `tokens`, the key moved by `shift` into
// the music's; "" without any.
std::string describe_controls(const CheckpointMeta& meta, const std::vector<int32_t>& tokens, int shift);

}  // namespace legato::model
