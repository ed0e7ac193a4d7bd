#include "eval/compare.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "eval/kde.h"
#include "midi/loader.h"

namespace legato::eval {
namespace {

template <double Features::*F>
std::vector<double> scalar(const Features& f) {
  return {f.*F};
}
template <size_t N, std::array<double, N> Features::*F>
std::vector<double> vector(const Features& f) {
  return {(f.*F).begin(), (f.*F).end()};
}

bool usable(const std::vector<double>& v) {
  for (double x : v)
    if (!std::isfinite(x)) return false;
  return true;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

// The one value of a list whose values are all equal (to rounding: distances that are equal sums
// can differ in their last bits); none otherwise.
std::optional<double> atom_of(const std::vector<double>& v) {
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  if (*hi - *lo > 1e-12 * std::max(1.0, std::abs(*lo))) return std::nullopt;
  return *lo;
}

// The share of `v` at `at`, to atom_of's rounding.
double share_at(const std::vector<double>& v, double at) {
  size_t n = 0;
  for (double x : v) n += std::abs(x - at) <= 1e-12 * std::max(1.0, std::abs(at));
  return double(n) / double(v.size());
}

// OA and KL of two distance lists. A list of equal distances has no Scott bandwidth (SciPy refuses
// it): it is a point mass, not a density, and its OA with the other list is that list's share at
// the same point, the two distributions' overlap as measures (1 minus their total variation
// distance). A narrow Gaussian peak in its place made the OA jump between 1 and 0.01 when one piece
// of fifty differed (the empty beats of 4-bar excerpts, whose originals have none:
// bench/results/quality.md, session 13). For KL it is still that narrow peak: 1e-3 of the spread of
// both lists together (1e-3 when that is 0 too).
void measure(FeatureComparison& c) {
  if (c.intra.empty() || c.inter.empty()) {
    c.oa = c.kl = std::nan("");
    return;
  }
  std::vector<double> both = c.intra;
  both.insert(both.end(), c.inter.begin(), c.inter.end());
  const double sd = sample_sd(both);
  const double fallback = 1e-3 * (sd > 0 ? sd : 1.0);
  const GaussianKde intra(c.intra, fallback), inter(c.inter, fallback);
  const std::optional<double> intra_atom = atom_of(c.intra), inter_atom = atom_of(c.inter);
  if (intra_atom)
    c.oa = share_at(c.inter, *intra_atom);
  else if (inter_atom)
    c.oa = share_at(c.intra, *inter_atom);
  else
    c.oa = overlapped_area(intra, inter);
  c.kl = kl_divergence(intra, inter);
}

}  // namespace

const std::vector<FeatureDef>& feature_defs() {
  using F = Features;
  static const std::vector<FeatureDef> defs = {
      {"n_pitches_used", scalar<&F::n_pitches_used>, true, true},
      {"n_pitch_classes_used", scalar<&F::n_pitch_classes_used>, true, true},
      {"pitch_range", scalar<&F::pitch_range>, true, true},
      {"pitch_entropy", scalar<&F::pitch_entropy>, true, true},
      {"pitch_class_entropy", scalar<&F::pitch_class_entropy>, true, true},
      {"pitch_class_histogram", vector<12, &F::pitch_class_histogram>, false, true},
      {"pitch_class_transition_matrix", vector<144, &F::pitch_class_transition_matrix>, false, true},
      {"average_pitch_interval", scalar<&F::average_pitch_interval>, true, true},
      {"scale_consistency", scalar<&F::scale_consistency>, true, true},
      {"n_notes", scalar<&F::n_notes>, true, false},
      {"average_ioi", scalar<&F::average_ioi>, true, false},
      {"note_length_histogram", vector<12, &F::note_length_histogram>, false, false},
      {"empty_beat_rate", scalar<&F::empty_beat_rate>, true, false},
      {"groove_consistency", scalar<&F::groove_consistency>, true, false},
      {"polyphony", scalar<&F::polyphony>, true, false},
      {"polyphony_rate", scalar<&F::polyphony_rate>, true, false},
  };
  return defs;
}

std::vector<NamedFeatures> features_of_files(const std::vector<std::filesystem::path>& paths, std::ostream& log,
                                             int* refused) {
  const midi::LoadResult loaded = midi::load_midi_files(paths, log);
  if (refused) *refused += loaded.failed;
  std::vector<NamedFeatures> out;
  for (const midi::LoadedScore& piece : loaded.scores) out.push_back({piece.path.string(), features_of(piece.score)});
  return out;
}

Comparison compare_sets(const std::vector<NamedFeatures>& generated, const std::vector<NamedFeatures>& corpus) {
  if (generated.empty()) throw std::invalid_argument("compare: no generated piece");
  if (corpus.size() < 2)
    throw std::invalid_argument("compare: the corpus has " + std::to_string(corpus.size()) +
                                " piece(s); distances within it need at least 2");
  Comparison result;
  result.generated = generated.size();
  result.corpus = corpus.size();
  double oa_sum = 0;
  int oa_count = 0;
  for (const FeatureDef& def : feature_defs()) {
    FeatureComparison c;
    c.name = def.name;
    std::vector<std::vector<double>> ref, gen;
    for (const auto& p : corpus) ref.push_back(def.values(p.features));
    for (const auto& p : generated) gen.push_back(def.values(p.features));
    for (size_t i = 0; i < ref.size(); ++i)
      for (size_t j = 0; j < ref.size(); ++j)
        if (i != j && usable(ref[i]) && usable(ref[j])) c.intra.push_back(distance(ref[i], ref[j]));
    for (size_t i = 0; i < gen.size(); ++i)
      for (size_t j = 0; j < ref.size(); ++j)
        if (generated[i].name.empty() || generated[i].name != corpus[j].name)
          if (usable(gen[i]) && usable(ref[j])) c.inter.push_back(distance(gen[i], ref[j]));
    measure(c);
    if (!std::isnan(c.oa)) oa_sum += c.oa, ++oa_count;
    result.features.push_back(std::move(c));
  }
  result.mean_oa = oa_count ? oa_sum / oa_count : std::nan("");
  return result;
}

}  // namespace legato::eval
