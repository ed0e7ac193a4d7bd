// What the binding files share: the Python-side score and the errors that become Python exceptions.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "midi/score.h"

namespace legato::python {

namespace py = pybind11;

// A score as Python sees it: the library's score, the file it came from, and, for composed
// pieces, the token ids it was made from.
struct PyScore {
  midi::Score score;
  std::string path;
  std::optional<std::vector<int32_t>> tokens;
  int64_t primer_length = 0;
};

// A file that cannot be opened, read or written: OSError in Python (FileNotFoundError when missing).
struct FileError : std::runtime_error {
  using std::runtime_error::runtime_error;
  bool missing = false;
};
// Throws FileError unless `path` is an existing regular file (`what` names the argument).
void require_file(const std::filesystem::path& path, const std::string& what);

// One row of Score.notes (NOTE_DTYPE): pretty_midi's names, and the same in beats and ticks.
struct NoteRecord {
  int32_t pitch;
  double start, end;            // seconds
  double start_beat, end_beat;  // quarter notes
  int64_t start_tick, end_tick;
  int32_t velocity, program, channel, track;
  bool is_drum;
};

// Token ids from a Python sequence or array: one-dimensional integers, each below `vocab`; the
// message names `what` and says whose ids they must be (`whose`: "this model", ...).
std::vector<int32_t> ids_of(const py::handle& obj, size_t vocab, const std::string& what, const std::string& whose);

// Seconds -> ticks through the score's tempo map (the inverse of Score::seconds_at).
int64_t tick_at(const midi::Score& score, double seconds);

void init_midi(py::module_& m);
void init_model(py::module_& m);
void init_train(py::module_& m);
void init_metrics(py::module_& m);

}  // namespace legato::python
