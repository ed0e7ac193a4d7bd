#pragma once
// The trainer's per-epoch record: metrics.csv and the loss curves as an SVG picture.
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
};

std::string metrics_csv(const std::vector<EpochMetrics>& rows);
// Training and validation loss against epoch: axes with ticks, one polyline per curve, a legend.
std::string loss_svg(const std::vector<EpochMetrics>& rows);

std::string metrics_json(const std::vector<EpochMetrics>& rows);
std::vector<EpochMetrics> metrics_from_json(const std::string& json);

}  // namespace legato::model
