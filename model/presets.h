#pragma once
// Training recipes. Every field can be overridden from the trainer's command line.
#include <cstdint>
#include <string>
#include <vector>

#include "model/music_lstm.h"

namespace legato::model {

inline constexpr int kBestMusicWindow = 3;
// Two mean OAs of --best-by music closer than this are a tie: the earlier model stays the best.
inline constexpr double kMusicTie = 1e-9;

struct Recipe {
  ModelConfig model;
  std::string scheme = "seed";
  std::string objective = "last";  // "last" or "all" (batches.h)
  std::string optimizer = "rmsprop";
  double lr = 0.001;
  double clip = 0.0;  // global gradient-norm limit; 0: none
  int64_t seq_len = 100;
  int64_t batch = 64;
  int epochs = 200;
  double val_split = 0.0;
  int transpose = 0;  // augmentation: +-N semitones
  // Every piece moved to C major's key signature first (corpus/corpus.h), --transpose around it.
  bool normalise_key = false;
  bool keras_loss = true;  // softmax then Keras' clipped cross-entropy (the seed) vs fused logits
  // What best.safetensors keeps: "loss", the lowest validation loss (the training loss without a
  // validation set); or "music", the composed pieces closest to the validation pieces: the highest
  // mean OA, averaged over the last kBestMusicWindow measurements, as one measurement of a few
  // pieces is noisy (the loss where no music is measured).
  std::string best_by = "loss";
  // The share of training windows arranged suffix, prefix, middle for infilling (event scheme,
  // objective all; midi/infill.h, docs/infill.md); 0: every window plain.
  double infill_rate = 0;
  // Control tokens in front of training windows (midi/controls.h, docs/controls.md): any of "key",
  // "density", "style" (event scheme); empty: none.
  std::vector<std::string> controls;
};

// "seed": the seed project exactly (scalar input, LSTM(512) x3, Dropout(0.3) after the first two,
//   Dense(256), Dropout(0.3), Dense(V), softmax, categorical cross-entropy, RMSprop 0.001,
//   windows of 100, batch 64, objective last, no validation set).
// "default": our recipe: embedding input, objective all, every piece learned in C's key signature
//   (--normalise-key), dropout 0.5, Adam with gradient clipping, 10% of the pieces held out.
// "tiny": small and fast for the demo and the tests.
// Throws std::invalid_argument for an unknown name.
Recipe preset(const std::string& name);

}  // namespace legato::model
