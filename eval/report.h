// The features and comparisons as people and programs read them: tables, CSV, JSON, and the
// picture of each feature's two densities.
#pragma once

#include <string>
#include <vector>

#include "eval/compare.h"

namespace legato::eval {

// `miditool stats`: rows of features, one column per file (the scalar features).
std::string stats_table(const std::vector<NamedFeatures>& pieces);
// One row per file: file, the scalars, then pitch_class_histogram_0..11 and note_length_histogram_0..11.
std::string stats_csv(const std::vector<NamedFeatures>& pieces);
// One JSON object per line and file: "file" and every feature (vectors as arrays; the transition
// matrix as 12 rows of 12); NaN as null.
std::string stats_json(const std::vector<NamedFeatures>& pieces);

// The per-feature OA and KL, and as the last line `mean OA 0.912`.
std::string comparison_table(const Comparison& c);
// {"mean_oa": ..., "generated": N, "corpus": N, "features": {"name": {"oa": ..., "kl": ...}, ...}}
std::string comparison_json(const Comparison& c);
// Per feature a small plot: the density of the corpus's own distances and of the generated
// pieces' distances to the corpus, drawn over each other, with the feature's OA. Elements by
// class: g "feature" (one per feature, data-name and data-oa attributes), polyline "intra" and
// "inter" inside each.
std::string comparison_svg(const Comparison& c);

}  // namespace legato::eval
