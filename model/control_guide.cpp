#include "model/control_guide.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace legato::model {

std::array<float, 12> key_bias(const midi::Key& key, double strength) {
  static constexpr std::array<int, 7> kMajorScale = {0, 2, 4, 5, 7, 9, 11};
  std::array<float, 12> bias;
  bias.fill(static_cast<float>(-strength));
  const int signature = midi::signature_of(key);
  for (const int step : kMajorScale) bias[static_cast<size_t>((signature + step) % 12)] = 0;
  for (const int step : {key.minor ? 3 : 4, 7})
    bias[static_cast<size_t>((key.tonic + step) % 12)] = static_cast<float>(strength / 4);
  // The tonic twice the third's and the fifth's: it is what Krumhansl and Kessler's profiles weigh most,
  // and a minor key's third and fifth are its relative major's tonic and third (quality.md, 2026-12-07).
  bias[static_cast<size_t>(key.tonic)] = static_cast<float>(strength / 2);
  if (key.minor) {  // the harmonic minor: the leading tone in, the natural 7th (the relative major's fifth) held back
    bias[static_cast<size_t>((key.tonic + 11) % 12)] = 0;
    bias[static_cast<size_t>((key.tonic + 10) % 12)] = static_cast<float>(-strength / 4);
  }
  return bias;
}

double density_target(int density_class, const std::array<double, 2>& bounds) {
  const double third = bounds[1] - bounds[0];
  switch (density_class) {
    case 0: return std::max(bounds[0] - third / 2, bounds[0] / 2);
    case 1: return (bounds[0] + bounds[1]) / 2;
    case 2: return bounds[1] + third / 2;
    default: throw std::invalid_argument("density_target: class " + std::to_string(density_class) + " is not 0..2");
  }
}

float density_bias(int64_t notes, double beats, double target, double strength) {
  constexpr double kPriorBeats = 4;  // a bar of the target in front of the piece
  const double running = (static_cast<double>(notes) + target * kPriorBeats) / (std::max(beats, 0.0) + kPriorBeats);
  return static_cast<float>(strength * std::clamp(std::log(target / running), -2.0, 2.0));
}

std::array<float, 12> class_bias(const std::array<double, 12>& shares, double strength) {
  std::array<float, 12> bias{};
  for (size_t pc = 0; pc < 12; ++pc) bias[pc] = static_cast<float>(-strength * std::max(0.0, 1.0 - 12.0 * shares[pc]));
  return bias;
}

float range_bias(int pitch, const PitchRange& range, double strength) {
  return pitch < range.lo || pitch > range.hi ? static_cast<float>(-strength) : 0.0f;
}

ControlGuide::ControlGuide(std::optional<midi::Key> key, int density_class, const std::vector<double>& bounds,
                           double key_strength, double density_strength, std::optional<PitchRange> range,
                           double range_strength)
    : density_strength_(density_strength) {
  key_active_ = key && key_strength != 0;
  if (key_active_) key_bias_ = key_bias(*key, key_strength);
  keep_to(range, range_strength);
  if (density_class >= 0 && density_strength != 0 && bounds.size() == 2) {
    density_active_ = true;
    target_ = density_target(density_class, {bounds[0], bounds[1]});
  }
}

namespace {

// log Σ exp over the note tokens' logits (-inf without any): what the key's bias must keep.
double notes_mass(const float* logits, int64_t vocab, const midi::EventGrammar& grammar) {
  double top = -INFINITY, sum = 0;
  for (int32_t id = 0; id < vocab; ++id)
    if (grammar.pitch_of(id) >= 0) top = std::max(top, double(logits[id]));
  if (!std::isfinite(top)) return top;
  for (int32_t id = 0; id < vocab; ++id)
    if (grammar.pitch_of(id) >= 0) sum += std::exp(double(logits[id]) - top);
  return top + std::log(sum);
}

}  // namespace

void ControlGuide::bias_pitches(float* logits, int64_t vocab, const midi::EventGrammar& grammar) const {
  const double before = notes_mass(logits, vocab, grammar);
  for (int32_t id = 0; id < vocab; ++id)
    if (const int pitch = grammar.pitch_of(id); pitch >= 0) logits[id] += pitch_bias_[static_cast<size_t>(pitch & 127)];
  const double after = notes_mass(logits, vocab, grammar);
  if (!std::isfinite(before) || !std::isfinite(after)) return;
  for (int32_t id = 0; id < vocab; ++id)
    if (grammar.pitch_of(id) >= 0) logits[id] += static_cast<float>(before - after);
}

void ControlGuide::bias(float* logits, int64_t vocab, const midi::EventGrammar& grammar) {
  // Drums' note numbers are sounds, not pitches; an instrument not yet known is taken as pitched.
  if ((key_active_ || classes_active_ || range_active_) && grammar.instrument() != -1)
    bias_pitches(logits, vocab, grammar);
  if (!density_active_) return;
  // The span the density is measured over (midi::notes_per_beat): from the first note sampled to
  // the latest end of a note, or to the time now where that is later; for a gap
  // (measure_density_from), from its start to now.
  const int64_t end = elapsed_only_ ? grammar.now() : std::max(grammar.now(), grammar.music_end());
  const double beats =
      first_step_ < 0 ? 0.0 : static_cast<double>(end - first_step_) / grammar.options().steps_per_quarter;
  const float toward = density_bias(notes_, beats, target_, density_strength_);
  for (int32_t id = 0; id < vocab; ++id) {
    if (grammar.pitch_of(id) >= 0)
      logits[id] += toward;
    else if (grammar.shift_of(id) > 0)
      logits[id] -= toward;
  }
}

void ControlGuide::aim_density(double notes_per_beat, double strength) {
  if (!(notes_per_beat > 0) || strength == 0) return;
  density_active_ = true;
  target_ = notes_per_beat, density_strength_ = strength;
}

void ControlGuide::keep_to(const std::optional<PitchRange>& range, double strength) {
  range_active_ = range && strength != 0;
  range_ = range, range_strength_ = strength;
  rebuild_pitch_bias();
}

void ControlGuide::keep_to_classes(const std::array<float, 12>& bias) {
  classes_bias_ = bias;
  classes_active_ = std::any_of(bias.begin(), bias.end(), [](float b) { return b != 0; });
  rebuild_pitch_bias();
}

void ControlGuide::rebuild_pitch_bias() {
  for (int pitch = 0; pitch < 128; ++pitch) {  // + 0 for a part not asked: the others' bias exactly
    const auto pc = static_cast<size_t>(pitch % 12);
    pitch_bias_[static_cast<size_t>(pitch)] =
        key_bias_[pc] + classes_bias_[pc] + (range_active_ ? range_bias(pitch, *range_, range_strength_) : 0.0f);
  }
}

void ControlGuide::feed(int32_t token, const midi::EventGrammar& grammar) {
  if (grammar.pitch_of(token) < 0) return;
  if (first_step_ < 0) first_step_ = grammar.now();
  ++notes_;
}

}  // namespace legato::model
