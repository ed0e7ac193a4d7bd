#pragma once
// The trainer's per-epoch record: metrics.csv and the loss curves (with the composed music's mean
// OA against the validation pieces, where measured) as an SVG picture.
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace legato::model {

struct EpochMetrics {
  double epoch = 0;  // fractional when a run stopped mid-epoch
  int64_t step = 0;
  double train_loss = NAN;
  double val_loss = NAN, val_perplexity = NAN, val_accuracy = NAN;  // NaN without a validation set
  double seconds = 0;                                               // training time so far
  // Pieces composed at this point measured against the validation pieces (eval/): MGEval's mean
  // overlapped area, and the composed pieces' mean of some key features. NaN where not measured.
  double mean_oa = NAN;
  double pitch_class_entropy = NAN, scale_consistency = NAN, polyphony = NAN, empty_beat_rate = NAN,
         groove_consistency = NAN;
};

std::string metrics_csv(const std::vector<EpochMetrics>& rows);
// Training and validation loss against epoch: axes with ticks, one polyline per curve, a legend;
// the mean OA, where there is one, on a second axis (0 to 1) at the right.
std::string loss_svg(const std::vector<EpochMetrics>& rows);

std::string metrics_json(const std::vector<EpochMetrics>& rows);
std::vector<EpochMetrics> metrics_from_json(const std::string& json);

}  // namespace legato::model
