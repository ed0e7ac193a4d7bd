// trainer --infill-rate and composer --infill as a person runs them (docs/infill.md): the written
// file keeps every note outside the gap, N alternatives, and one line with exit code 2 for each
// refusal.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <tuple>

#include "midi/reader.h"
#include "midi/tokenizer_event.h"
#include "midi/writer.h"
#include "run_program.h"
#include "score_builder.h"
#include "temp_dir.h"

namespace {

using legato::testing::run_program;

size_t lines_of(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

// The notes of a file whose onsets lie outside grid steps [from, to), with everything a note has.
std::vector<std::tuple<int64_t, int, int, int64_t, int, int>> outside(const std::filesystem::path& file, int64_t from,
                                                                      int64_t to) {
  const legato::midi::Score s = legato::midi::read_midi_file(file);
  std::vector<std::tuple<int64_t, int, int, int64_t, int, int>> out;
  for (const auto& n : s.notes) {
    const int64_t step = legato::midi::EventTokenizer().to_steps(n.start_tick, s.ticks_per_quarter);
    if (step < from || step >= to)
      out.emplace_back(n.start_tick, n.channel, n.pitch, n.duration_ticks, n.velocity, n.program);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("programs: composer --infill keeps the file outside the gap; refusals are one line") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_infill");
  for (int k = 0; k < 3; ++k) {  // piano and drums
    std::string name = "p";      // appended, not "p" + std::to_string(k): GCC 12 warns falsely about that
    name += std::to_string(k) + ".mid";
    midi::write_midi_file(legato::testing::scale_piece(k, false, 120), data / name);
  }
  const std::string common =
      "--preset tiny --data " + data.string() + " --epochs 1 --hidden 16 --seq-len 24 --batch 4 --eval-pieces 0 --out ";
  const auto fim = run_program("trainer", common + (data / "fim").string() + " --infill-rate 0.5");
  INFO(fim.output);
  REQUIRE(fim.status == 0);
  const auto plain = run_program("trainer", common + (data / "plain").string());
  REQUIRE(plain.status == 0);
  const auto seed_scheme =
      run_program("trainer", common + (data / "seed").string() + " --infill-rate 0.5 --scheme seed");
  CHECK(seed_scheme.status == 2);
  CHECK(lines_of(seed_scheme.output) == 1);
  CHECK(seed_scheme.output.find("--infill-rate needs the event scheme") != std::string::npos);

  const std::string file = (data / "p1.mid").string();
  const std::string ck = " --checkpoint " + (data / "fim" / "best.safetensors").string();
  const auto out = data / "filled.mid";
  const auto filled = run_program("composer", ck + " --infill " + file + " --bars 3-4 --num-outputs 2 --seed 5 --out " +
                                                  out.string() + " --against " + data.string());
  INFO(filled.output);
  REQUIRE(filled.status == 0);
  CHECK(filled.output.find("infilled grid steps 96-192") != std::string::npos);
  CHECK(filled.output.find("mean OA") != std::string::npos);  // --against measures the results
  for (const char* name : {"filled_1.mid", "filled_2.mid"}) {
    REQUIRE(std::filesystem::exists(data / name));
    CHECK(outside(data / name, 96, 192) == outside(file, 96, 192));
    CHECK(outside(data / name, 96, 192).size() < midi::read_midi_file(data / name).notes.size());  // new notes
  }
  // Four candidate middles, the likeliest kept: the file outside the gap as it was.
  const auto chosen = run_program("composer", ck + " --infill " + file + " --bars 3-4 --infill-candidates 4 " +
                                                  "--infill-scored-tokens 8 --out " + out.string());
  CHECK(chosen.status == 0);
  CHECK(outside(out, 96, 192) == outside(file, 96, 192));
  const auto beats = run_program("composer", ck + " --infill " + file + " --beats 2-3 --out " + out.string());
  CHECK(beats.status == 0);
  CHECK(outside(out, 12, 36) == outside(file, 12, 36));

  // --infill-sees before: the same gap written by a continuation of what precedes it alone (no
  // sentinels read), the file outside the gap kept, the new notes other than the infilling's.
  const auto cont = data / "continued.mid";
  const auto continued =
      run_program("composer", ck + " --infill " + file + " --bars 3-4 --infill-sees before --seed 5 --out " +
                                  cont.string() + " --tokens-out " + (data / "continued.txt").string());
  INFO(continued.output);
  REQUIRE(continued.status == 0);
  CHECK(outside(cont, 96, 192) == outside(file, 96, 192));
  const auto inside = [](const std::filesystem::path& f) {
    const midi::Score s = midi::read_midi_file(f);
    std::vector<std::tuple<int64_t, int, int64_t>> in;
    for (const auto& n : s.notes)
      if (const int64_t step = midi::EventTokenizer().to_steps(n.start_tick, s.ticks_per_quarter);
          step >= 96 && step < 192)
        in.emplace_back(n.start_tick, n.pitch, n.start_tick + n.duration_ticks);
    return in;
  };
  CHECK_FALSE(inside(cont).empty());
  CHECK(inside(cont) != inside(data / "filled_1.mid"));  // the same seed, another context
  const int64_t gap_end_tick = 192 * midi::read_midi_file(cont).ticks_per_quarter / 12;
  for (const auto& [start, pitch, end] : inside(cont)) CHECK(end <= gap_end_tick);  // held to the gap's end
  std::ifstream read_tokens(data / "continued.txt");
  const std::string tokens((std::istreambuf_iterator<char>(read_tokens)), std::istreambuf_iterator<char>());
  CHECK(tokens.find("<suffix>") == std::string::npos);
  CHECK(tokens.find("<middle>") == std::string::npos);

  // Refusals: one line each, exit code 2.
  const std::string plain_ck = " --checkpoint " + (data / "plain" / "best.safetensors").string();
  for (const std::string& args : {plain_ck + " --infill " + file + " --bars 3-4",
                                  ck + " --infill " + file + " --bars 4-3",
                                  ck + " --infill " + file + " --bars 0-2",
                                  ck + " --infill " + file + " --bars 3-x",
                                  ck + " --infill " + file + " --beats 3",
                                  ck + " --infill " + file,
                                  ck + " --bars 3-4",
                                  ck + " --beats 1-2",
                                  ck + " --infill " + file + " --bars 300-301",
                                  ck + " --infill " + file + " --bars 3-4 --seconds 4",
                                  ck + " --infill " + (data / "none.mid").string() + " --bars 1-2",
                                  ck + " --infill " + file + " --bars 3-4 --listen",
                                  ck + " --bars 3 --infill-sees before",
                                  ck + " --infill " + file + " --bars 3-4 --infill-sees after",
                                  ck + " --infill " + file + " --bars 3-4 --infill-sees before --infill-candidates 2",
                                  ck + " --infill " + file + " --bars 3-4 --infill-candidates 0",
                                  ck + " --infill " + file + " --bars 3-4 --infill-overshoot maybe",
                                  ck + " --bars 3 --infill-candidates 2",
                                  ck + " --infill " + file + " --bars 3-4 --infill-sees before --infill-range around",
                                  ck + " --infill " + file + " --bars 3-4 --infill-range wide"}) {
    const auto r = run_program("composer", args + " --out " + out.string());
    INFO(args, "\n", r.output);
    CHECK(r.status == 2);
    CHECK(lines_of(r.output) == 1);
  }
  const auto refused = run_program("composer", plain_ck + " --infill " + file + " --bars 3-4");
  CHECK(refused.output ==
        "composer: --infill needs a checkpoint trained for infilling (trainer --infill-rate, event "
        "scheme); this one was not\n");
  CHECK(run_program("composer", "--help").output.find("--infill") != std::string::npos);
  CHECK(run_program("trainer", "--help").output.find("--infill-rate") != std::string::npos);
}
