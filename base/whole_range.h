// "A-B" as two whole numbers, for the flags that take a range (composer --bars, --beats,
// --pitch-range); each caller checks its own bounds and words its own refusal.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace legato::base {

// The whole number that is all of `text`, or nullopt (empty, a sign or other characters left over).
inline std::optional<int64_t> whole_number(std::string_view text) {
  int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

// {A, B} of "A-B", or nullopt when the text is not two whole numbers joined by its first dash.
inline std::optional<std::pair<int64_t, int64_t>> whole_range(std::string_view text) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto first = whole_number(text.substr(0, dash)), last = whole_number(text.substr(dash + 1));
  if (!first || !last) return std::nullopt;
  return std::pair{*first, *last};
}

}  // namespace legato::base
