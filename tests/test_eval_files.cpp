// One reading of a file set's features (eval::features_of_files): every readable piece in order,
// named by file, with the features of its score; a file that is not MIDI is left out, named and counted.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "eval/compare.h"
#include "midi/reader.h"
#include "small_corpus.h"

using namespace legato;

TEST_CASE("eval: a file set's features, the unreadable files left out, named and counted") {
  const auto dir = testing::write_small_corpus("eval_files", 2);
  std::ofstream(dir / "broken.mid") << "not a MIDI file";
  std::ostringstream log;
  int refused = 0;
  const std::vector<eval::NamedFeatures> pieces = eval::features_of_files({dir}, log, &refused);
  REQUIRE(pieces.size() == 2);
  CHECK(refused == 1);
  CHECK(log.str().find("broken.mid") != std::string::npos);
  CHECK(pieces[0].name == (dir / "piece0.mid").string());
  CHECK(pieces[1].name == (dir / "piece1.mid").string());
  const eval::Features direct = eval::features_of(midi::read_midi_file(dir / "piece1.mid"));
  CHECK(pieces[1].features.pitch_class_entropy == direct.pitch_class_entropy);
  CHECK(pieces[1].features.polyphony == direct.polyphony);
  CHECK(pieces[0].features.pitch_class_entropy != direct.pitch_class_entropy);  // each piece its own
}
