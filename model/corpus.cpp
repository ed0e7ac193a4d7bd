#include "model/corpus.h"

#include <algorithm>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "midi/loader.h"
#include "midi/tokenizer.h"
#include "midi/vocabulary.h"

namespace legato::model {
namespace {

int64_t total(const std::vector<std::vector<int32_t>>& pieces) {
  int64_t n = 0;
  for (const auto& p : pieces) n += static_cast<int64_t>(p.size());
  return n;
}

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

}  // namespace

int64_t Corpus::train_tokens() const { return total(train); }
int64_t Corpus::val_tokens() const { return total(val); }

std::filesystem::path default_corpus_path() { return "/usr/share/games/openttd/baseset/openmsx"; }

// Files are read with the note pairing of the tool the scheme follows (music21's for seed).
static midi::ReadOptions read_options_for(const midi::Tokenizer& tokenizer) {
  midi::ReadOptions options;
  options.pairing = tokenizer.note_pairing();
  return options;
}

Corpus load_corpus(const CorpusOptions& options, std::ostream& log) {
  const auto tokenizer = midi::make_tokenizer(options.scheme);
  const midi::LoadResult loaded = midi::load_midi_files(options.paths, log, read_options_for(*tokenizer));
  if (loaded.scores.empty()) throw std::runtime_error("no readable MIDI file in the given paths");
  Corpus corpus;
  corpus.files_loaded = static_cast<int>(loaded.scores.size());
  corpus.files_skipped = loaded.failed;

  // Split by piece with a seeded shuffle; at least one training piece.
  std::vector<size_t> order(loaded.scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(options.seed));
  size_t held = static_cast<size_t>(options.val_split * static_cast<double>(order.size()) + 0.5);
  held = std::min(held, order.size() - 1);
  if (options.val_split > 0 && held == 0 && order.size() > 1) held = 1;
  std::vector<bool> is_val(order.size(), false);
  for (size_t k = 0; k < held; ++k) is_val[order[k]] = true;

  std::vector<std::vector<std::string>> train_tokens, val_tokens;
  midi::Vocabulary vocabulary;
  for (size_t k = 0; k < loaded.scores.size(); ++k) {
    const midi::Score& score = loaded.scores[k].score;
    if (is_val[k]) {
      val_tokens.push_back(tokenizer->tokenize(score));
      corpus.val_names.push_back(loaded.scores[k].path.string());
      corpus.val_scores.push_back(score);
      continue;
    }
    for (int shift = -options.transpose; shift <= options.transpose; ++shift) {
      // A transposition that would push a note out of 0..127 is skipped.
      const auto moved = shift == 0 ? std::optional<midi::Score>(score) : midi::transpose(score, shift);
      if (!moved) continue;
      train_tokens.push_back(tokenizer->tokenize(*moved));
      vocabulary.count(train_tokens.back());
    }
  }
  // The vocabulary comes from the training pieces only: validation must not shape it. The seed
  // scheme orders it as the seed did (sorted token strings); others most frequent first.
  vocabulary.build(options.min_count, tokenizer->special_tokens(),
                   options.scheme == "seed" ? midi::Vocabulary::Order::sorted : midi::Vocabulary::Order::by_frequency);
  for (size_t id = 0; id < vocabulary.size(); ++id) corpus.vocab.push_back(vocabulary.token(static_cast<int>(id)));
  const auto ids = index_of(corpus.vocab);
  for (const auto& t : train_tokens) corpus.train.push_back(encode(t, ids, unk_id(ids)));
  for (const auto& t : val_tokens) corpus.val.push_back(encode(t, ids, unk_id(ids)));
  return corpus;
}

std::vector<std::vector<int32_t>> encode_files(const std::vector<std::filesystem::path>& paths,
                                               const std::string& scheme, const std::vector<std::string>& vocab,
                                               std::ostream& log) {
  const auto tokenizer = midi::make_tokenizer(scheme);
  const midi::LoadResult loaded = midi::load_midi_files(paths, log, read_options_for(*tokenizer));
  const auto ids = index_of(vocab);
  std::vector<std::vector<int32_t>> pieces;
  for (const auto& s : loaded.scores) pieces.push_back(encode(tokenizer->tokenize(s.score), ids, unk_id(ids)));
  return pieces;
}

}  // namespace legato::model
