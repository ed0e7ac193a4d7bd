#include "midi/vocabulary.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace legato::midi {

void Vocabulary::count(std::span<const std::string> tokens) {
  for (const std::string& t : tokens) ++counts_[t];
}

void Vocabulary::count(const std::string& token, int64_t times) { counts_[token] += times; }

void Vocabulary::build(int64_t min_count, const std::vector<std::string>& specials, Order order) {
  tokens_.clear();
  ids_.clear();
  auto add = [&](const std::string& t) {
    if (ids_.emplace(t, int(tokens_.size())).second) tokens_.push_back(t);
  };
  for (const std::string& s : specials) add(s);
  std::vector<std::pair<std::string, int64_t>> kept;
  for (const auto& entry : most_frequent())
    if (entry.second >= min_count) kept.push_back(entry);
  if (order == Order::sorted)
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& entry : kept) add(entry.first);
}

bool Vocabulary::contains(std::string_view token) const { return ids_.count(std::string(token)) > 0; }

int Vocabulary::id(std::string_view token) const {
  auto it = ids_.find(std::string(token));
  if (it != ids_.end()) return it->second;
  auto unk = ids_.find(std::string(kUnk));
  return unk == ids_.end() ? -1 : unk->second;
}

int64_t Vocabulary::count_of(std::string_view token) const {
  auto it = counts_.find(std::string(token));
  return it == counts_.end() ? 0 : it->second;
}

int64_t Vocabulary::total_count() const {
  int64_t total = 0;
  for (const auto& entry : counts_) total += entry.second;
  return total;
}

std::vector<std::pair<std::string, int64_t>> Vocabulary::most_frequent() const {
  std::vector<std::pair<std::string, int64_t>> list(counts_.begin(), counts_.end());
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  return list;
}

std::vector<int> Vocabulary::encode(std::span<const std::string> tokens) const {
  std::vector<int> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) {
    const int i = id(t);
    if (i < 0) throw std::runtime_error("vocabulary: token '" + t + "' has no id and there is no " + std::string(kUnk));
    ids.push_back(i);
  }
  return ids;
}

std::vector<std::string> Vocabulary::decode(std::span<const int> ids) const {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (int i : ids) {
    if (i < 0 || size_t(i) >= tokens_.size())
      throw std::runtime_error("vocabulary: id " + std::to_string(i) + " is outside 0.." +
                               std::to_string(tokens_.size() - 1));
    out.push_back(tokens_[size_t(i)]);
  }
  return out;
}

std::string Vocabulary::to_json() const {
  std::string out = "[";
  for (size_t i = 0; i < tokens_.size(); ++i) {
    out += i ? ",\n \"" : "\"";
    for (unsigned char c : tokens_[i]) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += char(c);
      } else if (c < 0x20) {
        static const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else {
        out += char(c);
      }
    }
    out += '"';
  }
  return out + "]\n";
}

Vocabulary Vocabulary::from_json(std::string_view json) {
  // Only what to_json writes: an array of strings with \" \\ and \u00XX escapes.
  Vocabulary v;
  size_t i = 0;
  auto fail = [&](const std::string& what) -> void {
    throw std::runtime_error("vocabulary JSON: " + what + " at character " + std::to_string(i));
  };
  auto skip_space = [&] {
    while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  };
  skip_space();
  if (i >= json.size() || json[i] != '[') fail("expected '['");
  ++i;
  skip_space();
  if (i < json.size() && json[i] == ']') return v;
  while (true) {
    skip_space();
    if (i >= json.size() || json[i] != '"') fail("expected a string");
    ++i;
    std::string token;
    while (true) {
      if (i >= json.size()) fail("unterminated string");
      char c = json[i++];
      if (c == '"') break;
      if (c == '\\') {
        if (i >= json.size()) fail("unterminated escape");
        const char e = json[i++];
        if (e == 'u') {
          if (i + 4 > json.size()) fail("short \\u escape");
          int code = 0;
          for (int k = 0; k < 4; ++k) {
            const char h = json[i++];
            const int digit = h >= '0' && h <= '9'   ? h - '0'
                              : h >= 'a' && h <= 'f' ? h - 'a' + 10
                              : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                     : -1;
            if (digit < 0) fail("bad \\u escape");
            code = code * 16 + digit;
          }
          if (code > 0x7F) fail("\\u escape beyond ASCII");  // to_json escapes control characters only
          token += char(code);
        } else if (e == '"' || e == '\\' || e == '/') {
          token += e;
        } else {
          fail("unsupported escape");
        }
      } else {
        token += c;
      }
    }
    if (!v.ids_.emplace(token, int(v.tokens_.size())).second) fail("duplicate token '" + token + "'");
    v.tokens_.push_back(token);
    skip_space();
    if (i < json.size() && json[i] == ',') {
      ++i;
      continue;
    }
    if (i < json.size() && json[i] == ']') break;
    fail("expected ',' or ']'");
  }
  return v;
}

Vocabulary Vocabulary::in_id_order(const std::vector<std::string>& tokens) {
  Vocabulary v;
  v.tokens_ = tokens;
  for (size_t k = 0; k < tokens.size(); ++k) v.ids_.emplace(tokens[k], int(k));
  return v;
}

void Vocabulary::save(const std::filesystem::path& path) const {
  std::ofstream f(path);
  f << to_json();
  if (!f) throw std::runtime_error("vocabulary: cannot write " + path.string());
}

Vocabulary Vocabulary::load(const std::filesystem::path& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("vocabulary: cannot read " + path.string());
  std::stringstream text;
  text << f.rdbuf();
  return from_json(text.str());
}

}  // namespace legato::midi
