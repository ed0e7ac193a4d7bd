// legato.load and Model: compose (as composer does), logits, step, state_dict.
#include <cmath>
#include <memory>
#include <random>
#include <sstream>

#include "common.h"
#include "corpus/corpus.h"
#include "engine/precision.h"
#include "model/checkpoint.h"
#include "model/composition.h"
#include "model/encoding.h"
#include "model/generator.h"
#include "model/onset_grid.h"
#include "train/trainer.h"

namespace legato::python {
namespace {

// A loaded checkpoint, shared by the Model and every State made from it (a State's Generator
// reads the network's weights).
using Checkpoint = std::shared_ptr<const model::LoadedCheckpoint>;

struct State {
  Checkpoint ck;
  std::unique_ptr<model::Generator> gen;
  int64_t steps = 0;
};

struct Model {
  Checkpoint ck;
  std::string path;
};

// compose's key=, density=, style= and their guidance strengths (model/controls.h).
struct ComposeControls {
  std::optional<std::string> key, density, style;
  double key_strength = model::kDefaultKeyStrength, density_strength = model::kDefaultDensityStrength;
  std::optional<std::pair<int, int>> pitch_range;  // (LO, HI) MIDI notes, as composer --pitch-range
  double range_strength = model::kDefaultRangeStrength;
};

// precision: of the network's products ("fp32", or "bf16" on a CPU that multiplies it natively;
// "tf32" is the GPU's): ValueError with the one-line reason where this machine cannot.
Model load(const std::filesystem::path& path, const std::string& precision) {
  const std::optional<Precision> chosen = parse_precision(precision);
  if (!chosen) throw std::invalid_argument("precision: unknown '" + precision + "' (fp32, tf32 or bf16)");
  check_precision(*chosen, Device::CPU);
  if (const std::string problem = model::checkpoint_problem(path); !problem.empty()) {
    FileError e(path.string() + ": " + problem);
    e.missing = problem == "no such file";
    if (e.missing || problem.rfind("is a folder", 0) == 0) throw e;
    throw std::invalid_argument(path.string() + ": " + problem);
  }
  auto ck = std::make_shared<model::LoadedCheckpoint>();
  try {
    py::gil_scoped_release release;
    *ck = model::load_checkpoint(path);
  } catch (const std::runtime_error& e) {  // damaged or not ours: the caller's input
    throw std::invalid_argument(e.what());
  }
  ck->net->set_precision(*chosen);
  return Model{ck, path.string()};
}

// A primer from music (a Score, or a MIDI file's path): its tokens, and the semitones they were
// moved by into C (0 unless the network was trained there).
model::Primer music_primer(const model::CheckpointMeta& meta, const py::object& primer_arg) {
  model::Primer primer;
  primer.source = model::PrimerSource::Music;
  if (py::isinstance<PyScore>(primer_arg)) {
    primer.tokens = model::encode_score(primer_arg.cast<const PyScore&>().score, meta.scheme, meta.vocab,
                                        !meta.keys.empty(), &primer.encoded_shift);
  } else {
    const std::string path = py::str(primer_arg);
    require_file(path, "primer ");
    std::ostringstream log;
    primer = model::music_primer_of_file(path, meta, log);
    if (primer.tokens.empty()) throw midi::MidiError(path, 0, "cannot be read as a primer (" + log.str() + ")");
  }
  return primer;
}

// compose's primer argument: None (the pipeline's default: a checkpoint window or BOS), music (a
// Score, a MIDI file's path) or token ids.
model::Primer primer_of(const model::CheckpointMeta& meta, const py::object& primer_arg) {
  if (primer_arg.is_none()) return {};
  if (py::isinstance<PyScore>(primer_arg) || py::isinstance<py::str>(primer_arg) ||
      py::isinstance(primer_arg, py::module_::import("pathlib").attr("PurePath")))
    return music_primer(meta, primer_arg);
  model::Primer primer;
  primer.source = model::PrimerSource::Tokens;
  primer.tokens = ids_of(primer_arg, meta.vocab.size(), "primer", "this model");
  return primer;
}

// compose's sampling arguments, checked.
model::SamplingOptions sampling_of(double temperature, int top_k, const std::optional<double>& top_p, bool greedy) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw std::invalid_argument("temperature must be a positive number (for the likeliest token use greedy=True)");
  if (top_k < 0) throw std::invalid_argument("top_k must be 0 (every token) or more");
  if (top_p && !(*top_p > 0 && *top_p <= 1)) throw std::invalid_argument("top_p must be in (0, 1]");
  model::SamplingOptions sampling;
  sampling.temperature = temperature, sampling.top_k = top_k, sampling.top_p = top_p.value_or(1.0);
  sampling.greedy = greedy;
  return sampling;
}

// compose's control arguments (docs/controls.md), refused in composer's one line: a control the
// model was not trained with, an unknown value, a key with a primer (it brings its own key).
model::ControlRequest controls_of(const model::CheckpointMeta& meta, const model::Primer& primer,
                                  const ComposeControls& c) {
  model::ControlRequest controls{c.key.value_or(""), c.density.value_or(""), c.style.value_or("")};
  controls.key_strength = c.key_strength, controls.density_strength = c.density_strength;
  controls.range_strength = c.range_strength;
  if (c.pitch_range)  // composer's check and line: "pitch_range 72-36: give LO-HI, ..."
    controls.pitch_range = model::parse_pitch_range(
        std::to_string(c.pitch_range->first) + "-" + std::to_string(c.pitch_range->second), "pitch_range");
  if (c.key && primer.source != model::PrimerSource::Default)
    throw std::invalid_argument("key " + *c.key + ": a primer brings its own key (give one or the other)");
  model::check_controls(meta, controls);
  return controls;
}

py::list compose(const Model& m, std::optional<int64_t> length, double temperature, int top_k,
                 const std::optional<double>& top_p, const std::optional<uint64_t>& seed_arg,
                 const py::object& primer_arg, int n, bool greedy, double tempo, bool two_hands,
                 const ComposeControls& controls) {
  const model::CheckpointMeta& meta = m.ck->meta;
  if (length && (*length < 1 || *length > 1000000)) throw std::invalid_argument("length must be 1..1000000");
  if (n < 1 || n > 1000) throw std::invalid_argument("n must be 1..1000");
  model::CompositionRequest request;
  request.sampling = sampling_of(temperature, top_k, top_p, greedy);
  if (tempo != 0 && !(tempo >= 1 && tempo <= 1000)) throw std::invalid_argument("tempo must be 1..1000 bpm (0: 120)");
  request.seed = seed_arg ? *seed_arg : std::random_device{}() % 1000000;
  request.primer = primer_of(meta, primer_arg);
  if (const std::string problem = model::composition_problem(meta, request); !problem.empty())
    throw std::invalid_argument(request.primer.source == model::PrimerSource::Default ? problem + ": give a primer"
                                                                                      : "primer: " + problem);
  request.controls = controls_of(meta, request.primer, controls);
  // Only when one (or a pitch range, which guidance keeps to) is asked: a model with controls composes
  // from BOS alone otherwise, as before.
  request.with_controls = !request.controls.empty() || request.controls.pitch_range;
  // Without a length, a style's pieces last as long as its training pieces (its profile), else 500 tokens.
  const auto style_seconds = model::style_seconds(meta, request.controls);
  request.length = !length && style_seconds
                       ? model::PieceLength{1000000, model::steps_of_seconds(*style_seconds, tempo)}
                       : model::PieceLength{length.value_or(500), 0};
  request.count = n, request.tempo = tempo, request.two_hands = two_hands;
  request.grid_strength = model::grid_strength_for(request.controls);  // as composer's
  std::vector<model::ComposedPiece> composed;
  {
    py::gil_scoped_release release;  // composing is long: other threads run meanwhile
    composed = model::compose_pieces(*m.ck->net, meta, request);
  }
  py::list out;
  for (model::ComposedPiece& c : composed) {
    PyScore piece;
    piece.score = std::move(c.score);
    piece.tokens = c.primer;  // what the network was fed, then what it composed
    piece.tokens->insert(piece.tokens->end(), c.generated.begin(), c.generated.end());
    piece.primer_length = static_cast<int64_t>(c.primer.size());
    out.append(py::cast(std::move(piece)));
  }
  return out;
}

py::array_t<float> logits_row(const Tensor& logits) {
  const Tensor host = logits.device() == Device::CPU ? logits : logits.to(Device::CPU);
  return py::array_t<float>(static_cast<py::ssize_t>(host.numel()), host.data<float>());
}

py::array_t<float> logits(const Model& m, const py::handle& tokens) {
  const std::vector<int32_t> ids = ids_of(tokens, m.ck->meta.vocab.size(), "tokens", "this model");
  const int64_t v = static_cast<int64_t>(m.ck->meta.vocab.size());
  py::array_t<float> out({static_cast<py::ssize_t>(ids.size()), static_cast<py::ssize_t>(v)});
  float* dst = out.mutable_data();
  py::gil_scoped_release release;
  model::Generator gen(*m.ck->net);
  for (int32_t t : ids) {
    const Tensor& row = gen.feed(t);
    const Tensor host = row.device() == Device::CPU ? row : row.to(Device::CPU);
    std::copy_n(host.data<float>(), v, dst);
    dst += v;
  }
  return out;
}

py::tuple step(const Model& m, int64_t token, std::shared_ptr<State> state) {
  const int64_t v = static_cast<int64_t>(m.ck->meta.vocab.size());
  if (token < 0 || token >= v)
    throw std::invalid_argument("token " + std::to_string(token) + " is not a token id of this model (vocabulary of " +
                                std::to_string(v) + ")");
  if (!state) {
    state = std::make_shared<State>();
    state->ck = m.ck;
    state->gen = std::make_unique<model::Generator>(*m.ck->net);
  } else if (state->ck != m.ck) {
    throw std::invalid_argument("state belongs to another model");
  }
  py::array_t<float> out;
  {
    py::gil_scoped_release release;
    state->gen->feed(static_cast<int32_t>(token));
  }
  out = logits_row(state->gen->logits());
  ++state->steps;
  return py::make_tuple(out, state);
}

py::dict state_dict(const Model& m) {
  py::dict out;
  for (const nn::NamedTensor& p : m.ck->net->parameters()) {
    Tensor t = p.tensor.device() == Device::CPU ? p.tensor : p.tensor.to(Device::CPU);
    if (t.dtype() != DType::F32) t = t.to(DType::F32);
    std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end());
    out[py::str(p.name)] = py::array_t<float>(shape, t.data<float>());
  }
  return out;
}

}  // namespace

void init_model(py::module_& m) {
  py::class_<State, std::shared_ptr<State>>(m, "State",
                                            "The LSTM state of Model.step: h and c of every layer, advanced in place.")
      .def_readonly("steps", &State::steps, "Tokens fed so far.");
  py::class_<Model>(m, "Model", "A trained network with its configuration and vocabulary (legato.load).")
      .def_property_readonly(
          "config",
          [](const Model& x) { return py::module_::import("json").attr("loads")(model::config_to_json(x.ck->meta)); },
          "The configuration: vocab, input, embedding_dim, hidden, layers, dropout, dense, scheme, seq_len, ...")
      .def_property_readonly(
          "vocab", [](const Model& x) { return x.ck->meta.vocab; }, "The token strings in id order.")
      .def_property_readonly(
          "scheme", [](const Model& x) { return x.ck->meta.scheme; }, "The tokenizer scheme: 'event' or 'seed'.")
      .def_property_readonly(
          "seq_len", [](const Model& x) { return x.ck->meta.seq_len; }, "The training window.")
      .def_readonly("path", &Model::path)
      .def(
          "compose",
          [](const Model& m, std::optional<int64_t> length, double temperature, int top_k,
             const std::optional<double>& top_p, const std::optional<uint64_t>& seed, const py::object& primer, int n,
             bool greedy, double tempo, bool two_hands, std::optional<std::string> key,
             std::optional<std::string> density, std::optional<std::string> style, double key_strength,
             double density_strength, std::optional<std::pair<int, int>> pitch_range, double range_strength) {
            const ComposeControls controls{std::move(key),   std::move(density), std::move(style), key_strength,
                                           density_strength, pitch_range,        range_strength};
            return compose(m, length, temperature, top_k, top_p, seed, primer, n, greedy, tempo, two_hands, controls);
          },
          py::arg("length") = py::none(), py::arg("temperature") = 1.0, py::arg("top_k") = 0,
          py::arg("top_p") = py::none(), py::arg("seed") = py::none(), py::arg("primer") = py::none(), py::arg("n") = 1,
          py::arg("greedy") = false, py::arg("tempo") = 0.0, py::arg("two_hands") = true, py::arg("key") = py::none(),
          py::arg("density") = py::none(), py::arg("style") = py::none(),
          py::arg("key_strength") = model::kDefaultKeyStrength,
          py::arg("density_strength") = model::kDefaultDensityStrength, py::arg("pitch_range") = py::none(),
          py::arg("range_strength") = model::kDefaultRangeStrength,
          "Composes n pieces of up to `length` tokens (fewer when EOS comes; None: 500, or with a style whose "
          "profile the model holds, as long as its training pieces), as composer does: the same seed "
          "gives composer's tokens. primer: None (one of the checkpoint's windows, or BOS), token ids, a Score or "
          "a MIDI file's path (its end leads into the new music, and its notes start the piece). key ('D minor'), "
          "density ('low', 'mid', 'high'), style (a training folder): control tokens for a model trained with "
          "them, the others drawn from its corpus (docs/controls.md); key_strength, density_strength: how hard "
          "sampling is steered toward them (0: the tokens alone); pitch_range (LO, HI): the MIDI notes to keep to at "
          "range_strength (with a style and none given: the style's profile's range). Returns a list of Score; each "
          "has .tokens "
          "(primer, then generated) and .primer_length. Releases the GIL.")
      .def("logits", &logits, py::arg("tokens"),
           "Logits [len(tokens), vocab] (float32): row t predicts the token after tokens[:t+1], from a zero state.")
      .def("step", &step, py::arg("token"), py::arg("state") = nullptr,
           "Feeds one token: returns (logits [vocab], state). state None starts from zero; the state given is "
           "advanced in place and returned.")
      .def("state_dict", &state_dict, "The parameters as float32 NumPy arrays, named as PyTorch's state_dict.")
      .def_property_readonly(
          "precision", [](const Model& x) { return to_string(x.ck->net->precision()); },
          "The precision of the network's products (legato.load's precision).")
      .def("__repr__", [](const Model& x) {
        const auto& c = x.ck->meta.config;
        return "<legato.Model " + x.path + ": " + x.ck->meta.scheme + ", vocab " + std::to_string(c.vocab) +
               ", hidden " + std::to_string(c.hidden) + " x " + std::to_string(c.layers) + ">";
      });
  m.def("load", &load, py::arg("path"), py::arg("precision") = "fp32",
        "Loads a checkpoint (.safetensors from trainer or legato.train) with its config and vocabulary; its "
        "products run at `precision` (fp32, or bf16 on a CPU that has it; tf32 is the GPU's). OSError for a "
        "missing file, ValueError for a file that is not a checkpoint or a precision this machine cannot run.");
}

}  // namespace legato::python
