// The composition pipeline (model::compose_pieces, model/composition.h): where the music starts,
// its key and ensemble drawn in the documented order, and the hooks.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

#include "live_checkpoint.h"
#include "midi/writer.h"
#include "model/composition.h"
#include "score_builder.h"
#include "temp_dir.h"

using namespace legato;

namespace {

int32_t id(const model::CheckpointMeta& meta, const std::string& token) {
  const auto at = std::find(meta.vocab.begin(), meta.vocab.end(), token);
  REQUIRE(at != meta.vocab.end());
  return static_cast<int32_t>(at - meta.vocab.begin());
}

// An event checkpoint trained in C's key signature on pieces in several keys and two ensembles,
// so that both draws (key and ensemble) take numbers from the stream.
model::CheckpointMeta keyed_meta() {
  model::CheckpointMeta meta = testing::live_meta();
  meta.keys = {1, 0, 2, 0, 3, 1, 0, 2, 0, 1, 0, 1};
  meta.ensembles = {{id(meta, "I0")}, {id(meta, "I0"), id(meta, "IDRUMS")}};
  return meta;
}

// Tokens by name.
std::vector<int32_t> ids(const model::CheckpointMeta& meta, const std::vector<std::string>& tokens) {
  std::vector<int32_t> out;
  for (const auto& t : tokens) out.push_back(id(meta, t));
  return out;
}

}  // namespace

TEST_CASE("composition pipeline: one seed gives the same pieces, each drawn key, ensemble, tokens in order") {
  const model::CheckpointMeta meta = keyed_meta();
  const model::MusicLSTM net(meta.config);
  model::CompositionRequest r;
  r.length = {40, 0};
  r.count = 3;
  r.seed = 11;
  const std::vector<model::ComposedPiece> a = model::compose_pieces(net, meta, r);
  REQUIRE(a.size() == 3);
  // The order composer, legato-serve and the Python module have always drawn in, from one stream.
  std::mt19937_64 rng(11);
  std::set<int> shifts;
  for (const model::ComposedPiece& piece : a) {
    const int shift = model::draw_key_shift(meta.keys, rng);
    const std::vector<int32_t> start = model::piece_primer(meta, {id(meta, "BOS")}, {}, rng);
    CHECK(piece.shift == shift);
    CHECK(piece.primer == start);
    CHECK(piece.context.empty());
    CHECK(piece.generated == model::compose_piece(net, meta, start, r.length, r.sampling, rng));
    // Without a user's primer the score holds the generated music alone.
    CHECK(piece.score.notes.size() ==
          model::score_of(meta.scheme, meta.vocab, piece.generated, 0, piece.shift).notes.size());
    shifts.insert(piece.shift);
  }
  // The trainer's order: the ensemble before the key.
  r.ensemble_before_key = true;
  rng.seed(11);
  for (const model::ComposedPiece& piece : model::compose_pieces(net, meta, r)) {
    const std::vector<int32_t> start = model::piece_primer(meta, {id(meta, "BOS")}, {}, rng);
    CHECK(piece.shift == model::draw_key_shift(meta.keys, rng));
    CHECK(piece.primer == start);
    CHECK(piece.generated == model::compose_piece(net, meta, start, r.length, r.sampling, rng));
  }
  // A chosen ensemble and key are taken, not drawn.
  r.ensemble = {id(meta, "IDRUMS")};
  r.key_shift = 4;
  for (const model::ComposedPiece& piece : model::compose_pieces(net, meta, r)) {
    CHECK(piece.shift == 4);
    CHECK(piece.primer == ids(meta, {"BOS", "IDRUMS"}));
  }
}

TEST_CASE("composition pipeline: a user's tokens stay in the network's key, music goes back to its own") {
  const model::CheckpointMeta meta = keyed_meta();
  const model::MusicLSTM net(meta.config);
  model::CompositionRequest r;
  r.length = {30, 0};
  r.count = 2;
  r.primer.source = model::PrimerSource::Tokens;
  r.primer.tokens = ids(meta, {"BOS", "I0", "P0", "N60", "D4", "T4", "N64", "D4", "T4", "EOS"});
  for (const model::ComposedPiece& piece : model::compose_pieces(net, meta, r)) {
    CHECK(piece.shift == 0);
    CHECK(piece.primer == std::vector<int32_t>(r.primer.tokens.begin(), r.primer.tokens.end() - 1));  // EOS dropped
    std::vector<int32_t> heard = piece.primer;
    heard.insert(heard.end(), piece.generated.begin(), piece.generated.end());
    CHECK(piece.score.notes.size() == model::score_of(meta.scheme, meta.vocab, heard).notes.size());  // it sounds
  }
  r.primer.in_output = false;  // composer --no-primer-in-output
  for (const model::ComposedPiece& piece : model::compose_pieces(net, meta, r))
    CHECK(piece.score.notes.size() == model::score_of(meta.scheme, meta.vocab, piece.generated).notes.size());
  // Music moved by +3 into C for the network goes back down; longer than a window, its end
  // leads in, with the context naming its ensemble and instrument.
  r.primer.source = model::PrimerSource::Music;
  r.primer.encoded_shift = 3;
  r.primer.tokens = ids(meta, {"BOS", "I0", "P0"});
  for (int k = 0; k < 40; ++k) r.primer.tokens.push_back(id(meta, "N60")), r.primer.tokens.push_back(id(meta, "D4"));
  for (const model::ComposedPiece& piece : model::compose_pieces(net, meta, r)) {
    CHECK(piece.shift == -3);
    CHECK(piece.primer.size() == size_t(meta.seq_len));
    CHECK(piece.context == ids(meta, {"BOS", "I0", "P0"}));
    CHECK(piece.all().size() == piece.context.size() + piece.primer.size() + piece.generated.size());
  }
}

TEST_CASE("composition pipeline: primers from a line of tokens and from a MIDI file, as every program reads them") {
  const model::CheckpointMeta meta = keyed_meta();
  const std::vector<int32_t> tokens = ids(meta, {"BOS", "I0", "P0", "N60", "D4"});
  // composer --tokens-out writes the line --primer-tokens (and miditool tokens, with a name) reads.
  const std::string line = model::tokens_line({{tokens[0], tokens[1]}, {tokens[2], tokens[3], tokens[4]}}, meta.vocab);
  CHECK(line == "BOS I0 P0 N60 D4");
  for (const std::string& given : {line, "piece.mid\t" + line}) {
    const model::Primer p = model::tokens_primer_of_line(given, meta);
    CHECK(p.source == model::PrimerSource::Tokens);
    CHECK(p.tokens == tokens);
  }
  try {
    model::tokens_primer_of_line("BOS N60 X99", meta);
    FAIL("a token the checkpoint lacks was taken");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).rfind("'X99' is not a token of the checkpoint", 0) == 0);
    CHECK(std::string(e.what()).find("miditool tokens --scheme event") != std::string::npos);
  }
  // A MIDI file: its notes encoded (in C's key for this network, which learnt there); a file
  // without notes gives no note token, and one that cannot be read nothing (each caller's error).
  const auto dir = testing::temp_dir("music_primer");
  midi::write_midi_file(testing::scale_piece(3, false, 24), dir / "in_e_flat.mid");
  std::ostringstream log;
  const model::Primer music = model::music_primer_of_file(dir / "in_e_flat.mid", meta, log);
  CHECK(music.source == model::PrimerSource::Music);
  CHECK(music.tokens.size() > 24);
  CHECK(music.encoded_shift == -3);
  midi::Score silent;
  silent.ticks_per_quarter = 480;
  midi::write_midi_file(silent, dir / "silent.mid");
  for (int32_t t : model::music_primer_of_file(dir / "silent.mid", meta, log).tokens)
    CHECK(meta.vocab[size_t(t)].rfind("N", 0) != 0);
  std::ofstream(dir / "text.mid") << "not a MIDI file";
  CHECK(model::music_primer_of_file(dir / "text.mid", meta, log).tokens.empty());
}

TEST_CASE("composition pipeline: training windows, drawn once or piece by piece; what cannot be composed") {
  model::CheckpointMeta meta = keyed_meta();
  const model::MusicLSTM net(meta.config);
  meta.primers = {ids(meta, {"N60", "D4"}), ids(meta, {"N64", "D4"}), ids(meta, {"N67", "D4"})};
  model::CompositionRequest r;
  r.length = {5, 0};
  r.count = 4;
  r.seed = 3;
  std::mt19937_64 rng(3);
  const auto drawn = meta.primers[std::uniform_int_distribution<size_t>(0, 2)(rng)];
  for (const model::ComposedPiece& piece : model::compose_pieces(net, meta, r)) CHECK(piece.primer == drawn);
  r.primer.source = model::PrimerSource::Corpus;  // the trainer's: piece k from window corpus_piece + k
  r.primer.corpus_piece = 1;
  const std::vector<model::ComposedPiece> pieces = model::compose_pieces(net, meta, r);
  for (size_t k = 0; k < pieces.size(); ++k) CHECK(pieces[k].primer == meta.primers[(1 + k) % 3]);
  // Nothing to start from, a primer of nothing but EOS, no pieces: a line, and compose_pieces throws it.
  r.primer.source = model::PrimerSource::Tokens;
  r.primer.tokens = ids(meta, {"EOS"});
  CHECK(model::composition_problem(meta, r) == "no token before the end (EOS): give a beginning");
  CHECK_THROWS_AS(model::compose_pieces(net, meta, r), std::invalid_argument);
  r.primer = {};
  r.count = 0;
  CHECK(model::composition_problem(meta, r) == "no pieces asked for (count 0)");
  r.count = 1;
  meta.primers.clear();
  meta.vocab[size_t(id(meta, "BOS"))] = "XBOS";
  CHECK(model::composition_problem(meta, r) == "the checkpoint has no primer windows and no BOS token");
}

TEST_CASE("composition pipeline: the hooks see each piece's key first and may stop early") {
  const model::CheckpointMeta meta = keyed_meta();
  const model::MusicLSTM net(meta.config);
  model::CompositionRequest r;
  // start sees each piece's key before it is composed; its listener and done may stop early.
  r.count = 3;
  r.length = {50, 0};
  std::vector<int> started;
  model::CompositionHooks hooks;
  hooks.start = [&](int k, int shift) -> model::TokenListener {
    started.push_back(shift);
    return [k](const std::vector<int32_t>& generated) { return k != 0 || generated.size() < 3; };
  };
  std::vector<model::ComposedPiece> done;
  hooks.done = [&](model::ComposedPiece& piece) {
    done.push_back(piece);
    return done.size() < 2;
  };
  model::compose_pieces(net, meta, r, hooks);
  REQUIRE(done.size() == 2);
  CHECK(started == std::vector<int>{done[0].shift, done[1].shift});
  CHECK(done[0].generated.size() == 3);
  CHECK(done[1].index == 1);
}
