// The `legato._legato` extension: the library's functions for Python (legato/__init__.py adds the
// pure-Python parts). The library's exceptions become Python's: MidiError for unreadable MIDI,
// OSError for files, ValueError for bad arguments (std::invalid_argument and model::InputError).
#include "common.h"
#include "midi/error.h"
#include "train/trainer.h"

PYBIND11_MODULE(_legato, m) {
  namespace py = pybind11;
  using namespace legato;
  m.doc() = "Legato's C++ library: MIDI, tokens, models, training and metrics.";
  // A ValueError too, so that `except ValueError` catches every bad input. Never freed: a static
  // Python object would be released after the interpreter is gone.
  static auto* midi_error = new py::exception<midi::MidiError>(m, "MidiError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const midi::MidiError& e) {
      (*midi_error)(e.what());
    } catch (const python::FileError& e) {
      PyErr_SetString(e.missing ? PyExc_FileNotFoundError : PyExc_OSError, e.what());
    } catch (const model::InputError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const std::filesystem::filesystem_error& e) {
      PyErr_SetString(PyExc_OSError, e.what());
    }
  });
  python::init_midi(m);
  python::init_model(m);
  python::init_train(m);
  python::init_metrics(m);
}
