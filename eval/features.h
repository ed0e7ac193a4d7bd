// The per-piece features that the research field measures generated symbolic music with: the
// metrics of MusPy (Dong et al., "MusPy: A Toolkit for Symbolic Music Generation", ISMIR 2020;
// muspy/metrics/metrics.py) and of MGEval (Yang & Lerch, "On the evaluation of generative models
// in music", Neural Computing and Applications 2018; mgeval/core.py). Each function says which
// definition it follows and where this one departs from it, and why.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "midi/score.h"

namespace legato::eval {

// MusPy's default resolution: time steps per quarter note for the piano-roll features
// (polyphony, empty beats, grooves). Scores are put on this grid first, so a file written at 480
// or 960 ticks per quarter measures the same.
constexpr int kResolution = 24;

// A note on the feature grid.
struct GridNote {
  int pitch = 60;
  int64_t start = 0, end = 0;  // time steps of kResolution per quarter
  int instrument = 0;          // index of (track, channel, program): notes of one part
  bool drum = false;
};

// A piece as the features see it: notes on the grid, by start then pitch, and the bar length.
struct Grid {
  int resolution = kResolution;
  int64_t bar = 4 * kResolution;  // time steps per bar, from the first time signature (4/4 without)
  std::vector<GridNote> notes;
  int64_t end() const;  // MusPy's get_end_time: the latest note end
};

// The score's notes on a grid of `resolution` steps per quarter (rounded to the nearest step).
Grid to_grid(const midi::Score& score, int resolution = kResolution);

// ---- pitch (MusPy; drums left out, as MusPy does) ----
int n_pitches_used(const Grid& g);
int n_pitch_classes_used(const Grid& g);
int pitch_range(const Grid& g);
double pitch_entropy(const Grid& g);        // bits, over note counts; NaN without notes
double pitch_class_entropy(const Grid& g);  // bits, over note counts; NaN without notes
// MGEval's total_pitch_class_histogram: each pitch class weighted by how long it sounds.
std::array<double, 12> pitch_class_histogram(const Grid& g);
// MGEval's pitch_class_transition_matrix (pretty_midi's): row a, column b counts the ordered
// note pairs of one part where note b starts within `threshold` quarters of note a's end.
std::array<double, 144> pitch_class_transition_matrix(const Grid& g, double threshold_quarters = 0.1);
// MGEval's avg_pitch_shift: the mean absolute interval between consecutive notes of a part.
double average_pitch_interval(const Grid& g);

// ---- rhythm ----
int n_notes(const Grid& g);         // MGEval's total_used_note (drums included: a rhythm feature)
double average_ioi(const Grid& g);  // MGEval's avg_IOI, in quarter notes
// MGEval's note_length_hist: each pitched note's length in the closest of 12 classes relative to
// the bar (whole, half, quarter, 8th, 16th, dotted half, dotted quarter, dotted 8th, dotted 16th,
// half triplet, quarter triplet, 8th triplet), normalised to sum 1.
std::array<double, 12> note_length_histogram(const Grid& g);
double empty_beat_rate(const Grid& g);                    // MusPy; NaN for an empty piece
double groove_consistency(const Grid& g, int64_t bar);    // MusPy, with `bar` steps per bar
double polyphony(const Grid& g);                          // MusPy; NaN without pitched notes
double polyphony_rate(const Grid& g, int threshold = 2);  // MusPy; NaN for an empty piece

// ---- tonality ----
double scale_consistency(const Grid& g);  // MusPy: the best in-scale rate over the 24 keys

// Every feature of one piece. Scalars that a piece cannot have (entropy without notes,
// grooves of a piece shorter than two bars) are NaN and are left out of set comparisons.
struct Features {
  double n_pitches_used = 0, n_pitch_classes_used = 0, pitch_range = 0, pitch_entropy = 0, pitch_class_entropy = 0;
  double average_pitch_interval = 0, n_notes = 0, average_ioi = 0, empty_beat_rate = 0, groove_consistency = 0;
  double polyphony = 0, polyphony_rate = 0, scale_consistency = 0;
  std::array<double, 12> pitch_class_histogram{}, note_length_histogram{};
  std::array<double, 144> pitch_class_transition_matrix{};
};

Features features_of(const Grid& g);
inline Features features_of(const midi::Score& score) { return features_of(to_grid(score)); }

}  // namespace legato::eval
