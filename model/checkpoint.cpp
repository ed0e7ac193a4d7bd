#include "model/checkpoint.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "model/safetensors.h"

namespace legato::model {

using nlohmann::json;

std::string config_to_json(const CheckpointMeta& meta) {
  const ModelConfig& c = meta.config;
  json j = {{"vocab", c.vocab},
            {"input", c.input == InputKind::Embedding ? "embedding" : "scalar"},
            {"embedding_dim", c.embedding_dim},
            {"hidden", c.hidden},
            {"layers", c.layers},
            {"dropout", c.dropout},
            {"dense", c.dense},
            {"dense_relu", c.dense_relu},
            {"scheme", meta.scheme == "event:1" ? std::string("event") : meta.scheme},
            {"objective", meta.objective},
            {"seq_len", meta.seq_len}};
  if (meta.scheme == "event" || meta.scheme == "event:1") j["scheme_version"] = meta.scheme == "event" ? 2 : 1;
  if (!meta.keys.empty()) j["keys"] = meta.keys;  // only when trained in one key: other files stay as they were
  if (meta.infill_rate > 0) j["infill_rate"] = meta.infill_rate;  // likewise only when trained so
  if (!meta.controls.empty()) j["controls"] = meta.controls, j["density_bounds"] = meta.density_bounds;
  return j.dump();
}

void config_from_json(const std::string& text, CheckpointMeta& meta) {
  const json j = json::parse(text);
  ModelConfig& c = meta.config;
  c.vocab = j.at("vocab").get<int64_t>();
  const std::string input = j.at("input").get<std::string>();
  if (input != "scalar" && input != "embedding") throw std::runtime_error("unknown input kind '" + input + "'");
  c.input = input == "embedding" ? InputKind::Embedding : InputKind::Scalar;
  c.embedding_dim = j.value("embedding_dim", int64_t{0});
  c.hidden = j.at("hidden").get<int64_t>();
  c.layers = j.at("layers").get<int>();
  c.dropout = j.value("dropout", 0.0);
  c.dense = j.at("dense").get<int64_t>();
  c.dense_relu = j.value("dense_relu", false);
  meta.scheme = j.value("scheme", std::string("seed"));
  if (meta.scheme == "event") {
    // Files written before the ensemble header have no scheme_version: they are version 1.
    const int version = j.value("scheme_version", 1);
    if (version != 1 && version != 2)
      throw std::runtime_error("unknown event scheme_version " + std::to_string(version));
    if (version == 1) meta.scheme = "event:1";
  }
  meta.objective = j.value("objective", std::string("last"));
  meta.seq_len = j.value("seq_len", int64_t{100});
  meta.keys = j.value("keys", std::vector<int64_t>{});
  meta.infill_rate = j.value("infill_rate", 0.0);
  meta.controls = j.value("controls", std::vector<std::string>{});
  meta.density_bounds = j.value("density_bounds", std::vector<double>{});
  if (!meta.controls.empty() && meta.density_bounds.size() != 2)
    throw std::runtime_error("\"density_bounds\" must be two numbers with \"controls\"");
  if (!(meta.infill_rate >= 0 && meta.infill_rate <= 1)) throw std::runtime_error("\"infill_rate\" must be in 0..1");
  const bool counts = std::all_of(meta.keys.begin(), meta.keys.end(), [](int64_t k) { return k >= 0; }) &&
                      std::any_of(meta.keys.begin(), meta.keys.end(), [](int64_t k) { return k > 0; });
  if (!meta.keys.empty() && (meta.keys.size() != 12 || !counts))
    throw std::runtime_error("\"keys\" must be 12 piece counts, not all zero");
}

const StyleProfile* style_profile(const CheckpointMeta& meta, const std::string& style) {
  for (const StyleProfile& p : meta.style_profiles)
    if (p.style == style) return &p;
  return nullptr;
}

void check_style_profile(const StyleProfile& p) {
  const std::string where = "style profile '" + p.style + "': ";
  const bool no_range = p.pitch_lo == -1 && p.pitch_hi == -1;
  if (!no_range && !(0 <= p.pitch_lo && p.pitch_lo <= p.pitch_hi && p.pitch_hi <= 127))
    throw std::runtime_error(where + "pitch range " + std::to_string(p.pitch_lo) + "-" + std::to_string(p.pitch_hi) +
                             " is not LO-HI within 0..127");
  if (!(std::isfinite(p.seconds) && p.seconds >= 0 && std::isfinite(p.notes_per_beat) && p.notes_per_beat >= 0))
    throw std::runtime_error(where + "seconds and notes_per_beat must be finite and 0 or more");
  if (p.pieces < 1 || p.style.empty()) throw std::runtime_error(where + "needs a name and at least one piece");
}

namespace {

// legato.styles: [{"style": NAME, "pitch_range": [LO, HI] (absent without pitched notes), "seconds": S,
// "notes_per_beat": D, "pieces": N}, ...].
json styles_to_json(const std::vector<StyleProfile>& profiles) {
  json out = json::array();
  for (const StyleProfile& p : profiles) {
    json j = {{"style", p.style}, {"seconds", p.seconds}, {"notes_per_beat", p.notes_per_beat}, {"pieces", p.pieces}};
    if (p.has_range()) j["pitch_range"] = {p.pitch_lo, p.pitch_hi};
    out.push_back(j);
  }
  return out;
}

std::vector<StyleProfile> styles_from_json(const json& j) {
  std::vector<StyleProfile> out;
  for (const json& e : j) {
    StyleProfile& p = out.emplace_back();
    p.style = e.at("style").get<std::string>();
    if (const auto r = e.find("pitch_range"); r != e.end()) {
      const auto range = r->get<std::vector<int>>();
      if (range.size() != 2) throw std::runtime_error("style profile '" + p.style + "': pitch_range is not [LO, HI]");
      p.pitch_lo = range[0], p.pitch_hi = range[1];
    }
    p.seconds = e.at("seconds").get<double>();
    p.notes_per_beat = e.at("notes_per_beat").get<double>();
    p.pieces = e.at("pieces").get<int64_t>();
    check_style_profile(p);
  }
  return out;
}

}  // namespace

SafetensorsFile checkpoint_file(const MusicLSTM& net, const CheckpointMeta& meta) {
  SafetensorsFile file;
  for (const auto& p : net.parameters()) file.tensors.push_back({p.name, p.tensor.detach()});
  file.metadata["format"] = "pt";  // what PyTorch's safetensors loader expects to find
  file.metadata["legato.config"] = config_to_json(meta);
  file.metadata["legato.vocab"] = json(meta.vocab).dump();
  if (!meta.primers.empty()) file.metadata["legato.primers"] = json(meta.primers).dump();
  if (!meta.ensembles.empty()) file.metadata["legato.ensembles"] = json(meta.ensembles).dump();
  if (!meta.piece_controls.empty()) file.metadata["legato.controls"] = json(meta.piece_controls).dump();
  if (!meta.style_profiles.empty()) file.metadata["legato.styles"] = styles_to_json(meta.style_profiles).dump();
  return file;
}

void save_checkpoint(const std::filesystem::path& path, const MusicLSTM& net, const CheckpointMeta& meta) {
  save_safetensors(path, checkpoint_file(net, meta));
}

std::string checkpoint_problem(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status)) return "no such file";
  if (!std::filesystem::is_directory(status)) {
    // A safetensors file: 8 bytes of header length, then the header, a JSON object.
    std::ifstream f(path, std::ios::binary);
    unsigned char head[9] = {};
    f.read(reinterpret_cast<char*>(head), sizeof head);
    uint64_t header = 0;
    for (int k = 7; k >= 0; --k) header = header << 8 | head[k];
    const auto size = std::filesystem::file_size(path, ec);
    if (f.gcount() == sizeof head && head[8] == '{' && header >= 2 && !ec && header <= size - 8) return "";
    return "is not a checkpoint (trainer writes them: OUT/best.safetensors, OUT/last.safetensors)";
  }
  for (const char* name : {"best.safetensors", "last.safetensors"})
    if (std::filesystem::is_regular_file(path / name))
      return "is a folder (did you mean " + (path / name).string() + "?)";
  return "is a folder; give a checkpoint file, e.g. OUT/best.safetensors from `trainer --out OUT`";
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path) {
  const SafetensorsFile file = load_safetensors(path);
  auto fail = [&](const std::string& what) { throw std::runtime_error("checkpoint " + path.string() + ": " + what); };
  LoadedCheckpoint out;
  const auto config = file.metadata.find("legato.config");
  const auto vocab = file.metadata.find("legato.vocab");
  if (config == file.metadata.end() || vocab == file.metadata.end())
    fail("no legato.config or legato.vocab in __metadata__ (not a Legato checkpoint?)");
  try {
    config_from_json(config->second, out.meta);
    out.meta.vocab = json::parse(vocab->second).get<std::vector<std::string>>();
    if (const auto primers = file.metadata.find("legato.primers"); primers != file.metadata.end())
      out.meta.primers = json::parse(primers->second).get<std::vector<std::vector<int32_t>>>();
    if (const auto e = file.metadata.find("legato.ensembles"); e != file.metadata.end())
      out.meta.ensembles = json::parse(e->second).get<std::vector<std::vector<int32_t>>>();
    if (const auto c = file.metadata.find("legato.controls"); c != file.metadata.end())
      out.meta.piece_controls = json::parse(c->second).get<std::vector<std::vector<int32_t>>>();
    if (const auto st = file.metadata.find("legato.styles"); st != file.metadata.end())
      out.meta.style_profiles = styles_from_json(json::parse(st->second));
  } catch (const std::exception& e) {
    fail(std::string("bad metadata: ") + e.what());
  }
  if (static_cast<int64_t>(out.meta.vocab.size()) != out.meta.config.vocab)
    fail("the vocabulary has " + std::to_string(out.meta.vocab.size()) + " tokens but the config says " +
         std::to_string(out.meta.config.vocab));
  try {
    out.net = std::make_unique<MusicLSTM>(out.meta.config, nn::Init::Uninitialised);  // every tensor is read below
  } catch (const std::exception& e) {
    fail(std::string("bad config: ") + e.what());
  }
  for (const auto& p : out.net->parameters()) {
    const Tensor* t = file.find(p.name);
    if (!t) fail("tensor " + p.name + " is missing");
    if (t->shape() != p.tensor.shape())
      fail("tensor " + p.name + " is " + to_string(t->shape()) + " but the config needs " +
           to_string(p.tensor.shape()));
    if (t->dtype() == DType::I32) fail("tensor " + p.name + " is int32");
    Tensor target = p.tensor;
    if (t->dtype() == target.dtype())
      target.share_storage_of(*t);  // the file's tensor becomes the weight: no second copy
    else
      target.copy_from(*t);
  }
  return out;
}

}  // namespace legato::model
