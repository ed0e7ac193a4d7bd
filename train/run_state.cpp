#include "train/run_state.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/safetensors.h"
#include "train/trainer.h"

namespace legato::model {
namespace {

// "key,density" as {"key", "density"}; "" as none.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string number_text(double x) {
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, x).ptr;  // the shortest text that reads back exactly
  return std::string(buf, end);
}

}  // namespace

void save_state(const std::filesystem::path& path, const RunState& s, const optim::Optimizer& opt, const MusicLSTM& net,
                const CheckpointMeta& meta) {
  SafetensorsFile file = checkpoint_file(net, meta);
  const auto slots = opt.state();
  for (size_t k = 0; k < slots.size(); ++k)
    for (const auto& p : slots[k]) file.tensors.push_back({"optimizer." + std::to_string(k) + "." + p.name, p.tensor});
  const nlohmann::json j = {{"epoch", s.epoch},
                            {"batch", s.batch},
                            {"step", s.step},
                            {"dropout_offset", s.dropout_offset},
                            {"loss_sum", s.loss_sum},
                            {"loss_count", s.loss_count},
                            {"best", std::isinf(s.best) ? -1.0 : s.best},
                            {"seconds", s.seconds}};
  file.metadata["legato.train_state"] = j.dump();
  file.metadata["legato.metrics"] = metrics_json(s.metrics);
  save_safetensors(path, file);
}

RunState load_state(const std::filesystem::path& path, optim::Optimizer& opt) {
  const SafetensorsFile file = load_safetensors(path);
  RunState s;
  try {
    const auto j = nlohmann::json::parse(file.metadata.at("legato.train_state"));
    s.epoch = j.at("epoch");
    s.batch = j.at("batch");
    s.step = j.at("step");
    s.dropout_offset = j.at("dropout_offset");
    s.loss_sum = j.at("loss_sum");
    s.loss_count = j.at("loss_count");
    const double best = j.at("best");
    s.best = best < 0 ? INFINITY : best;
    s.seconds = j.at("seconds");
    s.metrics = metrics_from_json(file.metadata.at("legato.metrics"));
  } catch (const std::exception& e) {
    throw std::runtime_error("training state " + path.string() + " is damaged: " + e.what());
  }
  const auto slots = opt.state();
  for (size_t k = 0; k < slots.size(); ++k)
    for (const auto& p : slots[k]) {
      const Tensor* saved = file.find("optimizer." + std::to_string(k) + "." + p.name);
      if (!saved || saved->shape() != p.tensor.shape())
        throw std::runtime_error("training state " + path.string() + " lacks optimizer slot for " + p.name);
      Tensor slot = p.tensor;
      slot.copy_from(*saved);
    }
  opt.set_steps_taken(static_cast<long>(s.step));
  return s;
}

RunSettings run_settings(const TrainOptions& o) {
  const Recipe& r = o.recipe;
  RunSettings s;
  std::string data;
  for (const auto& p : o.data) {  // one a line: a path may hold spaces
    if (!data.empty()) data += '\n';
    data += std::filesystem::absolute(p).lexically_normal().string();
  }
  s["data"] = data;  // empty: the default corpus
  s["preset"] = o.preset;
  s["scheme"] = r.scheme;
  s["objective"] = r.objective;
  s["epochs"] = std::to_string(r.epochs);
  s["batch"] = std::to_string(r.batch);
  s["seq-len"] = std::to_string(r.seq_len);
  s["hidden"] = std::to_string(r.model.hidden);
  s["layers"] = std::to_string(r.model.layers);
  s["embedding"] = r.model.input == InputKind::Embedding ? std::to_string(r.model.embedding_dim) : "0";
  s["dropout"] = number_text(r.model.dropout);
  s["lr"] = number_text(r.lr);
  s["clip"] = number_text(r.clip);
  s["val-split"] = number_text(r.val_split);
  s["transpose"] = std::to_string(r.transpose);
  s["normalise-key"] = r.normalise_key ? "yes" : "no";
  s["best-by"] = r.best_by;
  s["infill-rate"] = number_text(r.infill_rate);
  std::string controls;
  for (const std::string& c : r.controls) controls += (controls.empty() ? "" : ",") + c;
  s["controls"] = controls;
  s["seed"] = std::to_string(o.seed);
  s["eval-pieces"] = std::to_string(o.eval_pieces);
  s["eval-every"] = std::to_string(o.eval_every);
  return s;
}

void apply_run_settings(const RunSettings& s, TrainOptions& o) {
  try {
    o.preset = s.at("preset");
    Recipe r = preset(o.preset);
    r.scheme = s.at("scheme");
    r.objective = s.at("objective");
    r.epochs = std::stoi(s.at("epochs"));
    r.batch = std::stoll(s.at("batch"));
    r.seq_len = std::stoll(s.at("seq-len"));
    r.model.hidden = std::stoll(s.at("hidden"));
    r.model.layers = std::stoi(s.at("layers"));
    if (const int64_t e = std::stoll(s.at("embedding")); e > 0) {
      r.model.input = InputKind::Embedding;
      r.model.embedding_dim = e;
    } else {
      r.model.input = InputKind::Scalar;
    }
    r.model.dropout = std::stod(s.at("dropout"));
    r.lr = std::stod(s.at("lr"));
    r.clip = std::stod(s.at("clip"));
    r.val_split = std::stod(s.at("val-split"));
    r.transpose = std::stoi(s.at("transpose"));
    r.normalise_key = s.at("normalise-key") == "yes";
    r.best_by = s.at("best-by");
    // Runs started before infilling have no infill-rate: they trained without it.
    if (const auto rate = s.find("infill-rate"); rate != s.end()) r.infill_rate = std::stod(rate->second);
    // Likewise runs started before control tokens have none.
    if (const auto controls = s.find("controls"); controls != s.end()) r.controls = split_list(controls->second);
    o.recipe = r;
    o.data.clear();
    std::istringstream data(s.at("data"));
    for (std::string p; std::getline(data, p);)
      if (!p.empty()) o.data.emplace_back(p);
    o.seed = std::stoull(s.at("seed"));
    o.eval_pieces = std::stoi(s.at("eval-pieces"));
    o.eval_every = std::stoll(s.at("eval-every"));
  } catch (const std::exception& e) {
    throw InputError("the run's settings are incomplete or damaged (" + std::string(e.what()) +
                     "); start afresh with --overwrite");
  }
}

RunSettings load_run_settings(const std::filesystem::path& dir) {
  const std::filesystem::path path = run_settings_file(dir);
  std::ifstream in(path);
  if (!in)
    throw InputError("--resume: " + path.string() + " is missing (a run of an older trainer?); resume it with the " +
                     "trainer that started it, or start afresh with --overwrite");
  try {
    return nlohmann::json::parse(in).get<RunSettings>();
  } catch (const std::exception&) {
    throw InputError("--resume: " + path.string() + " is damaged; start afresh with --overwrite");
  }
}

std::string resume_conflict(const RunSettings& stored, const RunSettings& current, const std::set<std::string>& given,
                            const std::filesystem::path& out) {
  for (const auto& [name, value] : stored) {
    if (!given.count(name) || resumable_changes().count(name)) continue;
    const auto now = current.find(name);
    if (now == current.end() || now->second == value) continue;
    auto shown = [](std::string v) {
      std::replace(v.begin(), v.end(), '\n', ' ');
      return v.empty() ? std::string("(the default corpus)") : v;
    };
    return "--resume: --" + name + " " + shown(now->second) + " differs from the run's " + name + " " + shown(value) +
           " (" + run_settings_file(out).string() + "); leave --" + name +
           " out to resume, or start afresh with --overwrite";
  }
  return "";
}

}  // namespace legato::model
