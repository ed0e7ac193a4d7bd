// legato.read_midi, read_folder, Score (notes as a NumPy structured array), tokenize, detokenize.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <tuple>

#include "common.h"
#include "midi/loader.h"
#include "midi/reader.h"
#include "midi/tokenizer.h"
#include "midi/vocabulary.h"
#include "midi/writer.h"

namespace legato::python {

void require_file(const std::filesystem::path& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    FileError e(what + path.string() + ": no such file");
    e.missing = true;
    throw e;
  }
  if (std::filesystem::is_directory(path, ec)) throw FileError(what + path.string() + ": is a folder, not a file");
}

std::vector<int32_t> ids_of(const py::handle& obj, size_t vocab, const std::string& what, const std::string& whose) {
  const py::array a = py::array::ensure(obj);
  if (!a || a.ndim() != 1)
    throw std::invalid_argument(what + " must be a one-dimensional sequence of token ids" +
                                (a ? ", not of shape " + py::str(a.attr("shape")).cast<std::string>() : ""));
  const char kind = a.dtype().kind();
  if (a.size() > 0 && kind != 'i' && kind != 'u')
    throw std::invalid_argument(what + " must hold integers, not " + py::str(a.dtype()).cast<std::string>());
  const auto v = py::array_t<int64_t, py::array::forcecast>::ensure(a);
  std::vector<int32_t> ids;
  ids.reserve(static_cast<size_t>(v.size()));
  for (py::ssize_t k = 0; k < v.size(); ++k) {
    const int64_t id = v.data()[k];
    if (id < 0 || static_cast<size_t>(id) >= vocab)
      throw std::invalid_argument(what + "[" + std::to_string(k) + "] = " + std::to_string(id) +
                                  " is not a token id of " + whose + " (vocabulary of " + std::to_string(vocab) + ")");
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

int64_t tick_at(const midi::Score& s, double seconds) {
  if (s.smpte) return std::llround(seconds * s.smpte_ticks_per_second);
  auto after = std::upper_bound(s.tempo_map.begin(), s.tempo_map.end(), seconds,
                                [](double t, const midi::TempoChange& c) { return t < c.seconds; });
  int64_t base_tick = 0;
  double base_seconds = 0;
  int micros = midi::kDefaultMicrosPerQuarter;
  if (after != s.tempo_map.begin()) {
    base_tick = (after - 1)->tick;
    base_seconds = (after - 1)->seconds;
    micros = (after - 1)->micros_per_quarter;
  }
  return base_tick + std::llround((seconds - base_seconds) * s.ticks_per_quarter / (micros * 1e-6));
}

namespace {

// A structured dtype from (name, format, offset) fields and the item size: NumPy's dict form.
py::dtype record_dtype(const std::vector<std::tuple<const char*, const char*, size_t>>& fields, size_t size) {
  py::list names, formats, offsets;
  for (const auto& [name, format, offset] : fields) names.append(name), formats.append(format), offsets.append(offset);
  py::dict d;
  d["names"] = names, d["formats"] = formats, d["offsets"] = offsets, d["itemsize"] = size;
  return py::dtype::from_args(d);
}

// Made once and never freed: a static py::dtype would be released after the interpreter is gone.
const py::dtype& note_dtype() {
  static const py::dtype* dt = new py::dtype(record_dtype({{"pitch", "<i4", offsetof(NoteRecord, pitch)},
                                                           {"start", "<f8", offsetof(NoteRecord, start)},
                                                           {"end", "<f8", offsetof(NoteRecord, end)},
                                                           {"start_beat", "<f8", offsetof(NoteRecord, start_beat)},
                                                           {"end_beat", "<f8", offsetof(NoteRecord, end_beat)},
                                                           {"start_tick", "<i8", offsetof(NoteRecord, start_tick)},
                                                           {"end_tick", "<i8", offsetof(NoteRecord, end_tick)},
                                                           {"velocity", "<i4", offsetof(NoteRecord, velocity)},
                                                           {"program", "<i4", offsetof(NoteRecord, program)},
                                                           {"channel", "<i4", offsetof(NoteRecord, channel)},
                                                           {"track", "<i4", offsetof(NoteRecord, track)},
                                                           {"is_drum", "?", offsetof(NoteRecord, is_drum)}},
                                                          sizeof(NoteRecord)));
  return *dt;
}

midi::ReadOptions read_options(bool strict, bool sustain, const std::string& pairing) {
  midi::ReadOptions o;
  o.strict = strict;
  o.sustain_pedal = sustain;
  if (pairing == "fifo")
    o.pairing = midi::NotePairing::fifo;
  else if (pairing != "pretty_midi")
    throw std::invalid_argument("pairing must be 'pretty_midi' or 'fifo', not '" + pairing + "'");
  return o;
}

PyScore read_one(const std::filesystem::path& path, bool strict, bool sustain, const std::string& pairing) {
  const midi::ReadOptions options = read_options(strict, sustain, pairing);
  require_file(path, "");
  PyScore s;
  {
    py::gil_scoped_release release;
    s.score = midi::read_midi_file(path, options);
  }
  s.path = path.string();
  return s;
}

py::array notes_array(const midi::Score& s) {
  py::array a(note_dtype(), py::array::ShapeContainer{static_cast<py::ssize_t>(s.notes.size())});
  auto* r = static_cast<NoteRecord*>(a.mutable_data());
  for (const midi::Note& n : s.notes) {
    *r++ = NoteRecord{n.pitch,
                      n.start_seconds,
                      n.start_seconds + n.duration_seconds,
                      n.start_quarters,
                      n.start_quarters + n.duration_quarters,
                      n.start_tick,
                      n.end_tick(),
                      n.velocity,
                      n.program,
                      n.channel,
                      n.track,
                      n.is_drum()};
  }
  return a;
}

// Notes from a NOTE_DTYPE array: times come from `start` and `end` in seconds (pretty_midi's
// fields) through the tempo map; the beat and tick fields are recomputed from them.
void set_notes(midi::Score& s, const py::array& a) {
  if (!a.dtype().equal(note_dtype()))
    throw std::invalid_argument(
        "notes must be a structured array of dtype legato.NOTE_DTYPE (np.zeros(n, "
        "legato.NOTE_DTYPE)), not " +
        py::str(a.dtype()).cast<std::string>());
  if (a.ndim() != 1)
    throw std::invalid_argument("notes must be one-dimensional, not of shape " +
                                py::str(a.attr("shape")).cast<std::string>());
  const py::array rows = py::module_::import("numpy").attr("ascontiguousarray")(a);
  const auto* data = static_cast<const NoteRecord*>(rows.data());
  std::vector<midi::Note> notes;
  notes.reserve(static_cast<size_t>(rows.size()));
  for (py::ssize_t k = 0; k < rows.size(); ++k) {
    const NoteRecord& r = data[k];
    auto check = [&](const char* name, int64_t v, int64_t lo, int64_t hi) {
      if (v < lo || v > hi)
        throw std::invalid_argument("note " + std::to_string(k) + ": " + name + " " + std::to_string(v) +
                                    " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    };
    check("pitch", r.pitch, 0, 127);
    check("velocity", r.velocity, 1, 127);
    check("program", r.program, 0, 127);
    check("channel", r.channel, 0, 15);
    check("track", r.track, 0, 65535);
    if (!std::isfinite(r.start) || !std::isfinite(r.end) || r.start < 0 || r.end < r.start || r.end > 3600.0 * 14)
      throw std::invalid_argument("note " + std::to_string(k) + ": start " + std::to_string(r.start) + " and end " +
                                  std::to_string(r.end) + " must be seconds with 0 <= start <= end (under 14 h)");
    midi::Note n;
    n.pitch = r.pitch, n.velocity = r.velocity, n.program = r.program, n.channel = r.channel, n.track = r.track;
    n.start_tick = tick_at(s, r.start);
    n.duration_ticks = std::max<int64_t>(0, tick_at(s, r.end) - n.start_tick);
    notes.push_back(n);
  }
  std::stable_sort(notes.begin(), notes.end(), [](const midi::Note& a, const midi::Note& b) {
    return a.start_tick != b.start_tick ? a.start_tick < b.start_tick : a.track < b.track;
  });
  s.notes = std::move(notes);
  s.track_count = 0;
  for (const midi::Note& n : s.notes) s.track_count = std::max(s.track_count, n.track + 1);
  s.update_times();
}

py::array tempo_array(const midi::Score& s) {
  const py::dtype dt =
      record_dtype({{"time", "<f8", 0}, {"beat", "<f8", 8}, {"tick", "<i8", 16}, {"qpm", "<f8", 24}}, 32);
  py::array a(dt, py::array::ShapeContainer{static_cast<py::ssize_t>(s.tempo_map.size())});
  auto* p = static_cast<char*>(a.mutable_data());
  for (const midi::TempoChange& t : s.tempo_map) {
    const double time = t.seconds, beat = s.quarters_at(t.tick), qpm = t.bpm();
    std::memcpy(p, &time, 8), std::memcpy(p + 8, &beat, 8), std::memcpy(p + 16, &t.tick, 8),
        std::memcpy(p + 24, &qpm, 8);
    p += 32;
  }
  return a;
}

py::array meter_array(const midi::Score& s) {
  const py::dtype dt = record_dtype({{"time", "<f8", 0},
                                     {"beat", "<f8", 8},
                                     {"tick", "<i8", 16},
                                     {"numerator", "<i4", 24},
                                     {"denominator", "<i4", 28}},
                                    32);
  py::array a(dt, py::array::ShapeContainer{static_cast<py::ssize_t>(s.time_signatures.size())});
  auto* p = static_cast<char*>(a.mutable_data());
  for (const midi::TimeSignature& t : s.time_signatures) {
    const double time = s.seconds_at(t.tick), beat = s.quarters_at(t.tick);
    const int32_t num = t.numerator, den = t.denominator;
    std::memcpy(p, &time, 8), std::memcpy(p + 8, &beat, 8), std::memcpy(p + 16, &t.tick, 8),
        std::memcpy(p + 24, &num, 4), std::memcpy(p + 28, &den, 4);
    p += 32;
  }
  return a;
}

py::tuple tokenize(const PyScore& s, const std::string& scheme, const std::optional<std::vector<std::string>>& vocab) {
  const auto tokenizer = midi::make_tokenizer(scheme);
  std::vector<std::string> tokens;
  {
    py::gil_scoped_release release;
    tokens = tokenizer->tokenize(s.score);
  }
  std::vector<std::string> words;
  if (vocab) {
    words = *vocab;
  } else {  // the score's own vocabulary, as `miditool vocab` builds it
    midi::Vocabulary v;
    v.count(tokens);
    v.build(1, tokenizer->special_tokens());
    for (size_t k = 0; k < v.size(); ++k) words.push_back(v.token(static_cast<int>(k)));
  }
  std::unordered_map<std::string, int32_t> id;
  for (size_t k = 0; k < words.size(); ++k) id.emplace(words[k], static_cast<int32_t>(k));
  const auto unk = id.find(std::string(midi::kUnk));
  py::array_t<int32_t> ids(static_cast<py::ssize_t>(tokens.size()));
  int32_t* out = ids.mutable_data();
  for (const std::string& t : tokens) {
    auto it = id.find(t);
    if (it == id.end()) it = unk;
    if (it == id.end())
      throw std::invalid_argument("token '" + t + "' is not in the vocabulary, which has no UNK (scheme " + scheme +
                                  ")");
    *out++ = it->second;
  }
  return py::make_tuple(ids, words);
}

PyScore detokenize(const py::handle& ids_obj, const std::vector<std::string>& vocab, const std::string& scheme) {
  const auto tokenizer = midi::make_tokenizer(scheme);
  const std::vector<int32_t> ids = ids_of(ids_obj, vocab.size(), "ids", "the vocabulary");
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) tokens.push_back(vocab[static_cast<size_t>(id)]);
  PyScore s;
  py::gil_scoped_release release;
  s.score = tokenizer->detokenize(tokens);
  s.tokens = ids;
  return s;
}

// The reading of a folder's files, shared by the threads that read them: each claims the next
// file, and the Python-side score (the C++ object pybind will own) is made there, off the GIL.
struct FolderReading {
  const std::vector<std::filesystem::path>& files;
  const midi::ReadOptions& options;
  std::vector<std::unique_ptr<PyScore>> scores;  // scores[k] of files[k], or null: errors[k] says why
  std::vector<std::string> errors;
  std::atomic<size_t> next{0}, done{0};
  std::atomic<bool> cancel{false};
  std::mutex mutex;
  std::condition_variable all_done;  // wakes the reporting thread at once when the last file is read

  FolderReading(const std::vector<std::filesystem::path>& f, const midi::ReadOptions& o)
      : files(f), options(o), scores(f.size()), errors(f.size()) {}

  // Reads the next file nobody has claimed; false when there is none left (or Ctrl-C cancelled).
  bool read_next() {
    const size_t k = cancel ? files.size() : next++;
    if (k >= files.size()) return false;
    try {
      auto s = std::make_unique<PyScore>();
      s->score = midi::read_midi_file(files[k], options);
      s->path = files[k].string();
      scores[k] = std::move(s);
    } catch (const std::exception& e) {
      errors[k] = e.what();
    }
    if (++done == files.size()) {
      std::lock_guard<std::mutex> lock(mutex);
      all_done.notify_all();
    }
    return true;
  }
};

// read_folder's progress: "read N/M files" on stderr, or a callable(done, total), called with the
// GIL held whenever the count has moved; Ctrl-C raises KeyboardInterrupt from here.
struct FolderProgress {
  const py::object& progress;
  bool print = progress.is(py::bool_(true));
  bool call = !print && PyCallable_Check(progress.ptr());
  size_t shown = SIZE_MAX;

  void operator()(size_t done, size_t total) {
    if (done != shown && (print || call)) {
      if (print) std::fprintf(stderr, "\rread %zu/%zu files", done, total);
      if (call) progress(done, total);
      shown = done;
    }
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
  }
};

// The scores read, as Python objects in file order; the files that could not be read are named in
// one Python warning (the first five of them).
py::list collect_scores(FolderReading& reading) {
  const size_t n = reading.files.size();
  py::list out;
  std::string refused;
  int failed = 0;
  for (size_t k = 0; k < n; ++k) {
    if (std::unique_ptr<PyScore>& s = reading.scores[k]) {
      // The Python object owns it from here, even if append() throws.
      out.append(py::cast(s.release(), py::return_value_policy::take_ownership));
    } else if (failed++ < 5) {
      refused += (refused.empty() ? "" : "; ") + reading.errors[k];
    }
  }
  if (failed > 0) {
    const std::string message = std::to_string(failed) + " of " + std::to_string(n) +
                                " files could not be read and are left out: " + refused + (failed > 5 ? "; ..." : "");
    if (PyErr_WarnEx(PyExc_UserWarning, message.c_str(), 1) != 0) throw py::error_already_set();
  }
  return out;
}

// Every MIDI file under `path`, read on `threads` threads. On one, this thread reads, and between
// its files reports progress and watches for Ctrl-C every 100 ms: no thread to start, and about
// 0.8 of the CPU time (issue 28). On more, each reads on a thread of its own while this one
// reports: on a loaded machine this long-running thread got a core later than fresh ones (wall
// clock p10 on the seed corpus, load 11: 6.8-8.9 ms with this thread reading, 3.9-4.5 without).
py::list read_folder(const std::filesystem::path& path, bool strict, bool sustain, const std::string& pairing,
                     const py::object& progress, int threads) {
  const midi::ReadOptions options = read_options(strict, sustain, pairing);
  if (threads < 0) throw std::invalid_argument("threads must be 0 (every core) or more");
  FolderProgress report{progress};
  if (!report.print && !report.call && !progress.is_none() && !progress.is(py::bool_(false)))
    throw std::invalid_argument("progress must be True, False or a callable(done, total)");
  if (!std::filesystem::exists(path)) {
    FileError e(path.string() + ": no such file or folder");
    e.missing = true;
    throw e;
  }
  const std::vector<std::filesystem::path> files = midi::find_midi_files({path});
  const size_t n = files.size();
  FolderReading reading(files, options);
  const unsigned count =
      std::max(1u, std::min<unsigned>(threads > 0 ? threads : std::thread::hardware_concurrency(), unsigned(n)));
  std::vector<std::thread> pool;
  // Joins the readers however this function is left (an exception from the callback, Ctrl-C).
  struct Joiner {
    std::vector<std::thread>& pool;
    std::atomic<bool>& cancel;
    ~Joiner() {
      cancel = true;
      py::gil_scoped_release release;
      for (auto& t : pool) t.join();
    }
  } joiner{pool, reading.cancel};
  report(0, n);  // "read 0/N files" before the first file, as a long read shows it started
  {
    py::gil_scoped_release release;
    const unsigned others = count > 1 ? count : 0;
    for (unsigned t = 0; t < others; ++t)
      pool.emplace_back([&reading] {
        while (reading.read_next()) {
        }
      });
    auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    while (others == 0 && reading.read_next()) {
      if (std::chrono::steady_clock::now() < due) continue;
      py::gil_scoped_acquire acquire;
      report(reading.done, n);
      due = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    }
  }
  while (true) {  // the other threads' files
    const size_t d = reading.done.load();
    report(d, n);
    if (d == n) break;
    py::gil_scoped_release release;
    std::unique_lock<std::mutex> lock(reading.mutex);
    reading.all_done.wait_for(lock, std::chrono::milliseconds(100), [&] { return reading.done.load() == n; });
  }
  if (report.print) std::fprintf(stderr, "\n");
  return collect_scores(reading);
}

std::string score_repr(const PyScore& s) {
  char line[256];
  std::snprintf(line, sizeof line, "<legato.Score %s%s%zu notes, %.2f s, %d ticks per quarter%s>", s.path.c_str(),
                s.path.empty() ? "" : ": ", s.score.notes.size(), s.score.seconds_at(s.score.end_tick()),
                s.score.ticks_per_quarter, s.score.warnings.empty() ? "" : ", repaired");
  return line;
}

}  // namespace

void init_midi(py::module_& m) {
  m.attr("NOTE_DTYPE") = note_dtype();
  py::class_<PyScore>(m, "Score", "A piece of music: notes, tempo and meter changes (what the MIDI reader makes).")
      .def(py::init([](int resolution) {
             if (resolution < 1 || resolution > 32767)
               throw std::invalid_argument("resolution must be 1..32767 ticks per quarter note");
             PyScore s;
             s.score.ticks_per_quarter = resolution;
             return s;
           }),
           py::arg("resolution") = 480, "An empty score (120 bpm, 4/4) of `resolution` ticks per quarter note.")
      .def_property(
          "notes", [](const PyScore& s) { return notes_array(s.score); },
          [](PyScore& s, const py::array& a) { set_notes(s.score, a); },
          "The notes as a NumPy structured array of NOTE_DTYPE (a copy): pitch, start, end (seconds), "
          "start_beat, end_beat (quarter notes), start_tick, end_tick, velocity, program, channel, track, is_drum. "
          "Assigning takes start and end in seconds through the tempo map.")
      .def_property_readonly(
          "tempo_changes", [](const PyScore& s) { return tempo_array(s.score); },
          "Tempo changes: structured array of time (s), beat, tick, qpm; empty means 120 qpm throughout.")
      .def_property_readonly(
          "time_signature_changes", [](const PyScore& s) { return meter_array(s.score); },
          "Time signatures: structured array of time (s), beat, tick, numerator, denominator.")
      .def_property_readonly(
          "warnings",
          [](const PyScore& s) {
            std::vector<std::string> w;
            for (const auto& x : s.score.warnings) w.push_back(x.message());
            return w;
          },
          "The repairs the lenient reader made, one line each ('FILE: byte N: what').")
      .def_property_readonly(
          "resolution", [](const PyScore& s) { return s.score.ticks_per_quarter; }, "Ticks per quarter note.")
      .def_property_readonly(
          "end_time", [](const PyScore& s) { return s.score.seconds_at(s.score.end_tick()); },
          "The end of the last note, in seconds.")
      .def_readonly("path", &PyScore::path, "The file it was read from ('' for a composed or built score).")
      .def_property_readonly(
          "tokens",
          [](const PyScore& s) -> py::object {
            if (!s.tokens) return py::none();
            return py::array_t<int32_t>(static_cast<py::ssize_t>(s.tokens->size()), s.tokens->data());
          },
          "For a composed or detokenized score: the token ids it was made from (primer first); else None.")
      .def_readonly("primer_length", &PyScore::primer_length, "How many of `tokens` are the primer.")
      .def(
          "write",
          [](const PyScore& s, const std::filesystem::path& path) {
            std::vector<uint8_t> bytes;
            {
              py::gil_scoped_release release;
              bytes = midi::write_midi(s.score);
            }
            std::FILE* f = std::fopen(path.c_str(), "wb");
            if (!f) throw FileError(path.string() + ": cannot be written (" + std::strerror(errno) + ")");
            const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
            if (std::fclose(f) != 0 || !ok) throw FileError(path.string() + ": cannot be written (disk full?)");
          },
          py::arg("path"), "Writes a standard MIDI file (format 1, a track per instrument).")
      .def("__len__", [](const PyScore& s) { return s.score.notes.size(); })
      .def("__repr__", &score_repr);

  m.def("read_midi", &read_one, py::arg("path"), py::arg("strict") = false, py::arg("sustain") = false,
        py::arg("pairing") = "pretty_midi",
        "Reads a MIDI file into a Score. Damaged files are repaired (Score.warnings says how) unless strict, "
        "which raises MidiError instead; MidiError too for what cannot be repaired, OSError for a missing file. "
        "sustain: notes held by the pedal (CC64) last until it lifts. pairing: 'pretty_midi' or 'fifo' (music21's).");
  m.def("read_folder", &read_folder, py::arg("path"), py::arg("strict") = false, py::arg("sustain") = false,
        py::arg("pairing") = "pretty_midi", py::arg("progress") = false, py::arg("threads") = 0,
        "Reads every .mid/.midi file under `path` (recursively, in name order) on `threads` threads (0: every "
        "core; on 1, the calling thread reads). progress: True prints 'read N/M files' on stderr, or a callable(done, "
        "total). Files that cannot be "
        "read are left out, with one warning naming them.");
  m.def("tokenize", &tokenize, py::arg("score"), py::arg("scheme") = "event", py::arg("vocab") = py::none(),
        "The score's tokens as (ids, vocab): an int32 array of ids into vocab, a list of token strings. Without "
        "vocab, the score's own (the scheme's special tokens first, then by frequency); with one (a model's), "
        "unknown tokens become UNK.");
  m.def("detokenize", &detokenize, py::arg("ids"), py::arg("vocab"), py::arg("scheme") = "event",
        "The score of token ids (into vocab) of a scheme; tokens the scheme cannot place are skipped.");
}

}  // namespace legato::python
