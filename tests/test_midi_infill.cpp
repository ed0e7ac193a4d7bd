// Infilling (midi/infill.h, model/infill.h, docs/infill.md): sequences cut at two times and laid out
// suffix, prefix, middle; training windows so arranged; a middle sampled to end exactly at the
// gap's end; the file rebuilt with only the gap's notes replaced.
#include <doctest/doctest.h>

#include <array>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "corpus/corpus.h"
#include "corpus/windows.h"
#include "midi/grammar.h"
#include "midi/infill.h"
#include "midi/tokenizer_event.h"
#include "midi/writer.h"
#include "model/checkpoint.h"
#include "model/infill.h"
#include "score_builder.h"
#include "small_training.h"
#include "temp_dir.h"

using namespace legato;
using legato::testing::make_note;
using Tokens = std::vector<std::string>;

namespace {

// Two parts and drums over four bars of 4/4 (480 ticks a quarter): a melody in eighths with rests,
// a bass note held across bar lines, a drum hit every beat.
midi::Score band_piece() {
  midi::Score s;
  s.ticks_per_quarter = 480;
  for (int k = 0; k < 28; ++k)
    if (k % 5 != 4) s.notes.push_back(make_note(60 + (k * 7) % 12, 240 * k, 200, 0, 0, 70 + k % 3));
  for (int k = 0; k < 4; ++k) s.notes.push_back(make_note(36 + k, 1920 * k + 960, 1920, 1, 32, 90));
  for (int k = 0; k < 16; ++k) s.notes.push_back(make_note(36 + k % 3, 480 * k, 60, midi::kDrumChannel, 0, 100));
  std::stable_sort(s.notes.begin(), s.notes.end(), [](auto& a, auto& b) { return a.start_tick < b.start_tick; });
  s.update_times();
  return s;
}

// An event vocabulary for the piece, with infilling's tokens: what a run with --infill-rate has.
Tokens vocab_for(const midi::Score& score) {
  Tokens v = {"UNK", "BOS", "EOS"};
  for (const std::string& t : midi::EventTokenizer().tokenize(score))
    if (std::find(v.begin(), v.end(), t) == v.end()) v.push_back(t);
  for (const std::string& t : midi::InfillLayout::needed_tokens())
    if (std::find(v.begin(), v.end(), t) == v.end()) v.push_back(t);
  return v;
}

std::vector<int32_t> ids_of(const Tokens& vocab, const Tokens& tokens) {
  std::vector<int32_t> out;
  for (const std::string& t : tokens) {
    const auto at = std::find(vocab.begin(), vocab.end(), t);
    REQUIRE_MESSAGE(at != vocab.end(), t);
    out.push_back(static_cast<int32_t>(at - vocab.begin()));
  }
  return out;
}

Tokens text_of(const Tokens& vocab, const std::vector<int32_t>& ids) {
  Tokens out;
  for (int32_t id : ids) out.push_back(vocab[static_cast<size_t>(id)]);
  return out;
}

int64_t steps_in(const Tokens& vocab, const std::vector<int32_t>& ids) {
  int64_t steps = 0;
  for (int32_t id : ids)
    if (vocab[size_t(id)][0] == 'T') steps += std::stoll(vocab[size_t(id)].substr(1));
  return steps;
}

model::CheckpointMeta infill_meta(const Tokens& vocab) {
  model::CheckpointMeta meta;
  meta.scheme = "event";
  meta.objective = "all";
  meta.seq_len = 48;
  meta.vocab = vocab;
  meta.infill_rate = 0.5;
  meta.config.vocab = static_cast<int64_t>(vocab.size());
  meta.config.input = model::InputKind::Embedding;
  meta.config.embedding_dim = 8;
  meta.config.hidden = 16;
  meta.config.layers = 1;
  meta.config.dense = 16;
  meta.config.dropout = 0;
  return meta;
}

// The notes of a score as the event grid keeps them.
std::vector<midi::EventTokenizer::GridNote> grid(const midi::Score& s) { return midi::EventTokenizer().grid_notes(s); }

}  // namespace

TEST_CASE("infill layout: the parts together are the piece, each part spans its time, the layout is S P M") {
  const midi::Score piece = band_piece();
  const Tokens vocab = vocab_for(piece);
  const midi::InfillLayout layout(vocab);
  const std::vector<int32_t> ids = ids_of(vocab, midi::EventTokenizer().tokenize(piece));
  const int64_t total = steps_in(vocab, ids);
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    int64_t a = std::uniform_int_distribution<int64_t>(0, total - 1)(rng);
    int64_t b = std::uniform_int_distribution<int64_t>(a + 1, total)(rng);
    const midi::InfillLayout::Parts parts = layout.split(ids, a, b);
    CAPTURE(a);
    CAPTURE(b);
    CHECK(steps_in(vocab, parts.prefix) == a);      // shifts split at the cuts: the prefix ends at a,
    CHECK(steps_in(vocab, parts.middle) == b - a);  // the middle at b
    std::vector<int32_t> joined = parts.prefix;
    joined.insert(joined.end(), parts.middle.begin(), parts.middle.end());
    joined.insert(joined.end(), parts.suffix.begin(), parts.suffix.end());
    CHECK(grid(midi::EventTokenizer().detokenize(text_of(vocab, joined))) == grid(piece));
    // The middle and the suffix name their first note's instrument before it.
    for (const auto* part : {&parts.middle, &parts.suffix}) {
      const Tokens t = text_of(vocab, *part);
      const auto note = std::find_if(t.begin(), t.end(), [](const std::string& s) { return s[0] == 'N'; });
      if (note != t.end())
        CHECK(std::any_of(t.begin(), note, [](const std::string& s) { return s[0] == 'P' || s == "DRUMS"; }));
    }
    const std::vector<int32_t> arranged = layout.arrange(parts);
    CHECK(arranged.size() == parts.prefix.size() + parts.middle.size() + parts.suffix.size() + 3);
    CHECK(arranged[0] == layout.suffix_token());
    CHECK(arranged[parts.suffix.size() + 1] == layout.prefix_token());
    CHECK(arranged[parts.suffix.size() + parts.prefix.size() + 2] == layout.middle_token());
  }
  // A shift across both cuts is split in three.
  const Tokens v = {"BOS", "I0", "P0", "N60", "D3", "T40", "N62", "D3", "EOS", "<suffix>", "<prefix>", "<middle>"};
  Tokens with_shifts = v;
  for (const std::string& t : midi::InfillLayout::needed_tokens())
    if (std::find(v.begin(), v.end(), t) == v.end()) with_shifts.push_back(t);
  const midi::InfillLayout small(with_shifts);
  const auto parts =
      small.split(ids_of(with_shifts, {"BOS", "I0", "P0", "N60", "D3", "T40", "N62", "D3", "EOS"}), 10, 30);
  CHECK(text_of(with_shifts, parts.prefix) == Tokens{"BOS", "I0", "P0", "N60", "D3", "T10"});
  CHECK(text_of(with_shifts, parts.middle) == Tokens{"T20"});
  CHECK(text_of(with_shifts, parts.suffix) == Tokens{"T10", "P0", "N62", "D3", "EOS"});
  // A vocabulary without the sentinels is refused.
  CHECK_THROWS_AS(midi::InfillLayout(Tokens{"BOS", "T1"}), std::invalid_argument);
}

TEST_CASE("infill training: sentinels in the vocabulary and the config; a share of windows arranged S P M") {
  const auto dir = testing::temp_dir("infill_train");
  for (int k = 0; k < 3; ++k) midi::write_midi_file(band_piece(), dir / ("p" + std::to_string(k) + ".mid"));
  model::TrainOptions o = testing::small_training(dir, dir / "run");
  o.recipe.seq_len = 32;
  o.recipe.infill_rate = 0.5;
  std::ostringstream log;
  REQUIRE(model::train(o, log) == 0);
  const model::CheckpointMeta meta = model::load_checkpoint(dir / "run" / "best.safetensors").meta;
  CHECK(meta.infill_rate == 0.5);
  for (const std::string& t : midi::InfillLayout::needed_tokens())
    CHECK(std::count(meta.vocab.begin(), meta.vocab.end(), t) == 1);
  // The arrangement is drawn from the run's seed, epoch and position: interrupted and resumed, the
  // run ends with the uninterrupted one's weights, bit for bit.
  model::TrainOptions first = o;
  first.out = dir / "resumed";
  first.stop_after_batches = 2;
  REQUIRE(model::train(first, log) == 130);
  first.stop_after_batches = 0;
  first.resume = true;
  REQUIRE(model::train(first, log) == 0);
  CHECK(testing::weights_of(dir / "run" / "last.safetensors") ==
        testing::weights_of(dir / "resumed" / "last.safetensors"));
  // A run without it: no sentinels, and no infill_rate in its config (its files stay as before).
  o.recipe.infill_rate = 0;
  o.out = dir / "plain";
  REQUIRE(model::train(o, log) == 0);
  const model::CheckpointMeta plain = model::load_checkpoint(dir / "plain" / "best.safetensors").meta;
  CHECK(std::count(plain.vocab.begin(), plain.vocab.end(), "<middle>") == 0);
  CHECK(model::config_to_json(plain).find("infill") == std::string::npos);
  // The seed scheme and the objective last cannot arrange windows so.
  o.recipe.infill_rate = 0.5;
  o.recipe.objective = "last";
  CHECK_THROWS_AS(model::train(o, log), model::InputError);

  // The windows: with rate 1 nearly all arranged (some too near their piece's end stay plain), each
  // exactly L + 1 tokens with one of each sentinel in order; with rate 0 none.
  model::CorpusOptions co;
  co.paths = {dir};
  co.scheme = "event";
  co.extra_tokens = midi::InfillLayout::needed_tokens();
  const model::Corpus corpus = model::load_corpus(co, log);
  const model::TrainingWindows all(corpus, 32, true, 1.0), none(corpus, 32, true, 0.0);
  const midi::InfillLayout layout(corpus.vocab);
  int arranged = 0;
  for (int64_t k = 0; k < all.size(); ++k)
    for (uint64_t draw = 1; draw < 20; ++draw) {
      model::Window w = all.at(k);
      w.draw = model::TrainingWindows::draw_for(7, draw);
      CHECK(none.infill_window(w).empty());
      const std::vector<int32_t> seq = all.infill_window(w);
      if (seq.empty()) continue;
      ++arranged;
      REQUIRE(seq.size() == 33);
      const auto at = [&](int32_t t) { return std::find(seq.begin(), seq.end(), t) - seq.begin(); };
      CHECK(seq[0] == layout.suffix_token());
      CHECK(at(layout.prefix_token()) < at(layout.middle_token()));
      CHECK(std::count(seq.begin(), seq.end(), layout.middle_token()) == 1);
    }
  CHECK(arranged > all.size() * 19 / 2);
}

TEST_CASE("infill grammar: a middle's time never passes the gap's end, no note starts at it, no EOS") {
  const Tokens v = vocab_for(band_piece());
  midi::EventOptions options;
  midi::EventGrammar g(v, options);
  for (int32_t t : ids_of(v, {"BOS", "I0", "P0", "N60", "D5", "T12"})) g.feed(t);
  g.begin_middle(24);
  const int32_t p0 = ids_of(v, {"P0"})[0], n60 = ids_of(v, {"N60"})[0];
  CHECK_FALSE(g.allows(n60));  // the middle names its instrument first
  CHECK(g.allows(p0));
  g.feed(p0);
  g.feed(n60);
  g.feed(ids_of(v, {"D5"})[0]);
  CHECK(g.allows(ids_of(v, {"T12"})[0]));
  CHECK_FALSE(g.allows(ids_of(v, {"T13"})[0]));
  CHECK_FALSE(g.allows(ids_of(v, {"EOS"})[0]));
  CHECK_FALSE(g.finished());
  g.feed(ids_of(v, {"T12"})[0]);
  CHECK(g.finished());
  CHECK_FALSE(g.allows(ids_of(v, {"P32"})[0]));
  CHECK_FALSE(g.allows(ids_of(v, {"T1"})[0]));

  // A continuation held to the same end (composer --infill-sees before) goes on in its instrument.
  midi::EventGrammar c(v, options);
  for (int32_t t : ids_of(v, {"BOS", "I0", "P0", "N60", "D5", "T12"})) c.feed(t);
  c.begin_middle(24, false);
  CHECK(c.allows(n60));
  CHECK_FALSE(c.allows(p0));  // the instrument in force is not named again
  CHECK_FALSE(c.allows(ids_of(v, {"T13"})[0]));
}

TEST_CASE("infill grammar: with rest_to_end the shift onto the gap's end takes the probability of those past it") {
  const Tokens v = vocab_for(band_piece());
  midi::EventGrammar g(v, midi::EventOptions{});
  for (int32_t t : ids_of(v, {"BOS", "I0", "P0", "N60", "D5", "T12"})) g.feed(t);
  g.begin_middle(24);
  for (int32_t t : ids_of(v, {"P0", "N60", "D5"})) g.feed(t);  // 12 steps left
  const int32_t t12 = ids_of(v, {"T12"})[0], t11 = ids_of(v, {"T11"})[0], n62 = ids_of(v, {"N62"})[0];
  std::vector<float> forbid(v.size(), 0.0f), rest(v.size(), 0.0f);
  rest[size_t(t11)] = forbid[size_t(t11)] = 0.5f;
  g.mask(forbid.data());
  CHECK(forbid[size_t(t12)] == 0.0f);  // the old way: T13..T48 masked, their probability spread over all
  g.set_rest_to_end(true);
  g.mask(rest.data());
  CHECK(rest[size_t(t12)] == doctest::Approx(std::log(37.0)));  // T12 and T13..T48, each exp(0)
  CHECK(rest[size_t(t11)] == 0.5f);                             // the shorter shifts and notes keep theirs
  CHECK(rest[size_t(n62)] == 0.0f);
  for (const char* past : {"T13", "T48"}) CHECK(rest[size_t(ids_of(v, {past})[0])] < -1e29f);
  g.feed(t12);  // at the end: nothing to move
  std::vector<float> done(v.size(), 0.0f);
  g.mask(done.data());
  CHECK(done[size_t(t12)] < -1e29f);
}

TEST_CASE("infill: among candidate middles the one after which the suffix is likeliest is kept") {
  const midi::Score piece = band_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  const model::MusicLSTM net(meta.config);  // untrained: the likelihoods differ by the middle alone
  model::SamplingOptions hot;
  hot.temperature = 2.0;
  const model::InfillContext c = model::infill_context(meta, piece, model::gap_of_bars(piece, 2, 3));
  REQUIRE(c.suffix.size() > 8);
  model::InfillOptions options;
  options.candidates = 5;
  options.scored_tokens = 8;
  std::mt19937_64 rng(7), replay(7);
  const std::vector<int32_t> best = model::compose_best_middle(net, meta, c, hot, rng, options);
  std::vector<double> scores;
  std::vector<std::vector<int32_t>> middles;
  for (int k = 0; k < options.candidates; ++k) {
    middles.push_back(model::compose_middle(net, meta, c, hot, replay, options));
    scores.push_back(model::suffix_log_likelihood(net, meta, c, middles.back(), options.scored_tokens));
    CHECK(scores.back() < 0);  // a sum of log-probabilities of 8 tokens
  }
  const auto top = std::max_element(scores.begin(), scores.end()) - scores.begin();
  CHECK(best == middles[size_t(top)]);
  CHECK(std::set<double>(scores.begin(), scores.end()).size() > 1);  // the choice was a choice
  CHECK(rng() == replay());                                          // every candidate drew from the same stream
  CHECK(model::suffix_log_likelihood(net, meta, c, best, 0) == 0.0);
  CHECK(model::suffix_log_likelihood(net, meta, c, best, 16) < model::suffix_log_likelihood(net, meta, c, best, 8));
  const model::InfillContext before =
      model::infill_context(meta, piece, model::gap_of_bars(piece, 2, 3), model::InfillSees::Before);
  CHECK_THROWS_AS(model::suffix_log_likelihood(net, meta, before, best, 8), std::invalid_argument);
}

TEST_CASE("infill: the prefix read is seq_len / 3 tokens, or as many as asked") {
  const midi::Score piece = band_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));  // seq_len 48
  const midi::InfillLayout layout(meta.vocab);
  const auto prefix_read = [&](int64_t asked) {
    const std::vector<int32_t> p =
        model::infill_context(meta, piece, model::gap_of_bars(piece, 3, 3), model::InfillSees::Both, asked).prompt;
    const auto from = std::find(p.begin(), p.end(), layout.prefix_token());
    return std::find(from, p.end(), layout.middle_token()) - from - 1;
  };
  CHECK(prefix_read(0) == 16);
  CHECK(prefix_read(30) == 30);
}

TEST_CASE("infill: range guidance keeps the middle's notes to the bars beside the gap") {
  const midi::Score piece = band_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  const model::MusicLSTM net(meta.config);
  model::InfillContext c = model::infill_context(meta, piece, model::gap_of_bars(piece, 2, 2));  // steps 48-96
  // Before: steps 0-47, the melody's 60, 67, 62, 69, 71, 66, 61, 64 and the bass's 36 (drums left out);
  // after: steps 96-143, the melody (60-71) and the bass's 38.
  REQUIRE(c.range_before);
  CHECK(c.range_before->lo == 36);
  CHECK(c.range_before->hi == 71);
  REQUIRE(c.range_around);
  CHECK(c.range_around->lo == 36);
  CHECK(c.range_around->hi == 71);
  c.range_around = model::PitchRange{60, 62};  // narrower, so that the guidance shows
  c.range_before = model::PitchRange{64, 65};
  model::SamplingOptions hot;
  hot.temperature = 2.0;
  const auto pitches = [&](model::InfillOptions::Range range) {
    model::InfillOptions options;
    options.range = range;
    options.range_strength = 60;
    options.lead_in_beats = 0;  // the range alone to the end (the lead-in: the next test)
    std::mt19937_64 rng(5);
    std::set<int> out;
    for (int k = 0; k < 6; ++k) {
      bool drums = false;  // drum notes are no pitches: the range leaves them alone
      for (const std::string& t : text_of(meta.vocab, model::compose_middle(net, meta, c, hot, rng, options))) {
        if (t == "DRUMS" || t[0] == 'P') drums = t == "DRUMS";
        if (t[0] == 'N' && !drums) out.insert(std::stoi(t.substr(1)));
      }
    }
    return out;
  };
  CHECK(pitches(model::InfillOptions::Range::Around) == std::set<int>{60, 61, 62});
  CHECK(pitches(model::InfillOptions::Range::Before) == std::set<int>{64, 65});
  CHECK(pitches(model::InfillOptions::Range::Off).size() > 3);
}

TEST_CASE("infill: pitch-class guidance keeps the middle's notes to the classes of the bars beside the gap") {
  const midi::Score piece = band_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  const model::MusicLSTM net(meta.config);
  model::InfillContext c = model::infill_context(meta, piece, model::gap_of_bars(piece, 2, 2));  // steps 48-96
  // Before (steps 0-47): the melody's 60, 67, 62, 69, 71, 66, 61 and the bass's 36: C twice in 8, the
  // others once.
  REQUIRE(c.classes_before);
  CHECK((*c.classes_before)[0] == doctest::Approx(2.0 / 8));
  CHECK((*c.classes_before)[7] == doctest::Approx(1.0 / 8));
  CHECK((*c.classes_before)[3] == 0.0);  // no D#
  REQUIRE(c.classes_around);
  double total = 0;
  for (const double share : *c.classes_around) total += share;
  CHECK(total == doctest::Approx(1.0));
  std::array<double, 12> ce{}, d{};
  ce[0] = ce[4] = 0.5, d[2] = 1;  // far apart, so that the guidance shows
  c.classes_around = ce, c.classes_before = d;
  model::SamplingOptions hot;
  hot.temperature = 2.0;
  const auto classes = [&](model::InfillOptions::Range which) {
    model::InfillOptions options;
    options.classes = which;
    options.classes_strength = 60;
    options.lead_in_beats = 0;  // the classes alone
    std::mt19937_64 rng(5);
    std::set<int> out;
    for (int k = 0; k < 6; ++k) {
      bool drums = false;
      for (const std::string& t : text_of(meta.vocab, model::compose_middle(net, meta, c, hot, rng, options))) {
        if (t == "DRUMS" || t[0] == 'P') drums = t == "DRUMS";
        if (t[0] == 'N' && !drums) out.insert(std::stoi(t.substr(1)) % 12);
      }
    }
    return out;
  };
  CHECK(classes(model::InfillOptions::Range::Around) == std::set<int>{0, 4});
  CHECK(classes(model::InfillOptions::Range::Before) == std::set<int>{2});
  CHECK(classes(model::InfillOptions::Range::Off).size() > 2);
}

TEST_CASE("infill: the middle's last beats lead into the first beat after the gap") {
  const midi::Score piece = band_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  const model::MusicLSTM net(meta.config);
  const model::InfillContext c = model::infill_context(meta, piece, model::gap_of_bars(piece, 2, 2));  // steps 48-96
  // The first beat after the gap (steps 96-107): the melody's 64 and 71 (the bass's next note is at
  // 120, drums are no pitches), widened about its middle to an octave: 62..74.
  REQUIRE(c.range_after_start);
  CHECK(c.range_after_start->lo == 62);
  CHECK(c.range_after_start->hi == 74);
  model::SamplingOptions hot;
  hot.temperature = 2.0;
  // The pitched notes of 12 middles, by whether they start in the gap's last 2 beats (steps 72-95).
  const auto pitches = [&](double lead_in_beats, bool last_beats) {
    model::InfillOptions options;
    options.lead_in_beats = lead_in_beats;
    options.lead_in_strength = 60;
    std::mt19937_64 rng(7);
    std::vector<int> out;
    for (int k = 0; k < 12; ++k) {
      int64_t now = 48;
      bool drums = false;
      for (const std::string& t : text_of(meta.vocab, model::compose_middle(net, meta, c, hot, rng, options))) {
        if (t == "DRUMS" || t[0] == 'P') drums = t == "DRUMS";
        if (t[0] == 'T') now += std::stoi(t.substr(1));
        if (t[0] == 'N' && !drums && (now >= 72) == last_beats) out.push_back(std::stoi(t.substr(1)));
      }
    }
    return out;
  };
  const auto outside = [](const std::vector<int>& p) {
    return std::count_if(p.begin(), p.end(), [](int pitch) { return pitch < 62 || pitch > 74; });
  };
  const std::vector<int> led = pitches(2, true), free = pitches(0, true);
  REQUIRE(led.size() >= 4);
  CHECK(outside(led) == 0);
  CHECK(outside(free) > 0);
  CHECK(outside(pitches(2, false)) > 0);  // before the last beats the range is not asked
}

TEST_CASE("infill: density guidance aims the middle at the notes per beat of the bars beside the gap") {
  const midi::Score piece = band_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  const model::MusicLSTM net(meta.config);
  model::InfillContext c = model::infill_context(meta, piece, model::gap_of_bars(piece, 4, 4));  // steps 144-192
  // Before: bar 3, 7 melody notes, 1 bass note and 4 drum notes over 4 beats; after: nothing until
  // the piece ends, 2 beats later (the last bass note's end, step 216).
  CHECK(c.density_before == doctest::Approx(3.0));
  CHECK(c.density_around == doctest::Approx(12.0 / 6.0));
  c.density_around = 0.5, c.density_before = 6;  // far apart, so that the guidance shows
  const auto notes = [&](model::InfillOptions::Range density) {
    model::InfillOptions options;
    options.density = density;
    std::mt19937_64 rng(5);
    int64_t n = 0;
    for (int k = 0; k < 6; ++k)
      for (const std::string& t : text_of(meta.vocab, model::compose_middle(net, meta, c, {}, rng, options)))
        n += t[0] == 'N' ? 1 : 0;
    return n;
  };
  const int64_t sparse = notes(model::InfillOptions::Range::Around), dense = notes(model::InfillOptions::Range::Before);
  INFO(sparse, " ", notes(model::InfillOptions::Range::Off), " ", dense);
  CHECK(sparse <= 6 * 4);  // about 2 notes in 4 beats of gap, each of the 6 middles
  CHECK(dense > 6 * 12);   // 24 in 4 beats aimed at: more than 12 each
}

namespace {

// Twelve bars of 4/4 whose every bar strikes a chord on its downbeat and rests the rest of the bar:
// the rest before each bar line (from the last onset) is 48 grid steps; the bar after the gap
// (bars 5-8) strikes a beat late.
midi::Score resting_piece() {
  midi::Score s;
  s.ticks_per_quarter = 480;
  for (int bar = 0; bar < 12; ++bar)
    for (const int pitch : {60, 64, 67})
      s.notes.push_back(make_note(pitch + bar % 3, 1920 * bar + (bar == 8 ? 480 : 0), 1400));
  s.update_times();
  return s;
}

// The grid steps from a middle's last onset to its gap's end.
int64_t end_rest(const Tokens& vocab, const model::InfillContext& c, const std::vector<int32_t>& middle) {
  int64_t now = c.gap.from, last = c.gap.from - 1;
  for (const int32_t id : middle) {
    const std::string& t = vocab[size_t(id)];
    if (t[0] == 'T') now += std::stoll(t.substr(1));
    if (t[0] == 'N') last = now;
  }
  return c.gap.to - last;
}

}  // namespace

TEST_CASE("infill: end-rest guidance rests before the gap's end as the piece rests before its bar lines") {
  const midi::Score piece = resting_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  const model::MusicLSTM net(meta.config);
  model::InfillContext c = model::infill_context(meta, piece, model::gap_of_bars(piece, 5, 8));  // steps 192-384
  CHECK(c.ends_on_bar_line);
  CHECK_FALSE(model::infill_context(meta, piece, model::gap_of_beats(17, 22)).ends_on_bar_line);
  // Before the gap the lines at 48 to 192 (the gap's start: its rest is the music before the gap's);
  // around it also 432 (bar 9 struck late: rest 36), 480, 528 and 576; the gap's end (384) has the
  // gap before it.
  REQUIRE(c.rests_before.last.size() == 49);
  CHECK((c.rests_before.last[48] == 4 && c.rests_before.struck[48] == 4));
  REQUIRE(c.rests_around.last.size() == 49);
  CHECK((c.rests_around.last[48] == 7 && c.rests_around.last[36] == 1 && c.rests_around.struck[36] == 1));
  // At the gap's end the music after it starts 12 steps late: the intervals across the lines with a
  // note after them outside the gap (48 each but 36 at 432; not 192, which has the gap after it) less 12.
  REQUIRE(c.rests_into_after.last.size() == 37);
  CHECK((c.rests_into_after.last[36] == 5 && c.rests_into_after.last[24] == 1));
  // This untrained network strikes at any grid step, seldom on a line, so the piece's own rests (a
  // whole bar) hardly come into play: the bars before the gap made to strike at every step and rest
  // 1 to 6 steps instead.
  c.rests_before.struck.assign(49, 1000.0), c.rests_before.last.assign(49, 0.0);
  c.rests_before.struck[0] = 0;
  for (size_t r = 1; r <= 6; ++r) c.rests_before.last[r] = 1000.0;
  const auto share_resting = [&](model::InfillOptions::Range rest) {
    model::InfillOptions options;
    options.end_rest = rest;
    options.lead_in_beats = 0, options.classes = model::InfillOptions::Range::Off;
    std::mt19937_64 rng(3);
    int resting = 0;
    for (int k = 0; k < 40; ++k)
      resting += end_rest(meta.vocab, c, model::compose_middle(net, meta, c, {}, rng, options)) <= 6 ? 1 : 0;
    return resting / 40.0;
  };
  const double off = share_resting(model::InfillOptions::Range::Off),
               before = share_resting(model::InfillOptions::Range::Before);
  const double around = share_resting(model::InfillOptions::Range::Around);
  INFO("the share of middles resting 6 steps or less before the end: off ", off, ", before ", before, ", around ",
       around);
  CHECK(before > off + 0.4);
  CHECK(around < before - 0.4);  // around the gap the piece rests a whole bar (24 or 36 steps before the end)
}

TEST_CASE("infill: the middle fills the gap exactly; the rest of the file stays note for note") {
  const midi::Score piece = band_piece();
  const model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  const model::MusicLSTM net(meta.config);  // untrained: left alone it writes any token
  model::SamplingOptions hot;
  hot.temperature = 2.0;
  std::mt19937_64 rng(11);
  for (const auto& gap : {model::gap_of_bars(piece, 2, 3), model::gap_of_beats(3, 3), model::Gap{5, 101}}) {
    const model::InfillContext c = model::infill_context(meta, piece, gap);
    CHECK(c.prompt.back() == midi::InfillLayout(meta.vocab).middle_token());
    CHECK(c.replaced > 0);
    for (int k = 0; k < 10; ++k) {
      const std::vector<int32_t> middle = model::compose_middle(net, meta, c, hot, rng);
      CHECK(steps_in(meta.vocab, middle) == gap.to - gap.from);  // ends at the gap's end, never past it
      int64_t now = 0;                                           // no shift past the end at any point
      for (int32_t t : middle) {
        if (meta.vocab[size_t(t)][0] == 'T') now += std::stoll(meta.vocab[size_t(t)].substr(1));
        CHECK(now <= gap.to - gap.from);
      }
      const midi::Score out = model::with_middle(piece, meta, c, middle);
      std::vector<midi::Note> kept, original_kept;
      auto outside = [&](const midi::Note& n) {
        const int64_t step = midi::EventTokenizer().to_steps(n.start_tick, 480);
        return step < gap.from || step >= gap.to;
      };
      auto key = [](const midi::Note& n) {
        return std::tuple(n.start_tick, n.channel, n.pitch, n.duration_ticks, n.velocity, n.program, n.track);
      };
      for (const auto& n : out.notes) (outside(n) ? kept : original_kept).push_back(n);  // new ones aside
      for (const auto& n : original_kept) {  // every new note starts in the gap and ends by its end
        CHECK(n.start_tick >= gap.from * 40);
        CHECK(n.end_tick() <= gap.to * 40);
      }
      original_kept.clear();
      for (const auto& n : piece.notes)
        if (outside(n)) original_kept.push_back(n);
      REQUIRE(kept.size() == original_kept.size());
      for (size_t i = 0; i < kept.size(); ++i) CHECK(key(kept[i]) == key(original_kept[i]));
    }
  }
  // The bass note held from bar 1 into bar 2 starts before the gap of bars 2-3: it stays, whole.
  const model::Gap bars = model::gap_of_bars(piece, 2, 3);
  CHECK(bars.from == 48);
  CHECK(bars.to == 144);
  const model::InfillContext c = model::infill_context(meta, piece, bars);
  const midi::Score out = model::with_middle(piece, meta, c, model::compose_middle(net, meta, c, hot, rng));
  CHECK(std::count_if(out.notes.begin(), out.notes.end(), [](const midi::Note& n) {
          return n.pitch == 36 && n.channel == 1 && n.start_tick == 960 && n.duration_ticks == 1920;
        }) == 1);
}

TEST_CASE("infill: new notes come back into the file's key, on its instrument's channel, track and velocity") {
  const midi::Score piece = testing::scale_piece(2, false);  // in D major
  model::CheckpointMeta meta = infill_meta(vocab_for(band_piece()));
  meta.keys.assign(12, 1);  // trained in C's key signature: the file is moved there, the middle back
  const model::InfillContext c = model::infill_context(meta, piece, model::gap_of_bars(piece, 2, 2));
  CHECK(c.shift == -2);
  const std::vector<int32_t> middle = ids_of(meta.vocab, {"P0", "N60", "D5", "T24", "DRUMS", "N37", "D2", "T24"});
  const midi::Score out = model::with_middle(piece, meta, c, middle);
  int64_t velocity_sum = 0, count = 0;
  for (const auto& n : piece.notes)
    if (n.channel == 0) velocity_sum += n.velocity, ++count;
  auto at = [&](int64_t tick, int channel) {
    return std::find_if(out.notes.begin(), out.notes.end(),
                        [&](const midi::Note& n) { return n.start_tick == tick && n.channel == channel; });
  };
  const auto melody = at(1920, 0), drum = at(1920 + 960, midi::kDrumChannel);
  REQUIRE(melody != out.notes.end());
  CHECK(melody->pitch == 62);  // C's 60 back in D
  CHECK(melody->duration_ticks == 200);
  CHECK(melody->velocity == velocity_sum / count);
  REQUIRE(drum != out.notes.end());
  CHECK(drum->pitch == 37);  // drums do not move
  CHECK(out.notes.size() + c.replaced == piece.notes.size() + 2);
}

TEST_CASE("infill: refusals and ranges") {
  const midi::Score piece = band_piece();
  model::CheckpointMeta meta = infill_meta(vocab_for(piece));
  meta.infill_rate = 0;  // a checkpoint trained without infilling
  CHECK_THROWS_WITH_AS(model::infill_context(meta, piece, {48, 96}),
                       doctest::Contains("--infill needs a checkpoint trained for infilling"), std::invalid_argument);
  meta.infill_rate = 0.5;
  CHECK_THROWS_WITH_AS(model::infill_context(meta, piece, model::gap_of_bars(piece, 9, 10)),
                       doctest::Contains("starts after the file's last note"), std::invalid_argument);
  CHECK(model::parse_range("9-12", "--bars") == std::pair<int64_t, int64_t>{9, 12});
  CHECK(model::parse_range("4-4", "--beats") == std::pair<int64_t, int64_t>{4, 4});
  for (const char* bad : {"9", "9-", "-12", "a-b", "9-12-13", "9 - 12", "0-3", "5-2", "1-100001"})
    CHECK_THROWS_WITH_AS(model::parse_range(bad, "--bars"), doctest::Contains((std::string("--bars ") + bad).c_str()),
                         std::invalid_argument);
  // Bars follow the file's time signatures: 3/4 from the start makes a bar 36 steps.
  midi::Score waltz = piece;
  waltz.time_signatures = {{0, 3, 4}};
  CHECK(model::gap_of_bars(waltz, 2, 3).from == 36);
  CHECK(model::gap_of_bars(waltz, 2, 3).to == 108);
  CHECK(model::gap_of_beats(1, 4).from == 0);
  CHECK(model::gap_of_beats(1, 4).to == 48);
}
