// The piano roll as drawn: the SVG is parsed and each rectangle and bar line is checked against
// the note or bar it stands for (one linear map for time, one for pitch, one colour per instrument).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include "midi/reader.h"
#include "midi/writer.h"
#include "render/piano_roll.h"
#include "render/piece_files.h"
#include "score_builder.h"
#include "temp_dir.h"
#include "test_render_process.h"
#include "test_render_svg.h"

using namespace legato;
using legato::testing::SvgElement;

namespace {

midi::Note note(int pitch, int64_t start, int64_t duration, int channel, int program) {
  return testing::make_note(pitch, start, duration, channel, program, 90);
}

// Two bars of 4/4, then 3/4: three instruments (piano, violin, drums), chords and rests.
midi::Score three_instruments() {
  midi::Score s;
  s.ticks_per_quarter = 480;
  s.time_signatures = {{0, 4, 4}, {3840, 3, 4}};
  for (int k = 0; k < 16; ++k) s.notes.push_back(note(60 + (k * 5) % 12, 240 * k, 200 + 40 * (k % 3), 0, 0));
  s.notes.push_back(note(64, 960, 960, 0, 0));  // a chord partner
  for (int k = 0; k < 6; ++k) s.notes.push_back(note(72 + k, 3840 + 720 * k, 600, 1, 40));
  for (int k = 0; k < 8; ++k) s.notes.push_back(note(k % 2 ? 38 : 36, 480 * k, 120, midi::kDrumChannel, 0));
  s.notes.push_back(note(48, 7680, 480, 0, 0));  // the last note ends at tick 8160, in the fourth 3/4 bar
  std::stable_sort(s.notes.begin(), s.notes.end(),
                   [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
  s.update_times();
  return s;
}

struct Map {
  double x0, x_per_tick, y0, y_per_pitch;  // x = x0 + x_per_tick·tick, y = y0 + y_per_pitch·pitch
};

// Infers the maps from two notes and checks every note's rectangle against them.
Map check_notes(const midi::Score& score, const std::vector<SvgElement>& rects) {
  REQUIRE(rects.size() == score.notes.size());
  size_t a = 0, b = 0, c = 0;
  for (size_t k = 0; k < score.notes.size(); ++k) {  // the farthest apart, so rounding matters least
    if (std::abs(score.notes[k].start_tick - score.notes[a].start_tick) >
        std::abs(score.notes[b].start_tick - score.notes[a].start_tick))
      b = k;
    if (std::abs(score.notes[k].pitch - score.notes[a].pitch) > std::abs(score.notes[c].pitch - score.notes[a].pitch))
      c = k;
  }
  REQUIRE(b != a);
  REQUIRE(c != a);
  Map m{};
  m.x_per_tick =
      (rects[b].number("x") - rects[a].number("x")) / double(score.notes[b].start_tick - score.notes[a].start_tick);
  m.x0 = rects[a].number("x") - m.x_per_tick * double(score.notes[a].start_tick);
  m.y_per_pitch = (rects[c].number("y") - rects[a].number("y")) / double(score.notes[c].pitch - score.notes[a].pitch);
  m.y0 = rects[a].number("y") - m.y_per_pitch * score.notes[a].pitch;
  CHECK(m.x_per_tick > 0);        // time runs to the right
  CHECK(m.y_per_pitch < 0);       // higher pitches are drawn higher up
  const double tolerance = 0.03;  // coordinates are written with two decimals
  for (size_t k = 0; k < score.notes.size(); ++k) {
    const midi::Note& n = score.notes[k];
    CAPTURE(k);
    CHECK(std::abs(rects[k].number("x") - (m.x0 + m.x_per_tick * double(n.start_tick))) <= tolerance);
    CHECK(std::abs(rects[k].number("width") - m.x_per_tick * double(n.duration_ticks)) <= tolerance);
    CHECK(std::abs(rects[k].number("y") - (m.y0 + m.y_per_pitch * n.pitch)) <= tolerance);
    CHECK(std::abs(rects[k].number("height") - std::abs(m.y_per_pitch)) <= tolerance);  // a row per semitone
  }
  return m;
}

}  // namespace

TEST_CASE("render: the piano roll draws every note, bar and instrument where it belongs") {
  const midi::Score score = three_instruments();
  const auto svg = testing::parse_svg(render::piano_roll_svg(score, {"test"}));
  const auto rects = testing::select(svg, "rect", "note");
  const Map m = check_notes(score, rects);

  // One colour per instrument: the same for the same instrument, different across instruments.
  std::map<std::pair<bool, int>, std::string> colour_of;
  std::set<std::string> colours;
  for (size_t k = 0; k < score.notes.size(); ++k) {
    const std::pair key{score.notes[k].is_drum(), score.notes[k].program};
    const std::string fill = rects[k].at("fill");
    if (colour_of.emplace(key, fill).second) colours.insert(fill);
    CHECK(colour_of.at(key) == fill);
  }
  CHECK(colour_of.size() == 3);
  CHECK(colours.size() == 3);
  const auto legend = testing::select(svg, "rect", "legend");
  REQUIRE(legend.size() == 3);
  std::set<std::string> legend_colours;
  for (const SvgElement& e : legend) legend_colours.insert(e.at("fill"));
  CHECK(legend_colours == colours);
  int names = 0;
  for (const SvgElement& e : svg)
    names += e.name == "text" && (e.text == "Acoustic Grand Piano" || e.text == "Violin" || e.text == "Drums");
  CHECK(names == 3);

  // Bars: two of 4/4 (1920 ticks) from 0, then 3/4 (1440 ticks) from 3840 until the end at 8160.
  const std::vector<double> expected_bars = {0, 1920, 3840, 5280, 6720};
  const auto bars = testing::select(svg, "line", "bar");
  REQUIRE(bars.size() == expected_bars.size());
  const double top = std::min(bars[0].number("y1"), bars[0].number("y2"));
  const double bottom = std::max(bars[0].number("y1"), bars[0].number("y2"));
  for (size_t k = 0; k < bars.size(); ++k) {
    CAPTURE(k);
    CHECK(bars[k].number("x1") == bars[k].number("x2"));  // vertical
    CHECK(std::abs(bars[k].number("x1") - (m.x0 + m.x_per_tick * expected_bars[k])) <= 0.02);
  }
  // The bar lines span every note's row.
  for (const SvgElement& r : rects) {
    CHECK(r.number("y") >= top - 1e-6);
    CHECK(r.number("y") + r.number("height") <= bottom + 1e-6);
  }
}

TEST_CASE("render: miditool roll draws a MIDI file; bad input gives an error") {
  const auto dir = testing::temp_dir("roll");
  const midi::Score score = three_instruments();
  midi::write_midi_file(score, dir / "piece.mid");
  const midi::Score back = midi::read_midi_file(dir / "piece.mid");  // notes in the reader's order
  const auto r = testing::run_process(
      {testing::program("miditool"), "roll", (dir / "piece.mid").string(), (dir / "piece.svg").string()});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto svg = testing::parse_svg(testing::slurp(dir / "piece.svg"));
  check_notes(back, testing::select(svg, "rect", "note"));
  CHECK(testing::select(svg, "line", "bar").size() == 5);
  CHECK(testing::select(svg, "rect", "legend").size() == 3);

  const auto missing = testing::run_process(
      {testing::program("miditool"), "roll", (dir / "nope.mid").string(), (dir / "x.svg").string()});
  CHECK(missing.code != 0);
  CHECK(missing.err.find("nope.mid") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "x.svg"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("render: a piece's files as composer and legato-serve write them, its folder made") {
  const auto dir = testing::temp_dir("piece_files");
  const midi::Score score = testing::scale_piece(0, false, 16);
  render::PieceFiles files;
  files.mid = dir / "new" / "piece.mid";  // the folder does not exist yet
  files.title = "piece.mid";
  std::vector<std::string> lines = render::write_piece_files(score, files);
  CHECK(lines.empty());  // the MIDI file alone says nothing
  CHECK(midi::read_midi_file(files.mid).notes.size() == score.notes.size());
  CHECK(!std::filesystem::exists(dir / "new" / "piece.svg"));
  files.svg = dir / "new" / "piece.svg";
  lines = render::write_piece_files(score, files);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == files.svg.string() + ": piano roll of " + std::to_string(score.notes.size()) + " notes");
  std::ifstream svg(files.svg);
  const std::string text((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  render::RollOptions roll;
  roll.title = "piece.mid";
  CHECK(text == render::piano_roll_svg(score, roll));
}
