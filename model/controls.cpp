#include "model/controls.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <utility>

#include "base/whole_range.h"
#include "midi/controls.h"
#include "midi/key.h"
#include "model/composition.h"

namespace legato::model {
namespace {

int32_t id_of(const CheckpointMeta& meta, const std::string& token) {
  const auto it = std::find(meta.vocab.begin(), meta.vocab.end(), token);
  return it == meta.vocab.end() ? -1 : static_cast<int32_t>(it - meta.vocab.begin());
}

bool trained_with(const CheckpointMeta& meta, const std::string& control) {
  return std::find(meta.controls.begin(), meta.controls.end(), control) != meta.controls.end();
}

// The semitones from the network's key signature to `key`'s: with the pieces trained in C's, the
// shift draw_key_shift would make to that signature; 0 for a network that learnt keys as written.
int shift_into(const CheckpointMeta& meta, const midi::Key& key) {
  if (meta.keys.empty()) return 0;
  return key_shift_to(midi::signature_of(key));
}

// The network's token for `key` (moved into C's key signature when it learnt in it); -1 without one.
int32_t key_id(const CheckpointMeta& meta, const midi::Key& key) {
  return id_of(meta, midi::key_token(key.moved(-shift_into(meta, key))));
}

std::string joined(const std::vector<std::string>& values) {
  std::string text;
  for (const std::string& v : values) text += (text.empty() ? "" : ", ") + v;
  return text;
}

// The token asked for one control, or -1 when not asked; throws as check_controls.
int32_t asked_token(const CheckpointMeta& meta, const std::string& control, const std::string& value) {
  if (value.empty()) return -1;
  const std::string flag = "--" + control + " " + value;
  if (meta.controls.empty())
    throw std::invalid_argument(flag + ": this checkpoint was trained without control tokens (trainer --controls)");
  if (!trained_with(meta, control))
    throw std::invalid_argument(flag + ": this checkpoint was trained without the " + control +
                                " control (its controls: " + joined(meta.controls) + ")");
  int32_t id = -1;
  if (control == "key") {
    const std::optional<midi::Key> key = midi::parse_key(value);
    if (!key) throw std::invalid_argument(flag + ": not a key (e.g. \"D minor\", \"F# major\", \"Bbm\")");
    id = key_id(meta, *key);
  } else {
    id = id_of(meta, control == "density" ? "<density:" + value + ">" : midi::style_token(value));
  }
  if (id < 0)
    throw std::invalid_argument(flag + ": unknown to this checkpoint; known: " + joined(known_values(meta, control)));
  return id;
}

}  // namespace

std::vector<std::string> known_values(const CheckpointMeta& meta, const std::string& control) {
  std::vector<std::string> out;
  if (!trained_with(meta, control)) return out;
  if (control == "key") {
    for (const bool minor : {false, true})
      for (int tonic = 0; tonic < 12; ++tonic)
        if (key_id(meta, {tonic, minor}) >= 0) out.push_back(midi::key_name({tonic, minor}));
    return out;
  }
  for (const std::string& token : meta.vocab)
    if (const auto c = midi::control_of(token); c && c->first == control) out.push_back(c->second);
  if (control == "density")  // low, mid, high rather than the vocabulary's order
    std::sort(out.begin(), out.end(),
              [](const std::string& a, const std::string& b) { return density_class(a) < density_class(b); });
  return out;
}

void check_strengths(const ControlRequest& request) {
  for (const auto& [flag, value] :
       {std::pair{"--key-strength", request.key_strength}, std::pair{"--density-strength", request.density_strength},
        std::pair{"--range-strength", request.range_strength},
        std::pair{"--style-key-strength", request.style_key_strength}})
    if (!std::isfinite(value) || value < 0)
      throw std::invalid_argument(std::string(flag) + " " + std::to_string(value) +
                                  ": must be 0 (the control tokens alone) or more");
}

ControlGuide guide_of(const CheckpointMeta& meta, const ControlRequest& request, const ChosenControls& chosen,
                      int shift) {
  std::optional<PitchRange> range = range_of(meta, request);
  if (range) range = range->moved(-shift);
  const bool asked_key = chosen.guide_key.has_value();
  return ControlGuide(asked_key ? chosen.guide_key : chosen.style_key, chosen.guide_density, meta.density_bounds,
                      asked_key ? request.key_strength : request.style_key_strength, request.density_strength, range,
                      request.range_strength);
}

std::optional<PitchRange> range_of(const CheckpointMeta& meta, const ControlRequest& request) {
  if (request.pitch_range) return request.pitch_range;
  const StyleProfile* profile = request.style.empty() ? nullptr : style_profile(meta, request.style);
  if (!profile || !profile->has_range()) return std::nullopt;
  return PitchRange{profile->pitch_lo, profile->pitch_hi};
}

std::optional<double> style_seconds(const CheckpointMeta& meta, const ControlRequest& request) {
  const StyleProfile* profile = request.style.empty() ? nullptr : style_profile(meta, request.style);
  if (!profile || profile->seconds <= 0 || meta.scheme.rfind("event", 0) != 0) return std::nullopt;
  return profile->seconds;
}

PitchRange parse_pitch_range(const std::string& text, const std::string& flag) {
  const std::string problem = flag + " " + text + ": give LO-HI, MIDI note numbers with 0 <= LO <= HI <= 127";
  const auto numbers = base::whole_range(text);
  if (!numbers || numbers->first < 0 || numbers->second > 127) throw std::invalid_argument(problem);
  const PitchRange range{static_cast<int>(numbers->first), static_cast<int>(numbers->second)};
  if (range.lo > range.hi) throw std::invalid_argument(problem);
  return range;
}

void check_controls(const CheckpointMeta& meta, const ControlRequest& request) {
  check_strengths(request);
  asked_token(meta, "key", request.key);
  asked_token(meta, "density", request.density);
  asked_token(meta, "style", request.style);
}

int density_class(const std::string& value) {
  const auto* at = std::find(midi::kDensityClasses.begin(), midi::kDensityClasses.end(), value);
  return at == midi::kDensityClasses.end() ? -1 : static_cast<int>(at - midi::kDensityClasses.begin());
}

ChosenControls choose_controls(const CheckpointMeta& meta, const ControlRequest& request, std::mt19937_64& rng) {
  check_controls(meta, request);
  ChosenControls chosen;
  if (meta.controls.empty()) return chosen;
  const std::string values[3] = {request.key, request.density, request.style};  // midi::kControlNames' order
  std::vector<int32_t> asked;
  for (const std::string& control : meta.controls) {
    const auto at = std::find(midi::kControlNames.begin(), midi::kControlNames.end(), control);
    asked.push_back(asked_token(meta, control, values[at - midi::kControlNames.begin()]));
  }
  std::vector<const std::vector<int32_t>*> agreeing;
  for (const auto& piece : meta.piece_controls) {
    bool agrees = piece.size() == asked.size();
    for (size_t k = 0; agrees && k < asked.size(); ++k) agrees = asked[k] < 0 || asked[k] == piece[k];
    if (agrees) agreeing.push_back(&piece);
  }
  const bool any_agrees = !agreeing.empty();
  if (!any_agrees)
    for (const auto& piece : meta.piece_controls) agreeing.push_back(&piece);
  const std::vector<int32_t>* drawn =
      agreeing.empty() ? nullptr : agreeing[std::uniform_int_distribution<size_t>(0, agreeing.size() - 1)(rng)];
  for (size_t k = 0; k < asked.size(); ++k) {
    if (asked[k] < 0 && (!drawn || drawn->size() != asked.size()))
      throw std::invalid_argument("the checkpoint lists no training piece's controls to draw " + meta.controls[k] +
                                  " from: ask for it");
    chosen.tokens.push_back(asked[k] >= 0 ? asked[k] : (*drawn)[k]);
  }
  if (drawn && any_agrees) chosen.piece = static_cast<size_t>(drawn - meta.piece_controls.data());
  if (!request.key.empty()) {
    const midi::Key key = *midi::parse_key(request.key);
    chosen.key_shift = shift_into(meta, key);
    chosen.guide_key = key.moved(-*chosen.key_shift);
  }
  if (request.key.empty() && !request.style.empty())
    for (const int32_t id : chosen.tokens)
      if (const auto c = midi::control_of(meta.vocab[static_cast<size_t>(id)]); c && c->first == "key")
        chosen.style_key = midi::parse_key(c->second);  // nullopt for <key:none>
  if (!request.density.empty()) chosen.guide_density = density_class(request.density);
  return chosen;
}

std::string describe_controls(const CheckpointMeta& meta, const std::vector<int32_t>& tokens, int shift) {
  std::string text;
  for (const int32_t id : tokens) {
    const auto c = midi::control_of(meta.vocab.at(static_cast<size_t>(id)));
    if (!c) continue;
    std::string value = c->second;
    if (c->first == "key")
      if (const auto key = midi::parse_key(value)) value = midi::key_name(key->moved(shift));
    text += (text.empty() ? "" : ", ") + c->first + " " + value;
  }
  return text;
}

}  // namespace legato::model
