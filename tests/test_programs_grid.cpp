// composer keeps a piece to the positions in the beat of its notes so far (--grid-strength;
// model/onset_grid.h, RunningGrid), as a person runs it.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>

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
  for (int k = 0; k < 3; ++k) {  // C major scales in eighths at three densities
    std::string name = "p";      // appended: GCC 12 warns falsely about "p" + std::to_string(k)
    name += std::to_string(k) + ".mid";
    midi::write_midi_file(legato::testing::doubled_scale_piece(k), data / name);
  }
  const auto trained = run_program("trainer", "--preset tiny --data " + data.string() +
                                                  " --epochs 1 --hidden 16 --seq-len 96 --batch 4 --eval-pieces 0 "
                                                  "--val-split 0 --controls density --out " +
                                                  (data / "run").string());
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  // The primer plays eighth triplets (positions 0, 4 and 8 of the 12 in a beat): its last 96 tokens,
  // what the network reads, hold more than the 16 onsets that tell a grid. The file written without it
  // begins at its last onset.
  midi::write_midi_file(legato::testing::triplets_piece(), data / "triplets.mid");
  const auto on_triplets = [&](const std::string& asked) {  // the new onsets' share on the triplets, seeds 1-3
    legato::testing::TripletCount count;
    for (int seed = 1; seed <= 3; ++seed) {
      const auto r =
          run_program("composer", " --checkpoint " + (data / "run" / "best.safetensors").string() + " --primer " +
                                      (data / "triplets.mid").string() + " --no-primer-in-output --length 150 --out " +
                                      (data / "g.mid").string() + asked + " --seed " + std::to_string(seed));
      INFO(r.output);
      REQUIRE(r.status == 0);
      count.add(midi::read_midi_file(data / "g.mid"));  // the new notes alone, from the primer's last onset on
    }
    return count.share();
  };
  const double kept = on_triplets(""), free = on_triplets(" --grid-strength 0");
  INFO(kept, " against ", free);
  CHECK(kept >= 0.9);
  CHECK(kept > free + 0.2);
  // A density asked stands instead (a denser piece may need positions the piece has not struck): off
  // unless asked for.
  CHECK(on_triplets(" --density high") == on_triplets(" --density high --grid-strength 0"));
  CHECK(on_triplets(" --density high --grid-strength 1") >= 0.9);
  const auto r = run_program("composer", " --checkpoint " + (data / "run" / "best.safetensors").string() +
                                             " --grid-strength 2 --out " + (data / "g.mid").string());
  CHECK(r.status == 2);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}
