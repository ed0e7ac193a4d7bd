// The tokenized-corpus cache and transpositions applied when batches are built: moving stored
// tokens gives exactly the tokens of the moved score, a corpus mapped from the cache is the corpus
// read from the files, stale and damaged caches are rebuilt, and the epoch order is a permutation.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "corpus/corpus.h"
#include "corpus/windows.h"
#include "midi/loader.h"
#include "midi/tokenizer.h"
#include "midi/vocabulary.h"
#include "midi/writer.h"
#include "score_builder.h"
#include "small_corpus.h"

using namespace legato;
using legato::testing::make_note;
using legato::testing::temp_dir;

namespace {

// Two instruments, drums on channel 10 at the same onsets as pitched notes, chords, a program
// change: every way a token could fail to move as its score moves.
midi::Score mixed_score(int variant) {
  midi::Score score;
  score.ticks_per_quarter = 480;
  score.track_count = 3;
  score.track_has_notes = {false, true, true};
  score.program_changes.push_back({0, 1, 0, 0});
  score.program_changes.push_back({0, 2, 1, 40});
  for (int k = 0; k < 40; ++k) {
    const int64_t t = 240 * k;
    midi::Note melody = make_note(50 + (k * (3 + variant)) % 24, t, 240, 0, 0);
    melody.track = 1;
    score.notes.push_back(melody);
    if (k % 3 == 0) {  // a chord in the other instrument
      for (const int step : {0, 4, 7}) {
        midi::Note c = make_note(45 + step + variant, t, 480, 1, 40);
        c.track = 2;
        score.notes.push_back(c);
      }
    }
    if (k % 2 == 0) {  // a drum hit on a pitched track (a format-0 style mix); variant 0's join chords
      midi::Note d = make_note(36 + k % 3, t, variant == 0 ? 240 : 120, midi::kDrumChannel, 0);
      d.track = 1 + variant % 2;
      score.notes.push_back(d);
    }
  }
  score.update_times();
  return score;
}

std::vector<std::string> moved(const midi::Tokenizer& tokenizer, const midi::TokenizedScore& t, int shift) {
  std::vector<std::string> out;
  for (size_t k = 0; k < t.tokens.size(); ++k)
    out.push_back(t.moves[k] ? tokenizer.transpose_token(t.tokens[k], shift).value_or("?") : t.tokens[k]);
  return out;
}

std::string text_of(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every training window's tokens and target, in window order: what batches are made of.
std::vector<int32_t> all_window_ids(const model::Corpus& corpus, int64_t seq_len) {
  const model::TrainingWindows windows(corpus, seq_len, true);
  std::vector<int32_t> out;
  Tensor tokens, targets;
  for (int64_t k = 0; k < windows.size(); ++k) {
    const model::Window w = windows.at(k);
    windows.fill(&w, 1, tokens, targets);
    for (int64_t t = 0; t < seq_len; ++t) out.push_back(targets.data<int32_t>()[t]);
    out.push_back(tokens.data<int32_t>()[0]);
  }
  return out;
}

}  // namespace

TEST_CASE("corpus: moving stored tokens gives the tokens of the moved score, for every scheme") {
  for (const char* scheme : {"event", "seed"}) {
    CAPTURE(scheme);
    const auto tokenizer = midi::make_tokenizer(scheme);
    int checked = 0;
    for (int variant = 0; variant < 4; ++variant) {
      const midi::Score score = mixed_score(variant);
      const midi::TokenizedScore t = tokenizer->tokenize_for_transposition(score);
      CHECK(t.tokens == tokenizer->tokenize(score));
      if (!t.transposable) continue;  // a seed chord of drums and pitched notes: never moved
      for (int shift = -12; shift <= 12; ++shift) {
        const auto moved_score = midi::transpose(score, shift);
        if (!moved_score) continue;
        CAPTURE(shift);
        CHECK(moved(*tokenizer, t, shift) == tokenizer->tokenize(*moved_score));
        ++checked;
      }
    }
    CHECK(checked >= 25);
  }
  // The drums of the event scheme stay where they are; a mixed seed chord is refused.
  const auto event = midi::make_tokenizer("event");
  const auto t = event->tokenize_for_transposition(mixed_score(0));
  bool drum_seen = false;
  for (size_t k = 0; k + 1 < t.tokens.size(); ++k)
    if (t.tokens[k] == "DRUMS") drum_seen = t.tokens[k + 1][0] == 'N' && !t.moves[k + 1];
  CHECK(drum_seen);
  CHECK_FALSE(midi::make_tokenizer("seed")->tokenize_for_transposition(mixed_score(0)).transposable);
}

TEST_CASE("corpus: transposed on the fly, the corpus is the one made of every transposed piece") {
  const auto data = testing::write_small_corpus("fly_corpus");
  std::ostringstream log;
  model::CorpusOptions options;
  options.paths = {data};
  options.scheme = "event";
  options.transpose = 3;
  options.val_split = 0.34;
  const model::Corpus corpus = model::load_corpus(options, log);
  REQUIRE(corpus.train.size() == 2);
  CHECK(corpus.store->width() == 1);  // a vocabulary of a few dozen tokens fits in one byte

  // The old way: every piece tokenized at every shift, the vocabulary counted over all of them.
  const auto tokenizer = midi::make_tokenizer("event");
  const midi::LoadResult loaded = midi::load_midi_files({data}, log);
  midi::Vocabulary vocabulary;
  std::vector<std::vector<std::string>> expected;  // per (training piece, shift)
  for (const model::TrainPiece& p : corpus.train)
    for (int shift = p.lowest; shift <= p.highest; ++shift) {
      expected.push_back(tokenizer->tokenize(*midi::transpose(loaded.scores[p.piece].score, shift)));
      vocabulary.count(expected.back());
    }
  vocabulary.build(1, tokenizer->special_tokens());
  REQUIRE(corpus.vocab.size() == vocabulary.size());
  for (size_t id = 0; id < corpus.vocab.size(); ++id) CHECK(corpus.vocab[id] == vocabulary.token(static_cast<int>(id)));
  size_t e = 0;
  for (const model::TrainPiece& p : corpus.train)
    for (int shift = p.lowest; shift <= p.highest; ++shift, ++e) {
      std::vector<std::string> got;
      for (int64_t k = 0; k < corpus.length(p); ++k) got.push_back(corpus.vocab[corpus.id(p, shift, k)]);
      CHECK(got == expected[e]);
    }
  CHECK(corpus.train_tokens() > 6 * corpus.store->token_count() / 2);  // 7 shifts of 2 of 3 pieces
  std::filesystem::remove_all(data);
}

TEST_CASE("corpus: the cache is mapped by the next run, and stale or damaged caches are rebuilt") {
  const auto data = testing::write_small_corpus("cache_corpus");
  const auto cache = temp_dir("cache");
  model::CorpusOptions options;
  options.paths = {data};
  options.scheme = "event";
  options.transpose = 2;
  options.val_split = 0.34;
  model::CorpusOptions uncached = options;
  std::ostringstream log;
  const model::Corpus read = model::load_corpus(uncached, log);
  options.cache_dir = cache;

  auto load = [&](const std::string& expect) {
    std::ostringstream said;
    const model::Corpus c = model::load_corpus(options, said);
    CAPTURE(said.str());
    CHECK(said.str().find(expect) != std::string::npos);
    CHECK(said.str().find("midi: " + data.string() + ": 3 files read") != std::string::npos);  // as without a cache
    CHECK(c.vocab == read.vocab);
    CHECK(c.val == read.val);
    CHECK(all_window_ids(c, 12) == all_window_ids(read, 12));
    return c.store->mapped();
  };
  CHECK_FALSE(load("corpus cache: wrote"));
  CHECK(load("corpus cache: mapped"));
  std::filesystem::path file;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) file = entry.path();
  REQUIRE(file.extension() == ".tokens");

  // A rewritten file (same content, new time) makes it stale.
  std::filesystem::last_write_time(data / "piece1.mid",
                                   std::filesystem::last_write_time(data / "piece1.mid") + std::chrono::seconds(5));
  CHECK_FALSE(load("is stale"));
  CHECK(load("corpus cache: mapped"));

  // One flipped bit among the tokens, or a cut, is damage.
  std::string bytes = text_of(file);
  bytes[bytes.size() / 2] ^= 0x10;
  std::ofstream(file, std::ios::binary) << bytes;
  CHECK_FALSE(load("is damaged (checksum)"));
  bytes = text_of(file);
  std::ofstream(file, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  CHECK_FALSE(load("is damaged (sizes"));
  std::ofstream(file, std::ios::binary) << "LGTOKEN1";
  CHECK_FALSE(load("is damaged (shorter"));
  CHECK(load("corpus cache: mapped"));

  // Another tokenizer scheme keeps its own cache beside it.
  options.scheme = "seed";
  std::ostringstream said;
  CHECK_FALSE(model::load_corpus(options, said).store->mapped());
  CHECK(said.str().find("corpus cache: wrote") != std::string::npos);
  for (const auto& dir : {data, cache}) std::filesystem::remove_all(dir);
}

TEST_CASE("corpus: no damage to a cache file is trusted: random flips, cuts and forged header fields") {
  const auto data = testing::write_small_corpus("damage_corpus");
  const auto cache = temp_dir("damage_cache");
  model::CorpusOptions options;
  options.paths = {data};
  options.scheme = "event";
  options.transpose = 2;
  options.val_split = 0.34;
  options.cache_dir = cache;
  std::ostringstream log;
  const model::Corpus read = model::load_corpus(options, log);
  std::filesystem::path file;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) file = entry.path();
  const std::string good = text_of(file);
  std::mt19937 rng(16);
  int trusted = 0;
  for (int k = 0; k < 120; ++k) {
    std::string bad = good;
    switch (k % 4) {
      case 0: bad[rng() % bad.size()] ^= static_cast<char>(1 << (rng() % 8)); break;
      case 1: bad.resize(rng() % bad.size()); break;
      case 2: bad[rng() % 96] ^= static_cast<char>(1 + rng() % 255); break;  // one header byte
      default: {  // a whole header field, huge or random (counts that would allocate terabytes)
        const uint64_t v = k % 3 == 0 ? ~0ull : rng();
        std::memcpy(&bad[8 * (2 + rng() % 10)], &v, 8);
      }
    }
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bad;
    std::ostringstream said;
    const model::Corpus c = model::load_corpus(options, said);  // throws nothing: rebuilt
    CAPTURE(k);
    CHECK(c.vocab == read.vocab);
    CHECK(c.val == read.val);
    trusted += said.str().find("corpus cache: mapped") != std::string::npos;
  }
  CHECK(trusted == 0);
  for (const auto& dir : {data, cache}) std::filesystem::remove_all(dir);
}

TEST_CASE("corpus: refused files are named from the cache as from the files") {
  const auto data = testing::write_small_corpus("refused_corpus");
  std::ofstream(data / "broken.mid", std::ios::binary) << "MThd garbage";
  const auto cache = temp_dir("refused_cache");
  model::CorpusOptions options;
  options.paths = {data};
  options.scheme = "event";
  options.cache_dir = cache;
  for (int run = 0; run < 2; ++run) {
    std::ostringstream said;
    const model::Corpus c = model::load_corpus(options, said);
    CAPTURE(said.str());
    CHECK(said.str().find("1 refused (broken.mid: byte") != std::string::npos);
    CHECK(c.files_skipped == 1);
    CHECK(c.files_loaded == 3);
  }
  for (const auto& dir : {data, cache}) std::filesystem::remove_all(dir);
}

TEST_CASE("windows: an epoch's order is a permutation of its windows, another for another key") {
  for (const uint64_t n : {1ull, 2ull, 3ull, 5ull, 17ull, 1000ull, 4097ull}) {
    CAPTURE(n);
    const model::Permutation a(n, 7), b(n, 8);
    std::set<uint64_t> seen;
    int same_place = 0;
    for (uint64_t i = 0; i < n; ++i) {
      seen.insert(a(i));
      same_place += a(i) == b(i);
    }
    CHECK(seen.size() == n);
    CHECK(*seen.rbegin() == n - 1);
    if (n >= 1000) CHECK(same_place < static_cast<int>(n / 50));
  }
}

TEST_CASE("corpus: a cache with a right checksum but codes or pieces outside their sections is refused") {
  const auto dir = temp_dir("forged_cache");
  auto forged = [&](uint32_t code, uint8_t highest) {
    model::TokenStore store;
    store.alphabet = {"N60", "N62"};
    store.moves = {1, 1};
    store.files = {"a.mid"};
    store.pieces.push_back({});
    store.pieces[0].length = 3;
    store.pieces[0].lowest = 60;
    store.pieces[0].highest = highest;
    store.set_codes({0, 1, code});
    store.save(dir / "forged.tokens", 7);
    std::string why;
    const bool mapped = model::TokenStore::map(dir / "forged.tokens", 7, why) != nullptr;
    return mapped ? std::string("mapped") : why;
  };
  CHECK(forged(1, 62) == "mapped");
  CHECK(forged(2, 62) == "damaged (token codes)");
  CHECK(forged(1, 200) == "damaged (pieces)");  // a pitch range past 127 would make shifts negative
  std::filesystem::remove_all(dir);
}
