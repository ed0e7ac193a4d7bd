// The one atomic file write (base/atomic_file.h): the new bytes replace the old file whole, no
// temporary file stays behind, and a write that never reaches commit() leaves the old file as it was.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "base/atomic_file.h"
#include "temp_dir.h"

namespace {

std::string contents(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("atomic file: the new bytes replace the old file whole; an unfinished write changes nothing") {
  const auto dir = legato::testing::temp_dir("atomic_file");
  const auto path = dir / "piece.txt";
  legato::write_file_atomically(path, "first");
  CHECK(contents(path) == "first");
  legato::write_file_atomically(path, std::string("second\0with a zero", 18));
  CHECK(contents(path) == std::string("second\0with a zero", 18));

  try {  // written in pieces, then abandoned before commit()
    legato::AtomicFile file(path);
    file.write("never", 5);
    throw std::runtime_error("stopped");
  } catch (const std::runtime_error&) {
  }
  CHECK(contents(path) == std::string("second\0with a zero", 18));

  legato::AtomicFile pieces(path);  // a WAV's way: header, then blocks
  pieces.write("a", 1);
  pieces.write(std::string("bc"));
  pieces.commit();
  CHECK(contents(path) == "abc");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files += entry.is_regular_file();
  CHECK(files == 1);  // no temporary file left

  CHECK_THROWS_WITH_AS(legato::write_file_atomically(dir / "no" / "such" / "folder.txt", "x"),
                       doctest::Contains("cannot write"), std::runtime_error);
}
