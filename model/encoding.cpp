#include "model/encoding.h"

#include "midi/key.h"
#include "midi/loader.h"
#include "midi/vocabulary.h"

namespace legato::model {

std::vector<int32_t> encode(const std::vector<std::string>& tokens, const std::unordered_map<std::string, int32_t>& ids,
                            int32_t unk) {
  std::vector<int32_t> out;
  out.reserve(tokens.size());
  for (const std::string& t : tokens) {
    const auto it = ids.find(t);
    if (it != ids.end())
      out.push_back(it->second);
    else if (unk >= 0)
      out.push_back(unk);
  }
  return out;
}

std::unordered_map<std::string, int32_t> index_of(const std::vector<std::string>& vocab) {
  std::unordered_map<std::string, int32_t> ids;
  for (size_t k = 0; k < vocab.size(); ++k) ids.emplace(vocab[k], static_cast<int32_t>(k));
  return ids;
}

int32_t unk_id(const std::unordered_map<std::string, int32_t>& ids) {
  const auto it = ids.find(std::string(midi::kUnk));
  return it == ids.end() ? -1 : it->second;
}

midi::ReadOptions read_options_for(const midi::Tokenizer& tokenizer) {
  midi::ReadOptions options;
  options.pairing = tokenizer.note_pairing();
  return options;
}

std::vector<std::vector<int32_t>> encode_files(const std::vector<std::filesystem::path>& paths,
                                               const std::string& scheme, const std::vector<std::string>& vocab,
                                               std::ostream& log, bool normalise_key, std::vector<int>* shifts) {
  const auto tokenizer = midi::make_tokenizer(scheme);
  const midi::LoadResult loaded = midi::load_midi_files(paths, log, read_options_for(*tokenizer));
  std::vector<std::vector<int32_t>> pieces;
  for (const auto& s : loaded.scores) {
    int shift = 0;
    pieces.push_back(encode_score(s.score, scheme, vocab, normalise_key, &shift));
    if (shifts) shifts->push_back(shift);
  }
  return pieces;
}

std::vector<int32_t> encode_score(const midi::Score& score, const std::string& scheme,
                                  const std::vector<std::string>& vocab, bool normalise_key, int* shift_out) {
  const auto tokenizer = midi::make_tokenizer(scheme);
  const auto ids = index_of(vocab);
  const int shift = normalise_key ? midi::shift_to_c(score) : 0;
  if (shift_out) *shift_out = shift;
  return encode(tokenizer->tokenize(shift ? *midi::transpose(score, shift) : score), ids, unk_id(ids));
}

}  // namespace legato::model
