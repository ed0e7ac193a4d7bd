// Guidance (model/control_guide.h, docs/controls.md): the biases that steer sampling toward the key
// and the density asked for, on the logits of a small event vocabulary.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "midi/grammar.h"
#include "model/control_guide.h"
#include "model/controls.h"

using namespace legato;

namespace {

// Every one of `vocab` tokens' logits 0, then `guide`'s biases for the token after what `g` has read.
std::vector<float> biased_logits(model::ControlGuide guide, const midi::EventGrammar& g, size_t vocab) {
  std::vector<float> z(vocab, 0.0f);
  guide.bias(z.data(), static_cast<int64_t>(z.size()), g);
  return z;
}

}  // namespace

TEST_CASE("control guide: the key's scale kept, its tonic most favoured, then its triad, the mode told apart") {
  const std::array<float, 12> d_minor = model::key_bias({2, true}, 4);  // F major's signature
  for (const int pc : {3, 6, 8, 11}) CHECK(d_minor[size_t(pc)] == -4);  // D# F# G# B: off the scale
  CHECK(d_minor[2] == 2);                                               // D: the tonic
  for (const int pc : {5, 9}) CHECK(d_minor[size_t(pc)] == 1);          // F A: the third and the fifth
  for (const int pc : {4, 7, 10}) CHECK(d_minor[size_t(pc)] == 0);      // E G Bb: in the scale
  CHECK(d_minor[1] == 0);   // C#: the leading tone, in the harmonic minor's scale
  CHECK(d_minor[0] == -1);  // C: the natural 7th (F major's fifth), held back
  // C major and A minor share the scale; the triad tells them apart, the tonic most of all: A minor's
  // third and fifth (C, E) are C major's tonic and third, so without the tonic's extra they would
  // favour C major about as much as A minor.
  const std::array<float, 12> c_major = model::key_bias({0, false}, 2), a_minor = model::key_bias({9, true}, 2);
  for (const int pc : {1, 3, 6, 10}) CHECK((c_major[size_t(pc)] == -2 && a_minor[size_t(pc)] == -2));
  CHECK(c_major[8] == -2);     // G#: off C major's scale
  CHECK(a_minor[8] == 0);      // but A minor's leading tone
  CHECK(a_minor[7] == -0.5f);  // and G, C major's fifth, held back in A minor
  CHECK(c_major[0] == 1.0f);   // C: C major's tonic
  CHECK(c_major[7] == 0.5f);   // G: C major's fifth
  CHECK(a_minor[9] == 1.0f);   // A: A minor's tonic
  CHECK(a_minor[0] == 0.5f);   // C: A minor's third
  CHECK(c_major[9] == 0);
  for (const float b : model::key_bias({5, false}, 0)) CHECK(b == 0);  // strength 0: no bias
}

TEST_CASE("control guide: density targets between the thirds, the bias closing the gap") {
  CHECK(model::density_target(0, {8, 10}) == doctest::Approx(7));
  CHECK(model::density_target(1, {8, 10}) == doctest::Approx(9));
  CHECK(model::density_target(2, {8, 10}) == doctest::Approx(11));
  CHECK(model::density_target(0, {2, 10}) == doctest::Approx(1));  // never below half the lower boundary
  CHECK_THROWS_AS(model::density_target(3, {8, 10}), std::invalid_argument);
  CHECK(model::density_bias(0, 0, 9, 3) == doctest::Approx(0));        // nothing yet: the prior bar is on target
  CHECK(model::density_bias(90, 10, 9, 3) == doctest::Approx(0));      // on target
  CHECK(model::density_bias(200, 10, 9, 3) < -1);                      // too dense: fewer notes
  CHECK(model::density_bias(10, 10, 9, 3) > 1);                        // too sparse: more notes
  CHECK(model::density_bias(100000, 1, 9, 3) == doctest::Approx(-6));  // within ±2·strength
  CHECK(model::density_bias(10, 10, 9, 0) == 0);
  // The gap closes as the piece goes: the same excess weighs more after a longer stretch.
  CHECK(model::density_bias(4 * 20, 4, 9, 3) > model::density_bias(16 * 20, 16, 9, 3));
}

TEST_CASE("control guide: biases on a grammar's notes and shifts, pitched instruments only") {
  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "T12", "P0", "DRUMS", "N60", "N61", "N62", "D3"};
  const midi::EventGrammar fresh(vocab, {});
  auto biased = [&](const model::ControlGuide& guide, const midi::EventGrammar& g) {
    return biased_logits(guide, g, vocab.size());
  };
  midi::EventGrammar piano = fresh, drums = fresh;
  for (const int32_t t : {0, 4}) piano.feed(t);  // BOS P0
  for (const int32_t t : {0, 5}) drums.feed(t);  // BOS DRUMS
  model::ControlGuide c_major(midi::Key{0, false}, -1, {}, 4, 3);
  REQUIRE(c_major.active());
  std::vector<float> z = biased(c_major, piano);
  CHECK(z[6] - z[8] == doctest::Approx(2));   // N60, C: the tonic, against N62, D: in the scale
  CHECK(z[7] - z[8] == doctest::Approx(-4));  // N61, C#: off the scale
  // The notes keep their total probability (3 · e^0 before): the key chooses among pitches only.
  CHECK(std::exp(z[6]) + std::exp(z[7]) + std::exp(z[8]) == doctest::Approx(3));
  for (const size_t other : {0, 1, 2, 3, 4, 5, 9}) CHECK(z[other] == 0);  // no density asked: shifts untouched
  z = biased(c_major, drums);
  CHECK(z[7] == 0);  // a drum's note number is a sound, not a pitch
  CHECK_FALSE(model::ControlGuide(midi::Key{0, false}, -1, {}, 0, 3).active());  // strength 0: tokens alone
  CHECK_FALSE(model::ControlGuide(std::nullopt, 2, {8, 10}, 4, 0).active());

  model::ControlGuide high(std::nullopt, 2, {8, 10}, 0, 3);
  midi::EventGrammar g = piano;
  CHECK(biased(high, g)[6] == doctest::Approx(0));  // the first token: the prior bar is on target
  for (int beat = 0; beat < 8; ++beat) {            // one note a beat: far sparser than 11
    for (const int32_t t : {6, 9, 3}) {             // N60 D3 T12
      g.feed(t);
      high.feed(t, g);
    }
  }
  z = biased(high, g);
  CHECK(z[6] > 1);       // notes favoured
  CHECK(z[2] == -z[6]);  // shifts held back as much
  CHECK(z[9] == 0);      // durations untouched
  model::ControlGuide low(std::nullopt, 0, {8, 10}, 0, 3);
  midi::EventGrammar h = piano;
  biased(low, h);
  for (int n = 0; n < 40; ++n) {  // 40 notes in one beat: far denser than 7
    for (const int32_t t : {6, 9}) {
      h.feed(t);
      low.feed(t, h);
    }
    if (n % 10 == 9) {  // T1, four times in all: a third of a beat
      h.feed(2);
      low.feed(2, h);
    }
  }
  z = biased(low, h);
  CHECK(z[6] < -1);
  CHECK(z[3] > 1);
}

TEST_CASE("control guide: a pitch range holds back the notes outside it, the notes' total kept") {
  CHECK(model::range_bias(39, {40, 70}, 4) == -4);  // below
  CHECK(model::range_bias(40, {40, 70}, 4) == 0);   // both ends in
  CHECK(model::range_bias(70, {40, 70}, 4) == 0);
  CHECK(model::range_bias(71, {40, 70}, 4) == -4);  // above
  CHECK(model::range_bias(20, {40, 70}, 0) == 0);   // strength 0: no bias
  CHECK(model::PitchRange{40, 70}.moved(-2).lo == 38);

  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "P0", "DRUMS", "N60", "N61", "N62", "N63", "D3"};
  midi::EventGrammar piano(vocab, {}), drums(vocab, {});
  for (const int32_t t : {0, 3}) piano.feed(t);  // BOS P0
  for (const int32_t t : {0, 4}) drums.feed(t);  // BOS DRUMS
  auto biased = [&](const model::ControlGuide& guide, const midi::EventGrammar& g) {
    return biased_logits(guide, g, vocab.size());
  };
  const model::ControlGuide range(std::nullopt, -1, {}, 0, 0, model::PitchRange{60, 61}, 4);
  REQUIRE(range.active());
  std::vector<float> z = biased(range, piano);
  CHECK(z[5] == z[6]);                        // N60, N61: within
  CHECK(z[7] - z[5] == doctest::Approx(-4));  // N62, N63: above it
  CHECK(z[8] == z[7]);
  CHECK(z[5] > 0);  // the notes within gain what the ones outside lose: 4 · e^0 in all before
  CHECK(std::exp(z[5]) + std::exp(z[6]) + std::exp(z[7]) + std::exp(z[8]) == doctest::Approx(4));
  for (const size_t other : {0, 1, 2, 3, 4, 9}) CHECK(z[other] == 0);
  z = biased(range, drums);
  CHECK(z[8] == 0);  // a drum's note number is a sound: no range
  CHECK_FALSE(model::ControlGuide(std::nullopt, -1, {}, 0, 0, model::PitchRange{60, 61}, 0).active());
  // With the key as well: the two biases add (N61, C#, off C major's scale and within the range;
  // N63, D#, off the scale and above it), and without a range the key's biases are exactly as before.
  z = biased(model::ControlGuide(midi::Key{0, false}, -1, {}, 4, 0, model::PitchRange{60, 61}, 4), piano);
  CHECK(z[8] - z[6] == doctest::Approx(-4));
  CHECK(z[5] - z[6] == doctest::Approx(6));  // C: the tonic (+2) against C# (-4)
  const std::vector<float> key_alone = biased(model::ControlGuide(midi::Key{0, false}, -1, {}, 4, 0), piano);
  CHECK(key_alone[8] == key_alone[6]);  // D#, C#: both off the scale, neither held back by a range
}

TEST_CASE("control guide: an asked pitch range is in the music's key, moved into the network's by the piece's shift") {
  const std::vector<std::string> vocab = {"BOS", "P0", "N58", "N59", "N60", "N61"};
  midi::EventGrammar piano(vocab, {});
  for (const int32_t t : {0, 1}) piano.feed(t);  // BOS P0
  model::ControlRequest request;
  request.pitch_range = model::PitchRange{60, 61};
  // The music is the network's moved up 2 semitones: its 60-61 are the network's 58-59.
  model::ControlGuide guide = model::guide_of(model::CheckpointMeta{}, request, model::ChosenControls{}, 2);
  std::vector<float> z(vocab.size(), 0.0f);
  guide.bias(z.data(), static_cast<int64_t>(z.size()), piano);
  CHECK(z[2] == z[3]);
  CHECK(z[4] - z[2] == doctest::Approx(-model::kDefaultRangeStrength));
  CHECK(z[5] == z[4]);
}

TEST_CASE("control guide: a gap's density is its notes since its start over the time since, long notes aside") {
  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "T12", "P0", "DRUMS", "N60", "N61", "N62", "D48"};
  midi::EventGrammar g(vocab, {});
  for (const int32_t t : {0, 4}) g.feed(t);  // BOS P0
  // 20 notes at once, each 4 beats long, then one beat: 20 notes per beat since the start, 20 over
  // 4 beats (5 a beat) to the latest end of a note. Target 9 (mid of {8, 10}).
  model::ControlGuide piece(std::nullopt, 1, {8, 10}, 0, 3), gap(std::nullopt, 1, {8, 10}, 0, 3);
  gap.measure_density_from(0);
  for (int n = 0; n < 20; ++n)
    for (const int32_t t : {6 + n % 3, 9}) {
      g.feed(t);
      piece.feed(t, g), gap.feed(t, g);
    }
  g.feed(3);  // T12
  piece.feed(3, g), gap.feed(3, g);
  REQUIRE(g.music_end() == 48);
  model::ControlGuide aimed(std::nullopt, -1, {}, 0, 0);  // no class asked: a target of its own
  aimed.measure_density_from(0);
  aimed.aim_density(14, 3);
  for (const int32_t t : {6, 9}) aimed.feed(t, g);  // counted as notes: 1 so far
  REQUIRE(g.now() == 12);
  std::vector<float> zp(vocab.size(), 0.0f), zg(vocab.size(), 0.0f);
  piece.bias(zp.data(), static_cast<int64_t>(zp.size()), g);
  gap.bias(zg.data(), static_cast<int64_t>(zg.size()), g);
  // With a bar of the target in front: (20 + 36) / (4 + 4) = 7 a beat for the piece's measure
  // (too sparse), (20 + 36) / (1 + 4) = 11.2 for the gap's (too dense).
  CHECK(zp[6] == doctest::Approx(3 * std::log(9.0 / 7.0)).epsilon(1e-4));
  CHECK(zg[6] == doctest::Approx(3 * std::log(9.0 / 11.2)).epsilon(1e-4));
  // aim_density's target 14: (1 + 4 · 14) / (1 + 4) = 11.4 a beat, too sparse.
  REQUIRE(aimed.active());
  std::vector<float> za(vocab.size(), 0.0f);
  aimed.bias(za.data(), static_cast<int64_t>(za.size()), g);
  CHECK(za[6] == doctest::Approx(3 * std::log(14.0 / 11.4)).epsilon(1e-4));
  CHECK_FALSE(model::ControlGuide(std::nullopt, -1, {}, 0, 0).active());
}

TEST_CASE("control guide: keep_to replaces the range from then on, the key's bias kept; a guide without one starts") {
  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "P0", "N60", "N61", "N62", "N72"};
  midi::EventGrammar piano(vocab, {});
  for (const int32_t t : {0, 3}) piano.feed(t);  // BOS P0
  auto biased = [&](const model::ControlGuide& guide) { return biased_logits(guide, piano, vocab.size()); };
  // C major at 4 and the range 60..61: then kept to 70..74 instead.
  model::ControlGuide guide(midi::Key{0, false}, -1, {}, 4, 0, model::PitchRange{60, 61}, 4);
  std::vector<float> z = biased(guide);
  CHECK(z[7] - z[4] == doctest::Approx(-4));  // N72: a C outside 60..61, against N60, a C within it
  guide.keep_to(model::PitchRange{70, 74}, 8);
  z = biased(guide);
  CHECK(z[4] - z[7] == doctest::Approx(-8));     // N60 is now the one outside
  CHECK(z[6] - z[4] == doctest::Approx(0 - 2));  // N62 (D, in the scale) and N60 (C, the tonic): the key's alone
  CHECK(z[5] - z[6] == doctest::Approx(-4));     // N61, C#: off the scale
  // Kept to a range with none before: the guide becomes active; strength 0 leaves the key's alone.
  model::ControlGuide plain(std::nullopt, -1, {}, 0, 0);
  REQUIRE_FALSE(plain.active());
  plain.keep_to(model::PitchRange{72, 84}, 8);
  REQUIRE(plain.active());
  z = biased(plain);
  CHECK(z[4] - z[7] == doctest::Approx(-8));
  plain.keep_to(model::PitchRange{72, 84}, 0);
  CHECK_FALSE(plain.active());
}

TEST_CASE("control guide: pitch classes kept to those of some music, rare ones held back less, with a range") {
  // The shares: C half of the notes, D a quarter, E a sixteenth, G three sixteenths; the rest never.
  std::array<double, 12> shares{};
  shares[0] = 0.5, shares[2] = 0.25, shares[4] = 1.0 / 16, shares[7] = 3.0 / 16;
  const std::array<float, 12> bias = model::class_bias(shares, 4);
  CHECK(bias[0] == 0.0f);  // above a twelfth: free
  CHECK(bias[7] == 0.0f);
  CHECK(bias[4] == doctest::Approx(-4 * (1 - 12.0 / 16)));  // E: below a twelfth, held back in proportion
  CHECK(bias[1] == doctest::Approx(-4));                    // C#: never played
  CHECK(bias[11] == doctest::Approx(-4));

  const std::vector<std::string> vocab = {"BOS", "EOS", "T1", "P0", "N60", "N61", "N64", "N72", "N84"};
  midi::EventGrammar piano(vocab, {});
  for (const int32_t t : {0, 3}) piano.feed(t);  // BOS P0
  auto biased = [&](const model::ControlGuide& guide) { return biased_logits(guide, piano, vocab.size()); };
  model::ControlGuide guide(std::nullopt, -1, {}, 0, 0, model::PitchRange{60, 72}, 8);
  guide.keep_to_classes(bias);
  REQUIRE(guide.active());
  std::vector<float> z = biased(guide);
  CHECK(z[5] - z[4] == doctest::Approx(-4));  // C# against C
  CHECK(z[6] - z[4] == doctest::Approx(-1));  // E against C
  CHECK(z[8] - z[7] == doctest::Approx(-8));  // C6 outside the range against C5 within it: the range kept
  // The notes' total probability stays what it was (the range's and the classes' alike).
  double mass = 0;  // each of the 5 notes' logits was 0: exp(0) each
  for (size_t id = 4; id < vocab.size(); ++id) mass += std::exp(double(z[id]));
  CHECK(mass == doctest::Approx(5.0).epsilon(1e-5));
  // keep_to afterwards keeps the classes' bias; no bias at all leaves a guide without any inactive.
  guide.keep_to(model::PitchRange{0, 127}, 8);
  z = biased(guide);
  CHECK(z[8] - z[7] == doctest::Approx(0));
  CHECK(z[5] - z[4] == doctest::Approx(-4));
  model::ControlGuide plain(std::nullopt, -1, {}, 0, 0);
  plain.keep_to_classes({});
  CHECK_FALSE(plain.active());
}
