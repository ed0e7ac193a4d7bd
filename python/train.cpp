// legato.train: the trainer's run (train/trainer.h, the same options and files), on a thread of
// its own while the calling thread reports progress to Python and passes on Ctrl-C.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <sstream>
#include <thread>

#include "common.h"
#include "train/trainer.h"

namespace legato::python {
namespace {

// The trainer's output lines, handed from the training thread to the Python thread.
class LineBuffer : public std::stringbuf {
 public:
  std::string take() {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    std::string s = str();
    str("");
    return s;
  }

 protected:
  int sync() override { return 0; }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return std::stringbuf::xsputn(s, n);
  }
  int_type overflow(int_type c) override {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    return std::stringbuf::overflow(c);
  }

 private:
  std::recursive_mutex mutex_;  // recursive: stringbuf's xsputn calls overflow
};

struct Event {
  model::TrainProgress p;
  std::optional<model::EpochMetrics> metrics;
};

const std::set<std::string> kIntegers = {"epochs",    "batch",     "seq-len", "hidden",      "layers",
                                         "embedding", "transpose", "seed",    "eval-pieces", "eval-every"};
const std::set<std::string> kNumbers = {"dropout", "lr", "clip", "val-split", "infill-rate"};
const std::set<std::string> kWords = {"scheme", "objective", "best-by"};

std::string option_text(const std::string& key, const py::handle& v) {
  const bool is_bool = py::isinstance<py::bool_>(v);
  if (key == "normalise-key") {
    if (!is_bool) throw std::invalid_argument("normalise_key must be True or False");
    return v.cast<bool>() ? "yes" : "no";
  }
  if (kIntegers.count(key)) {
    if (is_bool || !py::isinstance<py::int_>(v)) throw std::invalid_argument(key + " must be a whole number");
    return std::to_string(v.cast<int64_t>());
  }
  if (kNumbers.count(key)) {
    if (is_bool || !(py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)))
      throw std::invalid_argument(key + " must be a number");
    std::ostringstream s;
    s.precision(17);
    s << v.cast<double>();
    return s.str();
  }
  if (kWords.count(key)) {
    if (!py::isinstance<py::str>(v)) throw std::invalid_argument(key + " must be a string");
    return v.cast<std::string>();
  }
  throw std::invalid_argument("unknown training option '" + key + "'");
}

double number(const py::handle& v, const char* what) {
  if (py::isinstance<py::bool_>(v) || !(py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)))
    throw std::invalid_argument(std::string(what) + " must be a number");
  return v.cast<double>();
}

py::dict metrics_dict(const model::EpochMetrics& m) {
  py::dict d;
  d["epoch"] = m.epoch, d["step"] = m.step, d["train_loss"] = m.train_loss, d["val_loss"] = m.val_loss;
  d["val_perplexity"] = m.val_perplexity, d["val_accuracy"] = m.val_accuracy, d["mean_oa"] = m.mean_oa;
  d["seconds"] = m.seconds;
  return d;
}

// `data` (None, a path, or an iterable of paths) into o.data; a path that is not there is a FileError.
void take_data(const py::object& data, model::TrainOptions& o) {
  if (data.is_none()) return;
  std::vector<py::handle> items;
  if (py::isinstance<py::str>(data) || py::isinstance(data, py::module_::import("pathlib").attr("PurePath")))
    items.push_back(data);
  else
    for (const py::handle& h : py::iter(data)) items.push_back(h);
  for (const py::handle& h : items) {
    const std::string p = py::str(h);
    if (!std::filesystem::exists(p)) {
      FileError e("data " + p + ": no such file or folder");
      e.missing = true;
      throw e;
    }
    o.data.emplace_back(p);
  }
}

// The keyword options by the trainer's names (seq_len for --seq-len) into `settings`, as run.json
// keeps them, and the ones run.json does not keep (how and where the run goes) into `o`.
void take_options(const py::kwargs& kwargs, model::RunSettings& settings, model::TrainOptions& o) {
  for (const auto& [k, v] : kwargs) {
    std::string key = py::str(k);
    for (char& c : key)
      if (c == '_') c = '-';
    if (key == "checkpoint-every") {
      o.checkpoint_every_minutes = number(v, "checkpoint_every");
    } else if (key == "cache") {
      o.cache_dir = py::str(v).cast<std::string>();
    } else if (key == "no-cache") {
      o.no_cache = v.cast<bool>();
    } else if (key == "device") {
      const std::string d = py::str(v);
      if (d != "cpu" && d != "cuda") throw std::invalid_argument("device must be 'cpu' or 'cuda'");
      o.device = d == "cuda" ? Device::CUDA : Device::CPU;
    } else if (key == "data" || key == "preset" || !settings.count(key)) {
      throw std::invalid_argument(
          "unknown training option '" + std::string(py::str(k)) +
          "' (trainer's options: epochs, batch, seq_len, hidden, layers, embedding, dropout, "
          "lr, clip, val_split, transpose, normalise_key, scheme, objective, best_by, infill_rate, seed, "
          "eval_pieces, eval_every, checkpoint_every, cache, no_cache, device)");
    } else {
      settings[key] = option_text(key, v);
    }
  }
}

// The trainer's lines and progress events, handed from the training thread to Python's.
struct Relay {
  std::mutex mutex;
  std::deque<Event> events;
  LineBuffer lines;

  // The lines to Python's stdout (when verbose) and the events to the callback.
  void flush(const py::object& callback, bool verbose) {
    if (const std::string text = lines.take(); !text.empty() && verbose) {
      py::module_::import("sys").attr("stdout").attr("write")(text);
      py::module_::import("sys").attr("stdout").attr("flush")();
    }
    std::deque<Event> now;
    {
      std::lock_guard<std::mutex> lock(mutex);
      now.swap(events);
    }
    for (const Event& e : now) {
      py::dict d;
      d["epoch"] = e.p.epoch, d["batch"] = e.p.batch, d["batches"] = e.p.batches, d["step"] = e.p.step;
      d["loss"] = e.p.loss;
      d["metrics"] = e.metrics ? py::object(metrics_dict(*e.metrics)) : py::none();
      callback(d);
    }
  }
};

// Runs train(o) on a thread of its own while this one relays its lines and events; returns its code.
int run_training(model::TrainOptions o, const py::object& callback, bool verbose) {
  Relay relay;
  if (!callback.is_none())
    o.on_progress = [&](const model::TrainProgress& p) {
      std::lock_guard<std::mutex> lock(relay.mutex);
      Event e{p, std::nullopt};
      if (p.metrics) e.metrics = *p.metrics, e.p.metrics = nullptr;
      if (relay.events.size() < 10000) relay.events.push_back(e);
    };
  std::ostream log(&relay.lines);
  std::atomic<bool> finished{false};
  int code = 0;
  std::exception_ptr error;
  std::thread worker;
  {
    py::gil_scoped_release release;
    worker = std::thread([&] {
      try {
        code = model::train(o, log);
      } catch (...) {
        error = std::current_exception();
      }
      finished = true;
    });
  }
  // However this thread leaves (a callback's exception, Ctrl-C), the run stops after its batch,
  // with checkpoints, and is joined: nothing of it outlives the call.
  struct Stopper {
    std::thread& worker;
    std::atomic<bool>& finished;
    ~Stopper() {
      py::gil_scoped_release release;
      while (!finished) {
        model::request_stop();  // again and again: a run not yet started clears the request
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      if (worker.joinable()) worker.join();
    }
  } stopper{worker, finished};
  while (!finished) {
    relay.flush(callback, verbose);
    // Ctrl-C before the trainer's own handler is installed, or after it is gone: Python's.
    if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    py::gil_scoped_release release;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  {
    py::gil_scoped_release release;
    worker.join();
  }
  worker = std::thread();  // joined: the Stopper has nothing left to do
  finished = true;
  relay.flush(callback, verbose);
  if (error) std::rethrow_exception(error);
  return code;
}

py::dict train(const py::object& data, const std::string& preset, const std::filesystem::path& out, double max_minutes,
               const py::object& callback, bool resume, bool overwrite, bool verbose, const py::kwargs& kwargs) {
  model::TrainOptions o;
  try {
    o.recipe = model::preset(preset);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument("preset must be 'seed', 'default' or 'tiny', not '" + preset + "'");
  }
  o.preset = preset;
  take_data(data, o);
  if (!(max_minutes >= 0)) throw std::invalid_argument("max_minutes must be 0 (no limit) or more");
  o.max_minutes = max_minutes, o.out = out, o.resume = resume, o.overwrite = overwrite;
  if (!callback.is_none() && !PyCallable_Check(callback.ptr()))
    throw std::invalid_argument("callback must be callable");
  // The recipe's options by the trainer's names (seq_len for --seq-len), as run.json keeps them.
  model::RunSettings settings = model::run_settings(o);
  take_options(kwargs, settings, o);
  model::apply_run_settings(settings, o);
  // run.json keeps the run's settings: resume with nothing given takes them (as trainer --resume).
  if (resume && kwargs.empty()) {
    try {
      model::apply_run_settings(model::load_run_settings(o.out), o);
    } catch (const model::InputError&) {  // no run to resume: train() says so
    }
  }
  o.quiet = !verbose;
  const int code = run_training(o, callback, verbose);
  if (code == 130) {  // SIGINT (or SIGTERM) during the run: stopped after a batch, checkpoint written
    PyErr_SetString(PyExc_KeyboardInterrupt, ("training interrupted: checkpoint written to " +
                                              model::last_checkpoint(o.out).string() + "; continue with resume=True")
                                                 .c_str());
    throw py::error_already_set();
  }
  py::dict result;
  result["out"] = o.out.string();
  result["best"] = model::best_checkpoint(o.out).string();
  result["last"] = model::last_checkpoint(o.out).string();
  return result;
}

}  // namespace

void init_train(py::module_& m) {
  m.def("train", &train, py::arg("data") = py::none(), py::arg("preset") = "default", py::arg("out") = "out/train",
        py::arg("max_minutes") = 0.0, py::arg("callback") = py::none(), py::arg("resume") = false,
        py::arg("overwrite") = false, py::arg("verbose") = true,
        "Trains as the trainer program does, with its options (epochs=, hidden=, seq_len=, lr=, ...: trainer's "
        "flags with _ for -) and its files in `out` (best.safetensors, last.safetensors, metrics.csv, run.json, "
        "...). data: MIDI files or folders (None: the default corpus). callback(progress) is called after every "
        "batch with a dict of epoch, batch, batches, step, loss and metrics (at an epoch's end: train_loss, "
        "val_loss, mean_oa, ...; else None). verbose prints the trainer's lines. Ctrl-C stops after the current "
        "batch, writes the checkpoint and raises KeyboardInterrupt; resume=True goes on. Returns the paths of "
        "out, best and last.");
}

}  // namespace legato::python
