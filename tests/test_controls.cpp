// Control tokens (issue 27 section 2, docs/controls.md): a piece's key (major or minor), its
// density class by the corpus's thirds and its style (top-level folder) in front of training
// windows, in the vocabulary and the checkpoint; composing under them, and the refusals.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <sstream>

#include "corpus/corpus.h"
#include "corpus/windows.h"
#include "midi/controls.h"
#include "midi/key.h"
#include "midi/reader.h"
#include "midi/writer.h"
#include "model/checkpoint.h"
#include "model/composition.h"
#include "model/controls.h"
#include "score_builder.h"
#include "small_training.h"
#include "temp_dir.h"

using namespace legato;
using legato::testing::scale_piece;

namespace {

// Two styles (folders), each with a major and a minor piece; piece k has k more notes at each
// onset, so the calm pieces are the low and mid density and the busy ones the high.
std::filesystem::path styled_corpus(const std::string& name) {
  const auto dir = testing::temp_dir(name);
  int k = 0;
  for (const char* style : {"calm", "busy"}) {
    std::filesystem::create_directories(dir / style);
    for (const bool minor : {false, true}) {
      midi::Score s = scale_piece(2 + 3 * k, minor, 120, 36);  // low enough for 3 octaves more
      for (size_t n = 0, end = s.notes.size(); n < end; ++n)
        for (int extra = 1; extra <= k; ++extra) {
          midi::Note note = s.notes[n];
          note.pitch = std::min(127, note.pitch + 12 * extra);
          s.notes.push_back(note);
        }
      std::stable_sort(s.notes.begin(), s.notes.end(),
                       [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
      std::string file = "p";  // appended: GCC 12 warns falsely about "p" + std::to_string(k)
      file += std::to_string(k++) + ".mid";
      midi::write_midi_file(s, dir / style / file);
    }
  }
  return dir;
}

// A tiny model trained on `dir` with every control (key, density, style), no validation split;
// its best checkpoint, read back (the run lies in dir / "run").
model::LoadedCheckpoint train_with_controls(const std::filesystem::path& dir,
                                            std::vector<std::string> controls = {"key", "density", "style"},
                                            const std::string& run = "run") {
  model::TrainOptions o = testing::small_training(dir, dir / run);
  o.recipe.seq_len = 24;
  o.recipe.val_split = 0;
  o.recipe.controls = std::move(controls);
  std::ostringstream log;
  REQUIRE(model::train(o, log) == 0);
  return model::load_checkpoint(dir / run / "best.safetensors");
}

}  // namespace

TEST_CASE("controls: a piece's key, major or minor, agrees with its key signature; names both ways") {
  for (int tonic = 0; tonic < 12; ++tonic) {
    CAPTURE(tonic);
    CHECK(midi::detect_key(scale_piece(tonic, false)) == midi::Key{tonic, false});
    CHECK(midi::detect_key(scale_piece(tonic, true)) == midi::Key{tonic, true});
    for (const bool minor : {false, true})
      CHECK(midi::parse_key(midi::key_name({tonic, minor})) == midi::Key{tonic, minor});
  }
  CHECK_FALSE(midi::detect_key(midi::Score{}).has_value());
  CHECK(midi::key_name({2, true}) == "D minor");
  CHECK(midi::parse_key("d min") == midi::Key{2, true});
  CHECK(midi::parse_key("Bbm") == midi::Key{10, true});
  CHECK(midi::parse_key("Eb") == midi::Key{3, false});
  CHECK(midi::parse_key("F# major") == midi::Key{6, false});
  CHECK(midi::parse_key("Cb major") == midi::Key{11, false});
  for (const char* bad : {"", "H minor", "D dorian", "minor", "D#b"}) CHECK_FALSE(midi::parse_key(bad).has_value());
}

TEST_CASE("controls: notes per beat, the corpus's thirds and a density's class") {
  midi::Score s;
  s.ticks_per_quarter = 480;
  for (int k = 0; k < 8; ++k) s.notes.push_back(testing::make_note(60, 960 + 240 * k, 240));  // 8 notes in 4 beats
  s.update_times();
  CHECK(midi::notes_per_beat(s) == doctest::Approx(2.0));  // the silence before the first note does not count
  s.notes.resize(1);
  CHECK(midi::notes_per_beat(s) == doctest::Approx(1.0));  // at least one beat
  CHECK(midi::notes_per_beat(midi::Score{}) == 0);
  const auto bounds = midi::tertiles({9, 1, 2, 3, 4, 5, 6, 7, 8, 10});
  CHECK(bounds[0] == doctest::Approx(4.0));  // NumPy's quantile of 1..10 at 1/3 and 2/3
  CHECK(bounds[1] == doctest::Approx(7.0));
  CHECK(midi::density_class(3.9, bounds) == 0);
  CHECK(midi::density_class(4.0, bounds) == 1);
  CHECK(midi::density_class(7.0, bounds) == 2);
  CHECK(midi::density_token(2) == "<density:high>");
  CHECK(midi::control_of("<style:busy>") == std::make_pair(std::string("style"), std::string("busy")));
  CHECK_FALSE(midi::control_of("<middle>").has_value());
}

TEST_CASE("controls: tokens in the vocabulary, at the start of three windows in four, the rest plain") {
  const auto dir = styled_corpus("controls_corpus");
  std::ostringstream log;
  model::CorpusOptions co;
  co.paths = {dir};
  co.scheme = "event";
  co.normalise_key = true;
  const model::Corpus plain = model::load_corpus(co, log);
  co.controls = {"style", "key", "density"};
  const model::Corpus corpus = model::load_corpus(co, log);
  CHECK(corpus.controls == std::vector<std::string>{"key", "density", "style"});  // window order
  CHECK(corpus.styles == std::vector<std::string>{"busy", "calm"});
  // The pieces' tokens keep their ids; the controls end the vocabulary. In C's key signature the
  // pieces' keys are C major and A minor.
  REQUIRE(corpus.vocab.size() > plain.vocab.size());
  CHECK(std::equal(plain.vocab.begin(), plain.vocab.end(), corpus.vocab.begin()));
  const std::vector<std::string> added(corpus.vocab.begin() + static_cast<std::ptrdiff_t>(plain.vocab.size()),
                                       corpus.vocab.end());
  for (const char* t :
       {"<key:C major>", "<key:A minor>", "<density:low>", "<density:high>", "<style:busy>", "<style:calm>"})
    CHECK(std::count(added.begin(), added.end(), t) == 1);
  CHECK(std::all_of(added.begin(), added.end(), [](const std::string& t) { return midi::is_control_token(t); }));
  // Piece k has k + 1 notes at each onset: the thirds put p0 low, p1 mid, p2 and p3 high.
  for (size_t k = 0; k < corpus.train.size(); ++k) {
    const std::string file = corpus.store->files[corpus.store->pieces[corpus.train[k].piece].file];
    const int piece = file[file.size() - 5] - '0';
    CHECK(corpus.train_controls[k].density == std::min(piece, 2));
    CHECK(corpus.styles[static_cast<size_t>(corpus.train_controls[k].style)] == (piece < 2 ? "calm" : "busy"));
  }

  const int64_t L = 24;
  const model::TrainingWindows windows(corpus, L, true);
  int with = 0, without = 0;
  Tensor tokens, targets;
  for (int64_t k = 0; k < windows.size(); ++k)
    for (uint64_t draw = 1; draw < 9; ++draw) {
      model::Window w = windows.at(k);
      w.draw = model::TrainingWindows::draw_for(3, draw);
      windows.fill(&w, 1, tokens, targets);
      std::vector<int32_t> seq(tokens.data<int32_t>(), tokens.data<int32_t>() + L);
      seq.push_back(targets.data<int32_t>()[L - 1]);
      const std::vector<int32_t> controls = corpus.control_ids(w.piece, w.shift);
      REQUIRE(controls.size() == 3);
      const size_t c = windows.with_controls(w) ? 3 : 0;
      (c ? with : without) += 1;
      CHECK(std::equal(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(c), controls.begin()));
      for (size_t t = c; t < seq.size(); ++t)
        CHECK(seq[t] == corpus.id(corpus.train[w.piece], w.shift, w.start + static_cast<int64_t>(t - c)));
      if (w.start == 0) CHECK(corpus.vocab[static_cast<size_t>(seq[c])] == "BOS");  // a piece's start follows them
    }
  CHECK(with > 2 * without);
  CHECK(without > 0);
}

TEST_CASE("controls: a tiny trained model composes under them; unknown values and plain checkpoints refused") {
  const auto dir = styled_corpus("controls_train");
  const model::LoadedCheckpoint ck = train_with_controls(dir);
  const model::CheckpointMeta& meta = ck.meta;
  CHECK(meta.controls == std::vector<std::string>{"key", "density", "style"});
  REQUIRE(meta.density_bounds.size() == 2);
  CHECK(meta.piece_controls.size() == 4);
  CHECK(model::known_values(meta, "density") == std::vector<std::string>{"low", "mid", "high"});
  CHECK(model::known_values(meta, "style") == std::vector<std::string>{"busy", "calm"});
  const std::vector<std::string> keys = model::known_values(meta, "key");  // as written: the four pieces' keys
  CHECK(keys.size() == 4);

  std::mt19937_64 rng(1);
  const model::ChosenControls chosen = model::choose_controls(meta, {keys[0], "high", "calm"}, rng);
  CHECK_FALSE(chosen.key_shift.value_or(1) != 0);  // learnt in the pieces' own keys: nothing to move
  REQUIRE(chosen.tokens.size() == 3);
  CHECK(meta.vocab[static_cast<size_t>(chosen.tokens[0])] == "<key:" + keys[0] + ">");
  CHECK(meta.vocab[static_cast<size_t>(chosen.tokens[1])] == "<density:high>");
  CHECK(meta.vocab[static_cast<size_t>(chosen.tokens[2])] == "<style:calm>");
  CHECK(model::describe_controls(meta, chosen.tokens, 0) == "key " + keys[0] + ", density high, style calm");
  // Not asked: drawn from a training piece that agrees with what was asked (busy pieces are dense).
  for (int k = 0; k < 10; ++k)
    CHECK(meta.vocab[static_cast<size_t>(model::choose_controls(meta, {"", "", "busy"}, rng).tokens[1])] ==
          "<density:high>");
  // A style asked without a key: the key drawn with it is the one --style-key-strength guides toward;
  // an asked key is guided as asked instead, and no style, no style key.
  CHECK_FALSE(chosen.style_key);
  const model::ChosenControls styled = model::choose_controls(meta, {"", "", "calm"}, rng);
  REQUIRE(styled.style_key);
  CHECK(meta.vocab[static_cast<size_t>(styled.tokens[0])] == "<key:" + midi::key_name(*styled.style_key) + ">");
  CHECK_FALSE(model::choose_controls(meta, {"", "low", ""}, rng).style_key);
  model::ControlRequest style_keyed{"", "", "calm"};
  style_keyed.range_strength = 0;  // the style's profile brings its range too: left out here
  style_keyed.style_key_strength = 3;
  CHECK(model::guide_of(meta, style_keyed, styled, 0).active());
  style_keyed.style_key_strength = 0;
  CHECK_FALSE(model::guide_of(meta, style_keyed, styled, 0).active());
  std::vector<int32_t> fed = chosen.tokens;
  fed.push_back(model::special_ids(meta.vocab).bos);
  const std::vector<int32_t> piece = model::compose_piece(*ck.net, meta, fed, {60, 0}, {}, rng);
  CHECK_FALSE(piece.empty());
  for (const int32_t t : piece) CHECK_FALSE(midi::is_control_token(meta.vocab[static_cast<size_t>(t)]));

  auto refusal = [&](const model::CheckpointMeta& m, const model::ControlRequest& r) {
    try {
      model::check_controls(m, r);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refusal(meta, {"", "dense", ""}) == "--density dense: unknown to this checkpoint; known: low, mid, high");
  CHECK(refusal(meta, {"", "", "jazz"}) == "--style jazz: unknown to this checkpoint; known: busy, calm");
  CHECK(refusal(meta, {"H minor", "", ""}).find("not a key") != std::string::npos);
  CHECK(refusal(meta, {"", "low", "busy"}) == "accepted");
  model::CheckpointMeta plain = meta;
  plain.controls.clear();
  CHECK(refusal(plain, {"", "low", ""}) ==
        "--density low: this checkpoint was trained without control tokens (trainer --controls)");
  std::mt19937_64 a(5), b(5);
  CHECK(model::choose_controls(plain, {}, a).tokens.empty());
  CHECK(a() == b());  // a checkpoint without controls draws nothing: its pieces stay as they were
  plain.controls = {"key"};
  CHECK(refusal(plain, {"", "", "busy"}) ==
        "--style busy: this checkpoint was trained without the style control (its controls: key)");
}

namespace {

// Pitched notes of `score` whose pitch class is off `key`'s scale (its key signature's seven).
int64_t out_of_key(const midi::Score& score, const midi::Key& key) {
  static constexpr int kMajorScale[] = {0, 2, 4, 5, 7, 9, 11};
  int64_t out = 0;
  for (const midi::Note& n : score.notes) {
    if (n.is_drum()) continue;
    const int step = ((n.pitch - midi::signature_of(key)) % 12 + 12) % 12;
    out += std::find(std::begin(kMajorScale), std::end(kMajorScale), step) == std::end(kMajorScale);
  }
  return out;
}

}  // namespace

TEST_CASE("controls: guidance keeps a --key piece in its key, moves its density and keeps to a --pitch-range") {
  const auto dir = styled_corpus("controls_guide");
  const model::LoadedCheckpoint ck = train_with_controls(dir, {"key", "density"});
  const std::string asked = model::known_values(ck.meta, "key").front();
  auto pieces = [&](model::ControlRequest controls) {
    model::CompositionRequest r;
    r.length = {400, 0};
    r.count = 4;
    r.seed = 3;
    r.controls = std::move(controls);
    r.with_controls = true;
    return model::compose_pieces(*ck.net, ck.meta, r);
  };
  auto total = [](const std::vector<model::ComposedPiece>& ps, auto measure) {
    double sum = 0;
    for (const auto& p : ps) sum += measure(p.score);
    return sum;
  };
  const midi::Key key = *midi::parse_key(asked);
  auto off = [&](const midi::Score& s) { return static_cast<double>(out_of_key(s, key)); };
  model::ControlRequest tokens_only{asked, "", ""};
  tokens_only.key_strength = 0;
  const double unguided = total(pieces(tokens_only), off), guided = total(pieces({asked, "", ""}), off);
  INFO("out-of-key notes: ", unguided, " by the tokens alone, ", guided, " guided");
  CHECK(unguided > 0);
  CHECK(guided < unguided / 4);

  auto density = [](const midi::Score& s) { return midi::notes_per_beat(s); };
  const double low = total(pieces({"", "low", ""}), density), high = total(pieces({"", "high", ""}), density);
  model::ControlRequest low_alone{"", "low", ""}, high_alone{"", "high", ""};
  low_alone.density_strength = high_alone.density_strength = 0;
  const double low_tokens = total(pieces(low_alone), density), high_tokens = total(pieces(high_alone), density);
  INFO("notes per beat summed: low ", low, " (tokens alone ", low_tokens, "), high ", high, " (", high_tokens, ")");
  CHECK(low < 0.75 * low_tokens);  // guidance moves each the way asked
  CHECK(high > high_tokens);
  // Only what is asked is guided: controls drawn from the corpus compose as the tokens alone do.
  model::ControlRequest none_asked, zero;
  zero.key_strength = zero.density_strength = 0;
  const auto drawn = pieces(none_asked), drawn_zero = pieces(zero);
  for (size_t k = 0; k < drawn.size(); ++k) CHECK(drawn[k].generated == drawn_zero[k].generated);

  // --pitch-range: fewer pitched notes outside it than without (in the music's key: the range is
  // moved into the network's by the piece's shift), and a range at strength 0 changes nothing.
  const model::PitchRange range{60, 72};
  auto outside = [&](const midi::Score& s) {
    double out = 0;
    for (const midi::Note& n : s.notes) out += !n.is_drum() && (n.pitch < range.lo || n.pitch > range.hi);
    return out;
  };
  model::ControlRequest ranged, range_zero;
  ranged.pitch_range = range_zero.pitch_range = range;
  range_zero.range_strength = 0;
  const auto free_pieces = pieces(range_zero);
  const double free = total(free_pieces, outside), kept = total(pieces(ranged), outside);
  INFO("notes outside 60-72: ", free, " free, ", kept, " with the range");
  CHECK(free > 0);
  CHECK(kept < free / 4);
  for (size_t k = 0; k < drawn.size(); ++k) CHECK(free_pieces[k].generated == drawn_zero[k].generated);
  CHECK(model::parse_pitch_range("36-72", "--pitch-range").hi == 72);
  for (const char* bad : {"72-36", "36", "a-72", "36-128", "-5-60", "36-72x"}) {
    const std::string line = "--pitch-range " + std::string(bad) + ": give LO-HI";
    CHECK_THROWS_WITH_AS(model::parse_pitch_range(bad, "--pitch-range"), doctest::Contains(line.c_str()),
                         std::invalid_argument);
  }
  ranged.range_strength = -1;
  CHECK_THROWS_WITH_AS(model::check_strengths(ranged), doctest::Contains("--range-strength"), std::invalid_argument);
}

namespace {

// The pitch at `share` of a piece's pitched notes sorted, by nearest rank: bench/style_quality.py's
// percentile(), written here again so that the trainer's is checked against an independent one.
double percentile_of(const midi::Score& s, double share) {
  std::vector<int> pitches;
  for (const midi::Note& n : s.notes)
    if (!n.is_drum()) pitches.push_back(n.pitch);
  std::sort(pitches.begin(), pitches.end());
  return pitches[std::min(pitches.size() - 1, static_cast<size_t>(pitches.size() * share))];
}

double middle_of(std::vector<double> v) {  // Python's statistics.median
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

TEST_CASE("controls: trainer writes each style's profile from its training pieces; --style keeps to it") {
  const auto dir = styled_corpus("controls_profile");
  const model::LoadedCheckpoint ck = train_with_controls(dir);
  REQUIRE(ck.meta.style_profiles.size() == 2);
  for (const char* style : {"busy", "calm"}) {
    std::vector<double> lows, highs, seconds, densities;
    for (const auto& f : std::filesystem::directory_iterator(dir / style)) {
      const midi::Score s = midi::read_midi_file(f.path());
      lows.push_back(percentile_of(s, 0.05)), highs.push_back(percentile_of(s, 0.95));
      double end = 0;
      for (const midi::Note& n : s.notes) end = std::max(end, n.start_seconds + n.duration_seconds);
      seconds.push_back(end), densities.push_back(midi::notes_per_beat(s));
    }
    const model::StyleProfile* p = model::style_profile(ck.meta, style);
    REQUIRE(p);
    INFO(style, ": ", p->pitch_lo, "-", p->pitch_hi, ", ", p->seconds, " s");
    CHECK(p->pitch_lo == static_cast<int>(std::floor(middle_of(lows))));
    CHECK(p->pitch_hi == static_cast<int>(std::nearbyint(middle_of(highs))));
    CHECK(p->seconds == doctest::Approx(middle_of(seconds)).epsilon(0.001));
    CHECK(p->notes_per_beat == doctest::Approx(middle_of(densities)).epsilon(0.01));
    CHECK(p->pieces == 2);
  }
  // The busy pieces have notes three octaves up: their range is wider than the calm ones'.
  CHECK(model::style_profile(ck.meta, "busy")->pitch_hi > model::style_profile(ck.meta, "calm")->pitch_hi);
  CHECK_FALSE(model::style_profile(ck.meta, "jazz"));

  // What --style takes from it: its range and length unless asked otherwise; no style, none.
  const model::StyleProfile& calm = *model::style_profile(ck.meta, "calm");
  const auto range = model::range_of(ck.meta, {"", "", "calm"});
  REQUIRE(range);
  CHECK((range->lo == calm.pitch_lo && range->hi == calm.pitch_hi));
  model::ControlRequest asked{"", "", "calm"};
  asked.pitch_range = model::PitchRange{50, 60};
  CHECK(model::range_of(ck.meta, asked)->lo == 50);
  CHECK_FALSE(model::range_of(ck.meta, {"", "low", ""}));
  CHECK(model::style_seconds(ck.meta, {"", "", "calm"}).value_or(0) == calm.seconds);
  CHECK_FALSE(model::style_seconds(ck.meta, {}));

  // A checkpoint trained without the style control has no profiles; one with a profile no training
  // could write is refused in one line naming it.
  CHECK(train_with_controls(dir, {"key", "density"}, "plain").meta.style_profiles.empty());
  for (const auto& [field, line] :
       std::vector<std::pair<int, std::string>>{{0, "pitch range 90-40 is not LO-HI within 0..127"},
                                                {1, "seconds and notes_per_beat must be finite and 0 or more"},
                                                {2, "needs a name and at least one piece"}}) {
    model::CheckpointMeta bad = ck.meta;
    if (field == 0) bad.style_profiles[0].pitch_lo = 90, bad.style_profiles[0].pitch_hi = 40;
    if (field == 1) bad.style_profiles[0].seconds = -1;
    if (field == 2) bad.style_profiles[0].pieces = 0;
    model::save_checkpoint(dir / "bad.safetensors", *ck.net, bad);
    std::string what = "loaded";
    try {
      model::load_checkpoint(dir / "bad.safetensors");
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    INFO(what);
    CHECK(what.find("style profile 'busy': " + line) != std::string::npos);
  }
}
