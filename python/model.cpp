// legato.load and Model: compose (as composer does), logits, step, state_dict.
#include <cmath>
#include <memory>
#include <random>
#include <sstream>

#include "common.h"
#include "corpus/corpus.h"
#include "model/checkpoint.h"
#include "model/composition.h"
#include "model/encoding.h"
#include "model/generator.h"
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

Model load(const std::filesystem::path& path) {
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
  return Model{ck, path.string()};
}

// A primer from music (a Score, or a MIDI file's path): its end as composer takes it, and in
// `shift` the semitones it was moved by into C (0 unless the network was trained there).
model::PrimerWindow midi_primer(const model::CheckpointMeta& meta, const py::object& primer_arg, int& shift) {
  std::vector<int32_t> ids;
  if (py::isinstance<PyScore>(primer_arg)) {
    ids = model::encode_score(primer_arg.cast<const PyScore&>().score, meta.scheme, meta.vocab, !meta.keys.empty(),
                              &shift);
  } else {
    const std::string path = py::str(primer_arg);
    require_file(path, "primer ");
    std::ostringstream log;
    std::vector<int> shifts;
    const auto pieces = model::encode_files({path}, meta.scheme, meta.vocab, log, !meta.keys.empty(), &shifts);
    if (pieces.empty()) throw midi::MidiError(path, 0, "cannot be read as a primer (" + log.str() + ")");
    ids = pieces[0], shift = shifts[0];
  }
  if (ids.empty()) throw std::invalid_argument("primer: no notes (a primer needs music to go on from)");
  // The end of the music, without its EOS (in event version 2 with its ensemble known to the grammar).
  return model::primer_window(meta, model::primer_from_piece(ids, meta.vocab, 0), meta.seq_len);
}

py::list compose(const Model& m, int64_t length, double temperature, int top_k, const std::optional<double>& top_p,
                 const std::optional<uint64_t>& seed_arg, const py::object& primer_arg, int n, bool greedy,
                 double tempo, bool two_hands) {
  const model::CheckpointMeta& meta = m.ck->meta;
  if (length < 1 || length > 1000000) throw std::invalid_argument("length must be 1..1000000");
  if (n < 1 || n > 1000) throw std::invalid_argument("n must be 1..1000");
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw std::invalid_argument("temperature must be a positive number (for the likeliest token use greedy=True)");
  if (top_k < 0) throw std::invalid_argument("top_k must be 0 (every token) or more");
  if (top_p && !(*top_p > 0 && *top_p <= 1)) throw std::invalid_argument("top_p must be in (0, 1]");
  if (tempo != 0 && !(tempo >= 1 && tempo <= 1000)) throw std::invalid_argument("tempo must be 1..1000 bpm (0: 120)");
  model::SamplingOptions sampling;
  sampling.temperature = temperature, sampling.top_k = top_k, sampling.top_p = top_p.value_or(1.0);
  sampling.greedy = greedy;
  const uint64_t seed = seed_arg ? *seed_arg : std::random_device{}() % 1000000;
  std::mt19937_64 rng(seed);

  // The primer, as composer chooses it: the user's (ids, a Score, a MIDI file), else one of the
  // checkpoint's windows (drawn with rng), else BOS.
  std::vector<int32_t> primer, context;  // context: PrimerWindow's, for the grammar alone
  std::optional<int> primer_key;         // a MIDI primer moved into C: the shift back into its key
  bool user_primer = true, primer_ids = false;
  if (primer_arg.is_none()) {
    user_primer = false;
    if (!meta.primers.empty())
      primer = meta.primers[std::uniform_int_distribution<size_t>(0, meta.primers.size() - 1)(rng)];
    else if (const int32_t bos = model::special_ids(meta.vocab).bos; bos >= 0)
      primer = {bos};
    else
      throw std::invalid_argument("the checkpoint has no primer windows and no BOS token: give a primer");
  } else if (py::isinstance<PyScore>(primer_arg) || py::isinstance<py::str>(primer_arg) ||
             py::isinstance(primer_arg, py::module_::import("pathlib").attr("PurePath"))) {
    int shift = 0;
    model::PrimerWindow window = midi_primer(meta, primer_arg, shift);
    primer = std::move(window.tokens), context = std::move(window.context);
    if (!meta.keys.empty()) primer_key = -shift;
  } else {
    primer_ids = true;
    primer = model::primer_from_piece(ids_of(primer_arg, meta.vocab.size(), "primer", "this model"), meta.vocab, 0);
    if (primer.empty()) throw std::invalid_argument("primer: no token before the end (EOS): give a beginning");
  }

  std::vector<PyScore> pieces;
  {
    py::gil_scoped_release release;  // composing is long: other threads run meanwhile
    for (int k = 0; k < n; ++k) {
      // As composer: the key first, then (from BOS) the piece's ensemble, then the piece, all from rng.
      const int shift = primer_key ? *primer_key : primer_ids ? 0 : model::draw_key_shift(meta.keys, rng);
      const std::vector<int32_t> started_from = user_primer ? primer : model::piece_primer(meta, primer, {}, rng);
      const std::vector<int32_t> generated = model::compose_piece(
          *m.ck->net, meta, started_from, model::PieceLength{length, 0}, sampling, rng, {}, context);
      PyScore piece;
      // The context names the instruments of the primer's notes and sounds nothing itself.
      std::vector<int32_t> heard = context;
      if (user_primer) heard.insert(heard.end(), started_from.begin(), started_from.end());
      heard.insert(heard.end(), generated.begin(), generated.end());
      piece.score = model::score_of(meta.scheme, meta.vocab, heard, tempo, shift, two_hands);
      piece.tokens = started_from;
      piece.tokens->insert(piece.tokens->end(), generated.begin(), generated.end());
      piece.primer_length = static_cast<int64_t>(started_from.size());
      pieces.push_back(std::move(piece));
    }
  }
  py::list out;
  for (auto& p : pieces) out.append(py::cast(std::move(p)));
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
      .def("compose", &compose, py::arg("length") = 500, py::arg("temperature") = 1.0, py::arg("top_k") = 0,
           py::arg("top_p") = py::none(), py::arg("seed") = py::none(), py::arg("primer") = py::none(),
           py::arg("n") = 1, py::arg("greedy") = false, py::arg("tempo") = 0.0, py::arg("two_hands") = true,
           "Composes n pieces of up to `length` tokens (fewer when EOS comes), as composer does: the same seed "
           "gives composer's tokens. primer: None (one of the checkpoint's windows, or BOS), token ids, a Score or "
           "a MIDI file's path (its end leads into the new music, and its notes start the piece). Returns a list "
           "of Score; each has .tokens (primer, then generated) and .primer_length. Releases the GIL.")
      .def("logits", &logits, py::arg("tokens"),
           "Logits [len(tokens), vocab] (float32): row t predicts the token after tokens[:t+1], from a zero state.")
      .def("step", &step, py::arg("token"), py::arg("state") = nullptr,
           "Feeds one token: returns (logits [vocab], state). state None starts from zero; the state given is "
           "advanced in place and returned.")
      .def("state_dict", &state_dict, "The parameters as float32 NumPy arrays, named as PyTorch's state_dict.")
      .def("__repr__", [](const Model& x) {
        const auto& c = x.ck->meta.config;
        return "<legato.Model " + x.path + ": " + x.ck->meta.scheme + ", vocab " + std::to_string(c.vocab) +
               ", hidden " + std::to_string(c.hidden) + " x " + std::to_string(c.layers) + ">";
      });
  m.def("load", &load, py::arg("path"),
        "Loads a checkpoint (.safetensors from trainer or legato.train) with its config and vocabulary. "
        "OSError for a missing file, ValueError for a file that is not a checkpoint.");
}

}  // namespace legato::python
