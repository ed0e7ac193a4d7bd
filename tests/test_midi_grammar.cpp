// The event scheme's grammar (midi/grammar.h), its ensemble header, and composing with both:
// sampling stays inside the grammar and the ensemble, old (version 1) checkpoints compose as before.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>
#include <set>

#include "midi/grammar.h"
#include "midi/hands.h"
#include "midi/tokenizer_event.h"
#include "midi/writer.h"
#include "model/checkpoint.h"
#include "model/composition.h"
#include "render/instruments.h"
#include "temp_dir.h"

using namespace legato;
using legato::testing::temp_dir;
using Tokens = std::vector<std::string>;

namespace {

// Every token of a small event vocabulary: a few pitches, the shifts and durations the grid
// writes, three programs, drums and their header tokens.
Tokens event_vocab() {
  Tokens v = {"UNK", "BOS", "EOS", "DRUMS", "IDRUMS"};
  // Appended, not "P" + std::to_string(p): GCC 12 warns falsely about that.
  auto tagged = [&](const char* tag, int value) { v.push_back(tag), v.back() += std::to_string(value); };
  for (int p : {0, 32, 48}) tagged("P", p), tagged("I", p);
  for (int n : {36, 48, 60, 64, 67}) tagged("N", n);
  for (int t : {3, 6, 12, 18, 48}) tagged("T", t);
  for (int d : {3, 6, 12, 24, 96}) tagged("D", d);
  return v;
}

int32_t id(const Tokens& vocab, const std::string& token) {
  const auto at = std::find(vocab.begin(), vocab.end(), token);
  REQUIRE(at != vocab.end());
  return static_cast<int32_t>(at - vocab.begin());
}

midi::EventGrammar grammar_after(const Tokens& vocab, const Tokens& tokens, int version = 2) {
  midi::EventOptions options;
  options.version = version;
  midi::EventGrammar g(vocab, options);
  for (const auto& t : tokens) g.feed(id(vocab, t));
  return g;
}

// The tokens of `vocab` the grammar allows next.
std::set<std::string> allowed(const Tokens& vocab, const midi::EventGrammar& g) {
  std::set<std::string> out;
  for (size_t k = 0; k < vocab.size(); ++k)
    if (g.allows(static_cast<int32_t>(k))) out.insert(vocab[k]);
  return out;
}

// A piece of piano (program 0), bass (32) and drums as notes: chords, a rest longer than one
// shift token, a note longer than one duration token.
midi::Score band() {
  midi::Score s;
  s.ticks_per_quarter = 480;
  auto note = [&](int program, int channel, int pitch, int64_t start, int64_t duration) {
    midi::Note n;
    n.program = program;
    n.channel = channel;
    n.pitch = pitch;
    n.velocity = 80;
    n.start_tick = start;
    n.duration_ticks = duration;
    s.notes.push_back(n);
  };
  note(0, 0, 60, 0, 480);
  note(0, 0, 64, 0, 480);
  note(32, 1, 36, 0, 960);
  note(0, 9, 36, 240, 120);
  note(0, 0, 67, 480 * 6, 480 * 10);  // 66 steps after the drum (T48 T18), 120 steps long (D96 D24)
  return s;
}

model::CheckpointMeta event_meta(const std::string& scheme) {
  model::CheckpointMeta meta;
  meta.scheme = scheme;
  meta.objective = "all";
  meta.vocab = event_vocab();
  meta.config.vocab = static_cast<int64_t>(meta.vocab.size());
  meta.config.input = model::InputKind::Embedding;
  meta.config.embedding_dim = 8;
  meta.config.hidden = 16;
  meta.config.layers = 1;
  meta.config.dense = 16;
  return meta;
}

// Whether `tokens` (from BOS) is a sequence the grammar accepts token by token.
bool follows_grammar(const Tokens& vocab, const std::vector<int32_t>& tokens) {
  midi::EventGrammar g(vocab, midi::EventOptions{});
  for (int32_t t : tokens) {
    if (!g.allows(t)) return false;
    g.feed(t);
  }
  return true;
}

}  // namespace

TEST_CASE("grammar: the event scheme begins with the ensemble, and every token it writes is allowed") {
  const midi::EventTokenizer tok;
  const Tokens t = tok.tokenize(band());
  REQUIRE(t.size() > 5);
  CHECK(Tokens(t.begin(), t.begin() + 4) == Tokens{"BOS", "IDRUMS", "I0", "I32"});
  CHECK(tok.grid_notes(tok.detokenize(t)) == tok.grid_notes(band()));  // the header carries no note
  const Tokens vocab = event_vocab();
  std::vector<int32_t> ids;
  for (const auto& s : t) ids.push_back(id(vocab, s));
  CHECK(follows_grammar(vocab, ids));
  // Version 1 writes no header, and its tokens are version 2's without it.
  midi::EventOptions v1;
  v1.version = 1;
  Tokens old = midi::EventTokenizer(v1).tokenize(band());
  old.insert(old.begin() + 1, t.begin() + 1, t.begin() + 4);
  CHECK(old == t);
  CHECK(midi::make_tokenizer("event:1")->scheme() == "event:1");
}

TEST_CASE("grammar: masks what cannot come next") {
  const Tokens v = event_vocab();
  using S = std::set<std::string>;
  CHECK(allowed(v, grammar_after(v, {})) == S{"BOS"});
  CHECK(allowed(v, grammar_after(v, {"BOS"})) == S{"IDRUMS", "I0", "I32", "I48"});  // an ensemble first
  // The header ascends; then the music starts with a shift or an instrument of the ensemble.
  CHECK(allowed(v, grammar_after(v, {"BOS", "I0"})) == S{"I32", "I48", "P0", "T3", "T6", "T12", "T18", "T48"});
  midi::EventGrammar closed = grammar_after(v, {"BOS", "I0"});
  closed.close_header();  // the ensemble given is all of it
  CHECK(allowed(v, closed) == S{"P0", "T3", "T6", "T12", "T18", "T48"});
  // A note needs an instrument, a duration a note; EOS comes after a whole note.
  const S after_shift = allowed(v, grammar_after(v, {"BOS", "I0", "I32", "T12"}));
  CHECK(after_shift == S{"P0", "P32"});
  CHECK(allowed(v, grammar_after(v, {"BOS", "I0", "I32", "P32"})) == S{"N36", "N48", "N60", "N64", "N67"});
  CHECK(allowed(v, grammar_after(v, {"BOS", "I0", "P0", "N60"})) == S{"D3", "D6", "D12", "D24", "D96"});
  const S after_note = allowed(v, grammar_after(v, {"BOS", "I0", "I32", "P0", "N60", "D12"}));
  CHECK(after_note == S{"EOS", "P32", "N36", "N48", "N60", "N64", "N67", "T3", "T6", "T12", "T18", "T48"});
  // Only the longest shift or duration goes on with another.
  CHECK(allowed(v, grammar_after(v, {"BOS", "I0", "P0", "N60", "D96"})).count("D3") == 1);
  CHECK(allowed(v, grammar_after(v, {"BOS", "I0", "P0", "N60", "D12"})).count("D3") == 0);
  CHECK(allowed(v, grammar_after(v, {"BOS", "I0", "T48"})).count("T3") == 1);
  CHECK(allowed(v, grammar_after(v, {"BOS", "I0", "T12"})).count("T3") == 0);
  // EOS waits for the piece's minimum length.
  midi::EventGrammar g = grammar_after(v, {"BOS", "I0", "P0", "N60", "D12"});
  g.set_min_steps(12);
  CHECK_FALSE(g.allows(id(v, "EOS")));
  g.feed(id(v, "T12"));
  g.feed(id(v, "N60"));
  g.feed(id(v, "D12"));
  CHECK(g.now() == 12);
  CHECK(g.allows(id(v, "EOS")));
  // mask() writes what allows() says.
  std::vector<float> logits(v.size(), 1.0f);
  grammar_after(v, {"BOS", "I0", "P0", "N60"}).mask(logits.data());
  for (size_t k = 0; k < v.size(); ++k) CHECK((logits[k] > 0) == (v[k].front() == 'D' && v[k] != "DRUMS"));
  // A primer cut mid-piece (no BOS) names no ensemble: any instrument may follow.
  CHECK(allowed(v, grammar_after(v, {"N60", "D12"})).count("P48") == 1);
}

TEST_CASE("grammar: the ensemble takes the probability of the instruments masked outside it") {
  const Tokens v = event_vocab();
  // Piano and bass, drums playing: after a drum note the network may change to any program of
  // its vocabulary; P48 (strings) is outside the ensemble.
  const midi::EventGrammar g = grammar_after(v, {"BOS", "IDRUMS", "I0", "I32", "DRUMS", "N36", "D3"});
  std::vector<float> logits(v.size());
  for (size_t k = 0; k < v.size(); ++k) logits[k] = 0.1f * static_cast<float>(k % 7);  // uneven
  logits[size_t(id(v, "P48"))] = 2.0f;  // the network's favourite instrument is not in the piece
  // Probabilities before: softmax over what may come next and the instruments outside the ensemble.
  auto softmax_over = [&](const std::vector<float>& z, auto&& keep) {
    std::vector<double> p(z.size(), 0.0);
    double total = 0;
    for (size_t k = 0; k < z.size(); ++k)
      if (keep(k)) total += p[k] = std::exp(double(z[k]));
    for (double& x : p) x /= total;
    return p;
  };
  const auto before = softmax_over(logits, [&](size_t k) { return g.allows(int32_t(k)) || v[k] == "P48"; });
  std::vector<float> masked = logits;
  g.mask(masked.data());
  const auto after = softmax_over(masked, [&](size_t k) { return masked[k] > -1e29f; });
  CHECK(masked[size_t(id(v, "P48"))] <= -1e29f);
  const size_t p0 = size_t(id(v, "P0")), p32 = size_t(id(v, "P32")), p48 = size_t(id(v, "P48"));
  // Changing instrument keeps its probability, split between piano and bass as the network split them.
  CHECK(after[p0] + after[p32] == doctest::Approx(before[p0] + before[p32] + before[p48]).epsilon(1e-5));
  CHECK(after[p0] / after[p32] == doctest::Approx(before[p0] / before[p32]).epsilon(1e-5));
  // Everything else keeps its own.
  for (const char* t : {"N36", "T3", "T12", "EOS"})
    CHECK(after[size_t(id(v, t))] == doctest::Approx(before[size_t(id(v, t))]).epsilon(1e-5));
  // Where no instrument may come next, or none is outside the ensemble, masking is all it does.
  for (const Tokens& fed : {Tokens{"BOS", "I0", "P0", "N60"},
                            Tokens{"BOS", "IDRUMS", "I0", "I32", "I48", "P0", "N60", "D3"}, Tokens{"N60", "D12"}}) {
    std::vector<float> z = logits;
    grammar_after(v, fed).mask(z.data());
    for (size_t k = 0; k < v.size(); ++k) CHECK((z[k] == logits[k] || z[k] <= -1e29f));
  }
}

TEST_CASE("composition: sampled pieces keep the grammar and the ensemble") {
  const model::CheckpointMeta meta = event_meta("event");
  model::MusicLSTM net(meta.config);  // untrained: left alone it writes any token
  const Tokens& v = meta.vocab;
  const std::vector<int32_t> primer = {id(v, "BOS"), id(v, "I0"), id(v, "I32")};
  model::SamplingOptions hot;
  hot.temperature = 3.0;  // flatter still, so that every kind of token is tried
  std::mt19937_64 rng(7);
  std::set<std::string> programs;
  for (int piece = 0; piece < 20; ++piece) {
    const std::vector<int32_t> out = model::compose_piece(net, meta, primer, {400, 0}, hot, rng);
    std::vector<int32_t> all = primer;
    all.insert(all.end(), out.begin(), out.end());
    CHECK(follows_grammar(v, all));
    for (int32_t t : out)
      if (v[size_t(t)].front() == 'P' || v[size_t(t)] == "DRUMS") programs.insert(v[size_t(t)]);
    CHECK(model::ensemble_of(meta, all) == std::vector<int>{0, 32});
  }
  CHECK(programs == std::set<std::string>{"P0", "P32"});
  // A primer cut from the middle of a piece of piano and strings: given its context, the music
  // stays in that ensemble, and the network is fed the window alone.
  std::vector<int32_t> long_piece = {id(v, "BOS"), id(v, "I0"), id(v, "I48"), id(v, "P48")};
  for (int k = 0; k < 40; ++k) long_piece.push_back(id(v, "N60")), long_piece.push_back(id(v, "D12"));
  const model::PrimerWindow cut = model::primer_window(meta, long_piece, 16);
  REQUIRE(cut.tokens.front() != id(v, "BOS"));
  programs.clear();
  for (int piece = 0; piece < 20; ++piece) {
    std::vector<std::string> named;  // the program tokens in order
    for (int32_t t : model::compose_piece(net, meta, cut.tokens, {400, 0}, hot, rng, {}, cut.context))
      if (v[size_t(t)].front() == 'P' || v[size_t(t)] == "DRUMS") named.push_back(v[size_t(t)]);
    if (!named.empty()) CHECK(named[0] == "P0");  // the strings play at the cut: a change is to the piano
    programs.insert(named.begin(), named.end());
  }
  CHECK(programs == std::set<std::string>{"P0", "P48"});
  // On the GPU too a version-2 piece is stepped, and composer says so.
  CHECK(model::generation_of(net, meta).rfind("stepped token by token: the event grammar", 0) == 0);
  // --bars: the piece lasts its length, EOS never earlier.
  for (int piece = 0; piece < 20; ++piece) {  // enough pieces that some end in a rest
    const std::vector<int32_t> two_bars = model::compose_piece(net, meta, primer, {100000, 96}, hot, rng);
    midi::EventGrammar g(v, midi::EventOptions{});
    for (int32_t t : primer) g.feed(t);
    auto long_enough = [&] { return g.now() >= 96 && g.music_end() >= 96; };
    REQUIRE(!two_bars.empty());
    for (size_t k = 0; k + 1 < two_bars.size(); ++k) {
      g.feed(two_bars[k]);
      CHECK_FALSE(long_enough());  // it goes on while the piece is shorter
    }
    g.feed(two_bars.back());
    CHECK(long_enough());  // and stops as soon as the time and the music reach the length
  }
}

TEST_CASE("composition: a network that favours an instrument outside the ensemble still changes instrument") {
  const model::CheckpointMeta meta = event_meta("event");
  model::MusicLSTM net(meta.config);
  const Tokens& v = meta.vocab;
  // Its favourite instrument is the strings (P48), outside the piece's piano and bass: the output
  // bias makes a change to the strings the likeliest token wherever an instrument may come.
  bool biased = false;
  for (nn::NamedTensor& p : net.parameters())
    if (p.name == "dense2.bias") p.tensor.data<float>()[id(v, "P48")] = 6.0f, biased = true;
  REQUIRE(biased);
  const std::vector<int32_t> primer = {id(v, "BOS"), id(v, "I0"), id(v, "I32")};
  std::mt19937_64 rng(11);
  // 400 tokens, no EOS before (a length far beyond them).
  const std::vector<int32_t> out = model::compose_piece(net, meta, primer, {400, 1000000}, {}, rng);
  // A finished note is followed by a change of instrument (to piano or bass) most of the time, as
  // the network means; masking the strings alone would leave about one change in ten.
  auto duration = [&](int32_t t) { return v[size_t(t)].front() == 'D' && v[size_t(t)] != "DRUMS"; };
  int notes = 0, changes = 0;
  for (size_t k = 1; k < out.size(); ++k) {
    if (!duration(out[k - 1]) || duration(out[k])) continue;  // not the token after a whole note
    ++notes;
    changes += v[size_t(out[k])].front() == 'P' || v[size_t(out[k])] == "DRUMS";
  }
  REQUIRE(notes > 20);
  CAPTURE(notes);
  CHECK(changes > notes / 2);
}

TEST_CASE("checkpoint: a config without scheme_version is event version 1 and composes as before") {
  model::CheckpointMeta meta = event_meta("event");
  model::config_from_json(model::config_to_json(meta), meta);
  CHECK(meta.scheme == "event");
  CHECK(model::config_to_json(meta).find("\"scheme_version\":2") != std::string::npos);
  // A file written before the ensemble header: "scheme":"event" and no version.
  const auto dir = temp_dir("old_ck");
  const model::CheckpointMeta old_meta = event_meta("event:1");
  const model::MusicLSTM net(old_meta.config);
  model::SafetensorsFile file = model::checkpoint_file(net, old_meta);
  std::string& config = file.metadata["legato.config"];
  const size_t at = config.find(",\"scheme_version\":1");
  REQUIRE(at != std::string::npos);
  config.erase(at, std::string(",\"scheme_version\":1").size());
  model::save_safetensors(dir / "old.safetensors", file);
  const model::LoadedCheckpoint back = model::load_checkpoint(dir / "old.safetensors");
  CHECK(back.meta.scheme == "event:1");
  // It composes exactly as compose() did before the grammar: same tokens from the same seed.
  const std::vector<int32_t> primer = {id(old_meta.vocab, "BOS")};
  std::mt19937_64 a(3), b(3);
  const auto before =
      model::compose(*back.net, primer, 200, {}, model::banned_tokens(old_meta.vocab), id(old_meta.vocab, "EOS"), a);
  CHECK(model::compose_piece(*back.net, back.meta, primer, {200, 0}, {}, b) == before);
  std::filesystem::remove_all(dir);
}

TEST_CASE("ensembles: names, header tokens, primers that keep the header, lengths in bars and seconds") {
  CHECK(render::parse_instruments("piano, acoustic bass, drums") == std::vector<int>{0, 32, -1});
  CHECK(render::parse_instruments("Electric Guitar (jazz),40") == std::vector<int>{26, 40});
  CHECK_THROWS_WITH(render::parse_instruments("piano, kazoo"), doctest::Contains("unknown instrument 'kazoo'"));
  CHECK_THROWS_WITH(render::parse_instruments("128"), doctest::Contains("Acoustic Grand Piano"));
  CHECK(render::ensemble_names({-1, 0}) == "Drums, Acoustic Grand Piano");
  const model::CheckpointMeta meta = event_meta("event");
  const Tokens& v = meta.vocab;
  CHECK(model::ensemble_tokens(meta, {32, -1, 0, 32}) ==
        std::vector<int32_t>{id(v, "IDRUMS"), id(v, "I0"), id(v, "I32")});
  CHECK_THROWS_WITH(model::ensemble_tokens(meta, {40}), doctest::Contains("no I40"));
  // A primer from a long file is its last tokens, as a training window cut from the middle; the
  // grammar's context is BOS, the header and the instrument playing at the cut.
  std::vector<int32_t> piece = {id(v, "BOS"), id(v, "I0"), id(v, "I32"), id(v, "P32")};
  for (int k = 0; k < 20; ++k) piece.push_back(id(v, "N60")), piece.push_back(id(v, "D12"));
  const model::PrimerWindow window = model::primer_window(meta, piece, 10);
  CHECK(window.tokens == std::vector<int32_t>(piece.end() - 10, piece.end()));
  CHECK(window.context == std::vector<int32_t>{id(v, "BOS"), id(v, "I0"), id(v, "I32"), id(v, "P32")});
  const model::PrimerWindow whole = model::primer_window(meta, piece, 100);  // a short piece is its own primer
  CHECK(whole.tokens == piece);
  CHECK(whole.context.empty());
  CHECK(model::steps_of_bars(2) == 96);           // 2 bars of 4 quarters, 12 steps each
  CHECK(model::steps_of_seconds(60, 0) == 1440);  // 120 quarters at 120 bpm
  CHECK(model::steps_of_seconds(60, 90) == 1080);
}

TEST_CASE("ensembles: one named track per instrument, the piano's two hands named") {
  midi::Score s = band();
  for (int k = 0; k < 8; ++k) {  // a piano part wide enough to split into two hands
    midi::Note n = s.notes[0];
    n.pitch = k % 2 ? 84 : 36;
    n.start_tick = 480 * (k + 1);
    s.notes.push_back(n);
  }
  REQUIRE(midi::split_hands(s) > 0);
  render::name_parts(s);
  const std::vector<uint8_t> bytes = midi::write_midi(s);
  const std::string text(bytes.begin(), bytes.end());
  for (const char* name :
       {"Acoustic Grand Piano (right hand)", "Acoustic Grand Piano (left hand)", "Acoustic Bass", "Drums"}) {
    const std::string meta = std::string("\xFF\x03") + char(std::string(name).size()) + name;
    CHECK_MESSAGE(text.find(meta) != std::string::npos, name);
  }
  CHECK(midi::read_midi(bytes, "named.mid").notes.size() == s.notes.size());  // names change no note
}
