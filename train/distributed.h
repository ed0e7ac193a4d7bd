#pragma once
// What the trainer needs to run as one rank of many (dist/): its share of each global batch, and
// the checks at start that every rank trains the same model on the same corpus.
#include <cstdint>

#include "corpus/corpus.h"
#include "dist/world.h"
#include "train/trainer.h"

namespace legato::model {

// Windows [first, first + local) of each global batch of `batch` windows: the ranks' shares
// differ by at most one window, in rank order. Throws InputError when there are more ranks than
// windows in a batch.
struct BatchShare {
  int64_t first = 0, local = 0;
};
BatchShare share_of(const dist::World& world, int64_t batch);

// Throws InputError on every rank (the same line) unless every rank was given the same settings,
// device and precision: the first check, before any rank reads anything.
void check_same_setup(const dist::World& world, const TrainOptions& o);
// Of several ranks on --device cuda: one GPU per rank, the rank's index on its host picking it
// (engine/backend.h's use_cuda_device). Throws InputError on every rank when some host has more
// ranks than GPUs. Before any CUDA work: the first lines describe the device chosen.
void choose_device(const dist::World& world, Device device);
// Throws InputError on every rank unless every rank read the same corpus (its fingerprint).
void check_same_corpus(const dist::World& world, const Corpus& corpus);

// A 64-bit FNV-1a hash of what training reads from a corpus: the vocabulary, the training
// pieces' tokens at every shift they are used at, the validation pieces.
uint64_t corpus_fingerprint(const Corpus& corpus);

}  // namespace legato::model
