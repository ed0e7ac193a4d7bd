// Fill-in-the-middle arrangements of event-scheme token sequences (docs/infill.md). A sequence is
// cut at two grid times a < b into a prefix (what sounds before a), a middle (notes that start in
// [a, b)) and a suffix (from b on), and laid out as
//     <suffix> SUFFIX <prefix> PREFIX <middle> MIDDLE
// so that a left-to-right network, having read what comes after the gap and what comes before it,
// writes the middle last. Training arranges a share of its windows so (corpus/windows.h); composer
// --infill lays out a file so and samples the middle (model/infill.h). One function serves both,
// so the network composes in exactly the layout it learnt.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "midi/tokenizer.h"

namespace legato::midi {

// The sentinels. Their first characters are none that a scheme's token rules look at.
inline constexpr const char* kInfillSuffix = "<suffix>";
inline constexpr const char* kInfillPrefix = "<prefix>";
inline constexpr const char* kInfillMiddle = "<middle>";

class InfillLayout {
 public:
  // The tokens a vocabulary needs for infilling: the three sentinels and every shift T1..Tmax, since
  // a cut splits a shift wherever the gap's edges fall.
  static std::vector<std::string> needed_tokens(const EventOptions& options = {});
  // `vocab`: token strings in id order; std::invalid_argument when it lacks a needed token.
  InfillLayout(const std::vector<std::string>& vocab, const EventOptions& options = {});

  struct Parts {
    std::vector<int32_t> prefix, middle, suffix;
  };
  // Cuts `ids` (time 0 at ids[0]) at grid times a < b. Non-shift tokens go to the part their time
  // falls in (BOS and the ensemble header always to the prefix, EOS to the suffix); a shift that
  // crosses a or b is split there, so the prefix ends at a and the middle at b (where the sequence
  // lasts so long). The middle and the suffix name the instrument (and velocity bin) of their first
  // note again; `instrument`, `velocity`: those tokens in force before ids[0] (-1: none known).
  Parts split(std::span<const int32_t> ids, int64_t a, int64_t b, int32_t instrument = -1, int32_t velocity = -1) const;
  // SUFFIX suffix PREFIX prefix MIDDLE middle.
  std::vector<int32_t> arrange(const Parts& parts) const;

  int64_t shift_of(int32_t id) const { return kinds_[static_cast<size_t>(id)] == Kind::Shift ? value_[id] : 0; }
  bool is_instrument(int32_t id) const { return kinds_[static_cast<size_t>(id)] == Kind::Program; }
  bool is_velocity(int32_t id) const { return kinds_[static_cast<size_t>(id)] == Kind::Velocity; }
  bool is_note(int32_t id) const { return kinds_[static_cast<size_t>(id)] == Kind::Note; }
  int32_t shift_token(int64_t steps) const { return shift_ids_.at(static_cast<size_t>(steps)); }
  int32_t suffix_token() const { return suffix_; }
  int32_t prefix_token() const { return prefix_; }
  int32_t middle_token() const { return middle_; }

 private:
  enum class Kind : uint8_t { Other, Lead, End, Shift, Program, Velocity, Note };
  std::vector<Kind> kinds_;         // per id
  std::vector<int64_t> value_;      // per id: a shift's steps
  std::vector<int32_t> shift_ids_;  // [steps]: the id of T<steps>, 1..max_shift_steps
  int32_t suffix_ = -1, prefix_ = -1, middle_ = -1;
};

}  // namespace legato::midi
