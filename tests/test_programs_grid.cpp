// composer keeps a piece to the positions in the beat of its notes so far (--grid-strength;
// model/onset_grid.h, RunningGrid), as a person runs it.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "midi/reader.h"
#include "midi/tokenizer_event.h"
#include "midi/writer.h"
#include "run_program.h"
#include "score_builder.h"
#include "temp_dir.h"

using legato::testing::run_program;

TEST_CASE("programs: composer keeps a piece to the positions in the beat of its notes so far") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_grid");
  // What it learns from: eighths, eighth triplets and sixteenths, so that it strikes on any of those
  // steps from wherever it is.
  midi::Score sixteenths = legato::testing::scale_piece(0, false, 120);
  for (auto& n : sixteenths.notes) n.start_tick /= 2, n.duration_ticks = 100;
  sixteenths.update_times();
  midi::write_midi_file(legato::testing::scale_piece(0, false, 120), data / "eighths.mid");
  midi::write_midi_file(legato::testing::triplets_piece(), data / "triplets.mid");
  midi::write_midi_file(sixteenths, data / "sixteenths.mid");
  const auto trained = run_program("trainer", "--preset tiny --data " + data.string() +
                                                  " --epochs 1 --hidden 16 --seq-len 96 --batch 4 --eval-pieces 0 "
                                                  "--val-split 0 --out " +
                                                  (data / "run").string());
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  // The primer plays eighth triplets over the beat (positions 0, 4 and 8 of the 12 in a beat): its last
  // 96 tokens, what the network reads, hold more than the 16 onsets that tell a grid. The new notes keep
  // to those positions and to the beat's sixteenths (3, 6, 9), where a piece may go on from them, not
  // to where a sixteenth after a triplet would take them (7, 11, ...). The file written without the
  // primer begins at its last onset (grid step 476: position 8).
  const auto on_grid = [&](const std::string& asked) {  // the new onsets' share on that grid, seeds 1-3
    double onsets = 0, kept = 0;
    for (int seed = 1; seed <= 3; ++seed) {
      const auto r =
          run_program("composer", " --checkpoint " + (data / "run" / "best.safetensors").string() + " --primer " +
                                      (data / "triplets.mid").string() + " --no-primer-in-output --length 150 --out " +
                                      (data / "g.mid").string() + asked + " --seed " + std::to_string(seed));
      INFO(r.output);
      REQUIRE(r.status == 0);
      const midi::Score s = midi::read_midi_file(data / "g.mid");
      for (const auto& n : s.notes) {
        const int64_t from_beat = (midi::EventTokenizer().to_steps(n.start_tick, s.ticks_per_quarter) + 8) % 12;
        onsets += 1, kept += from_beat % 3 == 0 || from_beat % 4 == 0 ? 1 : 0;
      }
    }
    return onsets > 0 ? kept / onsets : 0.0;
  };
  std::filesystem::copy(data, "/tmp/s15/toyg",
                        std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
  const double kept = on_grid(""), free = on_grid(" --grid-strength 0");
  INFO(kept, " against ", free);
  CHECK(kept >= 0.98);
  CHECK(free < 0.9);  // left free, it strikes off them: 0.85 here
  const auto r = run_program("composer", " --checkpoint " + (data / "run" / "best.safetensors").string() +
                                             " --grid-strength 2 --out " + (data / "g.mid").string());
  CHECK(r.status == 2);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}
