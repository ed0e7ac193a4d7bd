// MGEval's comparison of two sets of pieces (Yang & Lerch 2018): for each feature, the distances
// within the corpus (each piece to every other: leave one out) and between the generated pieces
// and the corpus, a density of each list, their overlapped area (OA) and KL divergence. An OA
// near 1 means the generated pieces differ from the corpus no more than the corpus differs from
// itself; the mean OA over the features sums a set up in one number.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

#include "eval/features.h"

namespace legato::eval {

// One feature as a vector (a scalar is a vector of one), by name: the order of every table.
struct FeatureDef {
  const char* name;  // MusPy's name where MusPy has the feature
  std::vector<double> (*values)(const Features&);
  bool scalar;
  bool pitch;  // a pitch or tonality feature (the others are rhythm)
};
const std::vector<FeatureDef>& feature_defs();

struct NamedFeatures {
  std::string name;  // the file; a piece is never compared with a piece of the same name
  Features features;
};

struct FeatureComparison {
  std::string name;
  std::vector<double> intra;  // corpus to corpus, each ordered pair of different pieces
  std::vector<double> inter;  // generated to corpus
  double oa = 0;              // NaN where either list is empty
  double kl = 0;              // KL(intra || inter), MGEval's direction
};

struct Comparison {
  std::vector<FeatureComparison> features;  // in feature_defs() order
  double mean_oa = 0;                       // over the features with an OA
  size_t generated = 0, corpus = 0;         // pieces in each set
};

// The features of every piece read from `paths` (MIDI files, or folders searched recursively), in
// midi::load_midi_files's order and named by file; the files it refuses are left out, named on
// `log` and counted in *refused. The one reading of a file set's features: miditool's stats and
// compare, composer --against, the trainer's validation pieces and the Python module.
std::vector<NamedFeatures> features_of_files(const std::vector<std::filesystem::path>& paths, std::ostream& log,
                                             int* refused = nullptr);

// Euclidean distance of each pair (MGEval's c_dist), pieces where the feature is NaN left out.
// Throws std::invalid_argument for no generated piece or fewer than two corpus pieces.
Comparison compare_sets(const std::vector<NamedFeatures>& generated, const std::vector<NamedFeatures>& corpus);

}  // namespace legato::eval
