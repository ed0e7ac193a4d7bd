#include "midi/infill.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>
#include <string_view>

namespace legato::midi {
namespace {

bool numbered(std::string_view token, char tag, int64_t* value = nullptr) {
  if (token.size() < 2 || token[0] != tag) return false;
  int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(token.data() + 1, token.data() + token.size(), v);
  if (ec != std::errc() || ptr != token.data() + token.size()) return false;
  if (value) *value = v;
  return true;
}

// Where the parts of one split grow, and what each has named so far.
struct Cutter {
  InfillLayout::Parts parts;
  bool named_instrument[3] = {true, false, false};  // the prefix is left as it came
  bool named_velocity[3] = {true, false, false};
  std::vector<int32_t>& part(int k) { return k == 0 ? parts.prefix : k == 1 ? parts.middle : parts.suffix; }
};

}  // namespace

std::vector<std::string> InfillLayout::needed_tokens(const EventOptions& options) {
  std::vector<std::string> out = {kInfillSuffix, kInfillPrefix, kInfillMiddle};
  // Appended, not "T" + std::to_string(t): GCC 12 warns falsely about that.
  for (int t = 1; t <= options.max_shift_steps; ++t) out.emplace_back("T"), out.back() += std::to_string(t);
  return out;
}

InfillLayout::InfillLayout(const std::vector<std::string>& vocab, const EventOptions& options)
    : kinds_(vocab.size(), Kind::Other), value_(vocab.size(), 0), shift_ids_(options.max_shift_steps + 1, -1) {
  for (size_t k = 0; k < vocab.size(); ++k) {
    const std::string& s = vocab[k];
    const auto id = static_cast<int32_t>(k);
    int64_t v = 0;
    if (s == "BOS" || s == "IDRUMS" || numbered(s, 'I')) {
      kinds_[k] = Kind::Lead;
    } else if (s == "EOS") {
      kinds_[k] = Kind::End;
    } else if (numbered(s, 'T', &v) && v >= 1 && v <= options.max_shift_steps) {
      kinds_[k] = Kind::Shift;
      value_[k] = v;
      shift_ids_[static_cast<size_t>(v)] = id;
    } else if (s == "DRUMS" || numbered(s, 'P')) {
      kinds_[k] = Kind::Program;
    } else if (numbered(s, 'V')) {
      kinds_[k] = Kind::Velocity;
    } else if (numbered(s, 'N')) {
      kinds_[k] = Kind::Note;
    } else if (s == kInfillSuffix) {
      suffix_ = id;
    } else if (s == kInfillPrefix) {
      prefix_ = id;
    } else if (s == kInfillMiddle) {
      middle_ = id;
    }
  }
  const bool all_shifts = std::find(shift_ids_.begin() + 1, shift_ids_.end(), -1) == shift_ids_.end();
  if (suffix_ < 0 || prefix_ < 0 || middle_ < 0 || !all_shifts)
    throw std::invalid_argument("infill: the vocabulary lacks the sentinels or a shift T1..T" +
                                std::to_string(options.max_shift_steps));
}

InfillLayout::Parts InfillLayout::split(std::span<const int32_t> ids, int64_t a, int64_t b, int32_t instrument,
                                        int32_t velocity) const {
  if (!(0 <= a && a < b)) throw std::invalid_argument("infill: the cuts must be 0 <= a < b");
  const int64_t ends[3] = {a, b, std::numeric_limits<int64_t>::max()};
  auto part_at = [&](int64_t t) { return t < a ? 0 : t < b ? 1 : 2; };
  Cutter c;
  int64_t now = 0;
  for (const int32_t id : ids) {
    const Kind kind = kinds_[static_cast<size_t>(id)];
    if (kind == Kind::Shift) {  // in pieces, one per part it crosses
      const int64_t end = now + value_[static_cast<size_t>(id)];
      for (int64_t t = now; t < end;) {
        const int k = part_at(t);
        const int64_t stop = std::min(end, ends[k]);
        c.part(k).push_back(stop - t == end - now ? id : shift_token(stop - t));
        t = stop;
      }
      now = end;
      continue;
    }
    const int k = kind == Kind::Lead ? 0 : kind == Kind::End ? 2 : part_at(now);
    if (kind == Kind::Program) instrument = id, c.named_instrument[k] = true;
    if ((kind == Kind::Velocity || kind == Kind::Note) && !c.named_instrument[k] && instrument >= 0)
      c.part(k).push_back(instrument), c.named_instrument[k] = true;
    if (kind == Kind::Velocity) velocity = id, c.named_velocity[k] = true;
    if (kind == Kind::Note && !c.named_velocity[k] && velocity >= 0)
      c.part(k).push_back(velocity), c.named_velocity[k] = true;
    c.part(k).push_back(id);
  }
  // A sequence that ends before a: the prefix still leads up to the gap.
  for (; now < a; now += std::min<int64_t>(a - now, static_cast<int64_t>(shift_ids_.size()) - 1))
    c.parts.prefix.push_back(shift_token(std::min<int64_t>(a - now, static_cast<int64_t>(shift_ids_.size()) - 1)));
  return c.parts;
}

std::vector<int32_t> InfillLayout::arrange(const Parts& parts) const {
  std::vector<int32_t> out;
  out.reserve(parts.prefix.size() + parts.middle.size() + parts.suffix.size() + 3);
  out.push_back(suffix_);
  out.insert(out.end(), parts.suffix.begin(), parts.suffix.end());
  out.push_back(prefix_);
  out.insert(out.end(), parts.prefix.begin(), parts.prefix.end());
  out.push_back(middle_);
  out.insert(out.end(), parts.middle.begin(), parts.middle.end());
  return out;
}

}  // namespace legato::midi
