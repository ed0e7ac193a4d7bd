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

TrainingWindows::TrainingWindows(const Corpus& corpus, int64_t seq_len, bool all_steps, double infill_rate)
    : corpus_(&corpus), seq_len_(seq_len), all_steps_(all_steps), infill_rate_(infill_rate) {
  if (seq_len <= 0) throw std::invalid_argument("windows: the sequence length must be positive");
  if (infill_rate > 0) {
    if (!all_steps) throw std::invalid_argument("windows: infilling needs the objective all");
    infill_.emplace(corpus.vocab);
  }
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

uint64_t TrainingWindows::draw_for(uint64_t key, uint64_t position) { return mix(mix(key) ^ position); }

std::pair<int32_t, int32_t> TrainingWindows::state_before(const TrainPiece& p, int shift, int64_t start) const {
  int32_t instrument = -1, velocity = -1;
  for (int64_t k = start - 1; k >= 0 && (instrument < 0 || velocity < 0); --k) {
    const int32_t id = corpus_->id(p, shift, k);
    if (instrument < 0 && infill_->is_instrument(id)) instrument = id;
    if (velocity < 0 && infill_->is_velocity(id)) velocity = id;
  }
  return {instrument, velocity};
}

std::vector<int32_t> TrainingWindows::infill_window(const Window& w) const {
  if (!infill_ || static_cast<double>(w.draw >> 11) * 0x1p-53 >= infill_rate_) return {};
  const TrainPiece& p = corpus_->train[w.piece];
  const int64_t total = seq_len_ + 1, n = corpus_->length(p);
  // The prefix and middle come from the window's first `limit` tokens; the suffix, at least a
  // quarter of the window, follows them (3 sentinels and up to 4 repeated or split tokens besides).
  const int64_t limit = total - 3 - 4 - std::max<int64_t>(2, total / 4);
  if (limit < 2) return {};
  std::vector<int32_t> raw;
  for (int64_t k = w.start; k < std::min(n, w.start + 2 * total); ++k) raw.push_back(corpus_->id(p, w.shift, k));
  int64_t span = 0;
  for (int64_t k = 0; k < limit && k < static_cast<int64_t>(raw.size()); ++k) span += infill_->shift_of(raw[k]);
  const uint64_t r1 = mix(w.draw), r2 = mix(r1 ^ 0x5851F42D4C957F2Dull);
  const auto x = static_cast<int64_t>(r1 % static_cast<uint64_t>(span + 1));
  const auto y = static_cast<int64_t>(r2 % static_cast<uint64_t>(span + 1));
  if (x == y) return {};
  const auto [instrument, velocity] = state_before(p, w.shift, w.start);
  midi::InfillLayout::Parts parts = infill_->split(raw, std::min(x, y), std::max(x, y), instrument, velocity);
  const int64_t keep =
      total - 3 - static_cast<int64_t>(parts.prefix.size()) - static_cast<int64_t>(parts.middle.size());
  if (keep < 1 || static_cast<int64_t>(parts.suffix.size()) < keep) return {};
  parts.suffix.resize(static_cast<size_t>(keep));
  return infill_->arrange(parts);
}

bool TrainingWindows::with_controls(const Window& w) const {
  return !corpus_->controls.empty() && mix(w.draw ^ 0xC0A7C0A7C0A7C0A7ull) % 4 != 0;
}

void TrainingWindows::fill(const Window* windows, int64_t batch, Tensor& tokens, Tensor& targets) const {
  std::vector<int32_t> arranged;  // example arranged_for's window as infilling arranges it (empty: plain)
  std::vector<int32_t> controls;  // its control tokens (empty: none)
  int64_t arranged_for = -1;
  write_batch(batch, seq_len_, all_steps_, tokens, targets, [&](int64_t b, int64_t t) {
    const Window& w = windows[b];
    if (b != arranged_for) {  // write_batch goes example by example
      arranged = infill_window(w), arranged_for = b;
      controls = arranged.empty() && with_controls(w) ? corpus_->control_ids(w.piece, w.shift) : std::vector<int32_t>{};
    }
    if (!arranged.empty()) return arranged[static_cast<size_t>(t)];
    const auto c = static_cast<int64_t>(controls.size());
    if (t < c) return controls[static_cast<size_t>(t)];
    const int32_t v = corpus_->id(corpus_->train[w.piece], w.shift, w.start + t - c);
    if (v < 0) throw std::logic_error("windows: a token has no id at this shift");
    return v;
  });
}

}  // namespace legato::model
