#include "corpus/windows.h"

#include <algorithm>
#include <stdexcept>

#include "corpus/batches.h"

namespace legato::model {
namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finaliser: every input bit reaches every output bit
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

Permutation::Permutation(uint64_t n, uint64_t key) : n_(n), key_(mix(key)), half_bits_(1) {
  while (half_bits_ < 32 && (uint64_t{1} << (2 * half_bits_)) < n) ++half_bits_;
}

uint64_t Permutation::operator()(uint64_t i) const {
  if (i >= n_) throw std::out_of_range("permutation: index outside [0, n)");
  const uint64_t mask = (uint64_t{1} << half_bits_) - 1;
  uint64_t x = i;
  do {  // cycle walking: a bijection of the larger power-of-four domain, repeated, stays one on [0, n)
    uint64_t left = x >> half_bits_, right = x & mask;
    for (uint64_t round = 0; round < 4; ++round) {
      const uint64_t next = left ^ (mix(right ^ key_ ^ (round << 60)) & mask);
      left = right;
      right = next;
    }
    x = (left << half_bits_) | right;
  } while (x >= n_);
  return x;
}

TrainingWindows::TrainingWindows(const Corpus& corpus, int64_t seq_len, bool all_steps)
    : corpus_(&corpus), seq_len_(seq_len), all_steps_(all_steps) {
  if (seq_len <= 0) throw std::invalid_argument("windows: the sequence length must be positive");
  first_.reserve(corpus.train.size() + 1);
  first_.push_back(0);
  for (const TrainPiece& p : corpus.train) first_.push_back(first_.back() + per_shift(p) * p.shifts());
}

int64_t TrainingWindows::per_shift(const TrainPiece& p) const {
  const int64_t n = corpus_->length(p);
  if (all_steps_) return n >= seq_len_ + 1 ? (n - seq_len_ - 1) / seq_len_ + 1 : 0;
  return std::max<int64_t>(0, n - seq_len_);
}

Window TrainingWindows::at(int64_t k) const {
  if (k < 0 || k >= size()) throw std::out_of_range("windows: index outside the epoch");
  const auto piece = static_cast<size_t>(std::upper_bound(first_.begin(), first_.end(), k) - first_.begin() - 1);
  const TrainPiece& p = corpus_->train[piece];
  const int64_t per = per_shift(p), r = k - first_[piece];
  const int64_t w = r % per;
  return {static_cast<uint32_t>(piece), p.lowest + static_cast<int>(r / per), all_steps_ ? w * seq_len_ : w};
}

void TrainingWindows::fill(const Window* windows, int64_t batch, Tensor& tokens, Tensor& targets) const {
  write_batch(batch, seq_len_, all_steps_, tokens, targets, [&](int64_t b, int64_t t) {
    const Window& w = windows[b];
    const int32_t v = corpus_->id(corpus_->train[w.piece], w.shift, w.start + t);
    if (v < 0) throw std::logic_error("windows: a token has no id at this shift");
    return v;
  });
}

}  // namespace legato::model
