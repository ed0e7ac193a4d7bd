// Control tokens (issue 27 section 2, docs/controls.md): a few tokens in front of a training window
// that name its piece's key, its density class and its style, so that composer can ask for them:
//     <key:D minor> <density:low> <style:NAME>  BOS I0 ... (or the middle of the piece)
// The key is midi/key.h's detect_key; the density is the piece's notes per beat, classed by the
// training corpus's tertiles; the style is the top-level folder of --data the file came from.
// Like infilling's sentinels, control tokens begin with '<', which no scheme's token rules look at.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "midi/key.h"
#include "midi/score.h"

namespace legato::midi {

// The controls, in the order their tokens come in a window.
inline constexpr std::array<std::string_view, 3> kControlNames = {"key", "density", "style"};
inline constexpr std::array<std::string_view, 3> kDensityClasses = {"low", "mid", "high"};

// Notes (drums included: they are the music's density too) per beat (quarter note) from the first
// note's start to the last note's end; 0 without notes.
double notes_per_beat(const Score& score);

// The pitch at `share` (0..1) of the pitched notes' pitches (drums left out) sorted, by nearest rank
// (the one at index floor(n * share), at most the last): what a style's range is made of
// (model::StyleProfile). -1 without pitched notes.
int pitch_percentile(const Score& score, double share);
// The last note's end in seconds (the tempo map's), 0 without notes: a piece's length as composer
// --seconds counts it.
double music_seconds(const Score& score);

// The two boundaries between the lower, middle and upper thirds of `densities` (one per training
// piece): the values a third and two thirds of the way up, interpolated between neighbours.
// {0, 0} when empty.
std::array<double, 2> tertiles(std::vector<double> densities);
// 0 (low), 1 (mid) or 2 (high): below the first boundary, below the second, or above.
int density_class(double notes_per_beat, const std::array<double, 2>& bounds);

std::string key_token(const Key& key);                         // "<key:D minor>"
inline constexpr std::string_view kNoKeyToken = "<key:none>";  // a piece without pitched notes
std::string density_token(int density_class);                  // "<density:low>"
std::string style_token(const std::string& style);             // "<style:NAME>"
bool is_control_token(std::string_view token);
// The control a token names ("key", "density", "style") and its value ("D minor", "low", NAME);
// nullopt for other tokens.
std::optional<std::pair<std::string, std::string>> control_of(std::string_view token);

}  // namespace legato::midi
