#include "live/event_vocab.h"

#include <charconv>
#include <stdexcept>

namespace legato::live {

namespace {

// The number after `prefix` in `token`, or -2 when the token is not prefix + digits.
int number_after(const std::string& token, const char* prefix) {
  const std::string p(prefix);
  if (token.size() <= p.size() || token.compare(0, p.size(), p) != 0) return -2;
  int value = 0;
  const char* end = token.data() + token.size();
  const auto [at, error] = std::from_chars(token.data() + p.size(), end, value);
  return error == std::errc() && at == end && value >= 0 ? value : -2;
}

TokenInfo classify(const std::string& t) {
  if (t == "BOS") return {TokenKind::Bos, 0};
  if (t == "EOS") return {TokenKind::Eos, 0};
  if (t == "UNK") return {TokenKind::Unknown, 0};
  if (t == "DRUMS") return {TokenKind::Program, -1};
  if (t == "IDRUMS") return {TokenKind::Header, -1};
  // Longest prefixes first would matter only for prefixes that share letters; these do not.
  const std::pair<const char*, TokenKind> kinds[] = {{"T", TokenKind::Shift},    {"P", TokenKind::Program},
                                                     {"V", TokenKind::Velocity}, {"N", TokenKind::Note},
                                                     {"D", TokenKind::Duration}, {"I", TokenKind::Header}};
  for (const auto& [prefix, kind] : kinds)
    if (const int v = number_after(t, prefix); v >= 0) return {kind, v};
  return {};
}

void put(std::vector<int32_t>& by_value, size_t value, int32_t id) {
  if (by_value.size() <= value) by_value.resize(value + 1, -1);
  by_value[value] = id;
}

}  // namespace

EventVocab::EventVocab(const std::vector<std::string>& vocab)
    : note_(128, -1), program_(129, -1), header_(129, -1), shift_(1, -1), duration_(1, -1) {
  for (size_t id = 0; id < vocab.size(); ++id) {
    const TokenInfo t = classify(vocab[id]);
    info_.push_back(t);
    const auto k = static_cast<int32_t>(id);
    switch (t.kind) {
      case TokenKind::Bos: bos_ = k; break;
      case TokenKind::Note:
        if (t.value < 128) note_[t.value] = k;
        break;
      case TokenKind::Program:
        if (t.value < 128) program_[t.value + 1] = k;
        break;
      case TokenKind::Header:
        if (t.value < 128) header_[t.value + 1] = k;
        break;
      case TokenKind::Velocity: put(velocity_, t.value, k); break;
      case TokenKind::Shift: put(shift_, t.value, k); break;
      case TokenKind::Duration: put(duration_, t.value, k); break;
      default: break;
    }
  }
  if (shift_.size() < 2 || duration_.size() < 2)
    throw std::invalid_argument("the vocabulary has no time-shift (T) or duration (D) tokens: not the event scheme");
  voice_ = -2;
  for (int p = 0; p < 128 && voice_ == -2; ++p)
    if (program_[p + 1] >= 0) voice_ = p;
  if (voice_ == -2) throw std::invalid_argument("the vocabulary has no pitched instrument (P) token");
}

int32_t EventVocab::largest(const std::vector<int32_t>& ids, int64_t steps) {
  for (int64_t s = std::min<int64_t>(steps, int64_t(ids.size()) - 1); s >= 1; --s)
    if (ids[static_cast<size_t>(s)] >= 0) return ids[static_cast<size_t>(s)];
  return -1;
}

}  // namespace legato::live
