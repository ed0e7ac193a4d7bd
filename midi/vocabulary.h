// Token strings <-> ids, with counts. Saved with a model as a JSON array of the tokens in id order.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace legato::midi {

inline constexpr std::string_view kUnk = "UNK";
inline constexpr std::string_view kBos = "BOS";  // a piece's beginning (the event scheme's)
inline constexpr std::string_view kEos = "EOS";  // its end

class Vocabulary {
 public:
  enum class Order {
    by_frequency,  // most frequent first, ties by token text
    sorted,        // by token text: the seed project's sorted(set(notes))
  };

  // Counts tokens; call for every piece, then build().
  void count(std::span<const std::string> tokens);
  void count(const std::string& token, int64_t times);  // `times` more of one token
  // Assigns ids: the specials first (in the given order), then every counted token seen at
  // least min_count times. Rarer tokens get no id: id() maps them to UNK when UNK is a special.
  void build(int64_t min_count = 1, const std::vector<std::string>& specials = {}, Order order = Order::by_frequency);

  size_t size() const { return tokens_.size(); }
  bool contains(std::string_view token) const;
  // The token's id; UNK's id for a token without one; -1 if there is no UNK either.
  int id(std::string_view token) const;
  const std::string& token(int id) const { return tokens_.at(size_t(id)); }
  int64_t count_of(std::string_view token) const;
  int64_t total_count() const;

  // Every counted token with its count, most frequent first (ties by token text).
  std::vector<std::pair<std::string, int64_t>> most_frequent() const;

  std::vector<int> encode(std::span<const std::string> tokens) const;
  std::vector<std::string> decode(std::span<const int> ids) const;

  std::string to_json() const;
  static Vocabulary from_json(std::string_view json);
  // The vocabulary whose ids are the positions in `tokens` (a checkpoint's; a repeated token keeps its first id).
  static Vocabulary in_id_order(const std::vector<std::string>& tokens);  // throws std::runtime_error when malformed
  void save(const std::filesystem::path& path) const;
  static Vocabulary load(const std::filesystem::path& path);

 private:
  std::unordered_map<std::string, int64_t> counts_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace legato::midi
