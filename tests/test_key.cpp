// Training in one key (trainer --normalise-key): a piece's key signature, the corpus moved to C's
// around which it is transposed, the counts of keys the checkpoint keeps, and composed music moved
// back into a key drawn from them.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <sstream>

#include "corpus/corpus.h"
#include "midi/key.h"
#include "midi/tokenizer.h"
#include "midi/writer.h"
#include "model/checkpoint.h"
#include "model/composition.h"
#include "model/encoding.h"
#include "score_builder.h"
#include "temp_dir.h"

using namespace legato;
using legato::testing::make_note;
using legato::testing::scale_piece;

namespace {

std::vector<int> pitches_of(const midi::Score& score) {
  std::vector<int> out;
  for (const midi::Note& n : score.notes)
    if (!n.is_drum()) out.push_back(n.pitch);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("key: a piece's key signature, and the nearer way to C's") {
  for (int tonic = 0; tonic < 12; ++tonic) {
    CAPTURE(tonic);
    CHECK(midi::key_signature(scale_piece(tonic, false)) == tonic);
    CHECK(midi::key_signature(scale_piece((tonic + 9) % 12, true)) == tonic);  // a minor key is its relative major's
  }
  CHECK(midi::key_signature(midi::Score{}) == -1);
  midi::Score drums;
  drums.notes.push_back(make_note(38, 0, 100, midi::kDrumChannel));
  CHECK(midi::key_signature(drums) == -1);  // drums have no key
  midi::Score fifth;                        // C and G: in the scales of C, F and G; the lowest tonic wins the tie
  fifth.notes = {make_note(60, 0, 100), make_note(67, 0, 100)};
  CHECK(midi::key_signature(fifth) == 0);

  const std::map<int, int> expected = {{0, 0},  {1, -1}, {2, -2}, {3, -3}, {4, -4}, {5, -5},
                                       {6, -6}, {7, 5},  {8, 4},  {9, 3},  {10, 2}, {11, 1}};
  for (const auto& [tonic, shift] : expected) {
    CAPTURE(tonic);
    CHECK(midi::shift_to_c(tonic) == shift);
    CHECK(midi::key_signature(*midi::transpose(scale_piece(tonic, false), shift)) == 0);
  }
}

TEST_CASE("key: a corpus trained in one key: every piece moved to C's, transposed around it") {
  const auto dir = testing::temp_dir("key_corpus");
  // Key signatures D, B flat, E minor (G), A flat, and A flat too high to move up by 4.
  const std::vector<midi::Score> scores = {scale_piece(2, false), scale_piece(10, false), scale_piece(4, true),
                                           scale_piece(8, false), scale_piece(8, false, 60, 96)};
  for (size_t k = 0; k < scores.size(); ++k)
    midi::write_midi_file(scores[k], dir / ("piece" + std::to_string(k) + ".mid"));
  const std::vector<int> home = {-2, 2, 5, 4, 4};  // by piece, in file order
  std::ostringstream log;
  model::CorpusOptions options;
  options.paths = {dir};
  options.scheme = "event";
  options.transpose = 1;
  options.normalise_key = true;
  options.val_split = 0.2;  // one piece held out
  const model::Corpus corpus = model::load_corpus(options, log);
  REQUIRE(corpus.train.size() == 4);
  REQUIRE(corpus.val.size() == 1);
  CHECK(corpus.max_shift == 7);
  const auto tokenizer = midi::make_tokenizer("event");
  std::array<int64_t, 12> keys{};
  for (const model::TrainPiece& p : corpus.train) {
    CAPTURE(p.piece);
    ++keys[static_cast<size_t>(midi::key_signature(scores[p.piece]))];
    const int highest_allowed = 127 - pitches_of(scores[p.piece]).back();
    const int h = std::min(home[p.piece], highest_allowed);  // as near to C's as the notes allow
    CHECK(p.lowest == h - 1);
    CHECK(p.highest == std::min(h + 1, highest_allowed));
    for (int shift = p.lowest; shift <= p.highest; ++shift) {
      CAPTURE(shift);
      const std::vector<std::string> expected = tokenizer->tokenize(*midi::transpose(scores[p.piece], shift));
      std::vector<std::string> got;
      for (int64_t k = 0; k < corpus.length(p); ++k) got.push_back(corpus.vocab[corpus.id(p, shift, k)]);
      CHECK(got == expected);
    }
  }
  CHECK(corpus.keys == keys);
  // The held-out piece is moved to C's key signature too, and encode_files moves a file the same way.
  std::vector<size_t> val_piece;
  for (size_t k = 0; k < scores.size(); ++k)
    if (std::none_of(corpus.train.begin(), corpus.train.end(), [&](const auto& p) { return p.piece == k; }))
      val_piece.push_back(k);
  REQUIRE(val_piece.size() == 1);
  const std::filesystem::path val_file = dir / ("piece" + std::to_string(val_piece[0]) + ".mid");
  std::vector<int> shifts;
  const auto encoded = model::encode_files({val_file}, "event", corpus.vocab, log, true, &shifts);
  REQUIRE(shifts.size() == 1);
  CHECK(shifts[0] == std::min(home[val_piece[0]], 127 - pitches_of(scores[val_piece[0]]).back()));
  CHECK(encoded[0] == corpus.val[0]);
  CHECK(midi::key_signature(tokenizer->detokenize([&] {
          std::vector<std::string> text;
          for (int32_t id : corpus.val[0]) text.push_back(corpus.vocab[static_cast<size_t>(id)]);
          return text;
        }())) == 0);

  // Without normalise_key nothing moves: shifts around 0, no keys counted.
  options.normalise_key = false;
  const model::Corpus as_written = model::load_corpus(options, log);
  CHECK(as_written.max_shift == 1);
  for (const model::TrainPiece& p : as_written.train) CHECK(p.lowest == -1);
  CHECK(as_written.keys == std::array<int64_t, 12>{});
  std::filesystem::remove_all(dir);
}

TEST_CASE("key: composed music goes into a key drawn from the corpus's, and checkpoints keep the counts") {
  std::mt19937_64 rng(5);
  CHECK(model::draw_key_shift({}, rng) == 0);
  CHECK(rng() == std::mt19937_64(5)());  // no key, no draw: the music's random stream is untouched
  std::vector<int64_t> keys(12, 0);
  keys[2] = 3;   // D: +2
  keys[7] = 1;   // G: -5
  keys[11] = 0;  // B: never
  std::map<int, int> drawn;
  for (int k = 0; k < 4000; ++k) ++drawn[model::draw_key_shift(keys, rng)];
  CHECK(drawn.size() == 2);
  CHECK(drawn[2] == doctest::Approx(3000).epsilon(0.05));
  CHECK(drawn[-5] == doctest::Approx(1000).epsilon(0.15));

  // The score of tokens, moved; where a note would leave 0..127, an octave less.
  const std::vector<std::string> vocab = {"BOS", "N60", "N124", "D4", "T4"};
  const auto plain = model::score_of("event", vocab, {1, 3, 4, 2, 3}, 0, 0);
  REQUIRE(pitches_of(plain) == std::vector<int>{60, 124});
  CHECK(pitches_of(model::score_of("event", vocab, {1, 3, 4, 2, 3}, 0, 2)) == std::vector<int>{62, 126});
  CHECK(pitches_of(model::score_of("event", vocab, {1, 3, 4, 2, 3}, 0, 6)) == std::vector<int>{54, 118});
  CHECK(pitches_of(model::score_of("event", vocab, {1, 3, 4, 2, 3}, 0, -5)) == std::vector<int>{55, 119});

  model::CheckpointMeta meta;
  meta.scheme = "event";
  meta.keys = keys;
  model::CheckpointMeta back;
  model::config_from_json(model::config_to_json(meta), back);
  CHECK(back.keys == keys);
  meta.keys.clear();
  CHECK(model::config_to_json(meta).find("keys") == std::string::npos);  // files of other runs are unchanged
  for (const std::vector<int64_t>& bad : {std::vector<int64_t>(11, 1), std::vector<int64_t>(12, 0),
                                          std::vector<int64_t>{1, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}) {
    meta.keys = bad;
    CHECK_THROWS_WITH(model::config_from_json(model::config_to_json(meta), back), doctest::Contains("12 piece counts"));
  }
}
