#include "serve/catalog.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <ostream>
#include <sstream>

#include "midi/loader.h"
#include "model/checkpoint.h"
#include "model/controls.h"

namespace legato::serve {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json number_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

std::string utc_time(const fs::path& path) {
  const auto written = fs::last_write_time(path);
  // GCC 12 has no clock_cast: file_clock is system_clock moved by a fixed offset.
  const auto system = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
      written - fs::file_time_type::clock::now() + std::chrono::system_clock::now());
  const std::time_t t = std::chrono::system_clock::to_time_t(system);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string preset_of(const fs::path& run_json) {
  std::ifstream in(run_json);
  if (!in) return "";
  const json run = json::parse(in, nullptr, false);
  return run.is_object() && run.contains("preset") && run["preset"].is_string() ? run["preset"].get<std::string>() : "";
}

// validation.txt: the held-out pieces of the run, one path a line.
std::vector<fs::path> corpus_of(const fs::path& validation_txt) {
  std::vector<fs::path> paths;
  std::ifstream in(validation_txt);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && fs::is_regular_file(line)) paths.emplace_back(line);
  return paths;
}

// A checkpoint as an entry; std::nullopt (and a line on `log`) when it cannot be read.
std::optional<ModelEntry> entry_of(const fs::path& folder, const fs::path& file, std::ostream& log) {
  if (const std::string problem = model::checkpoint_problem(file); !problem.empty()) {
    log << "legato-serve: " << file.string() << " left out: " << problem << "\n";
    return std::nullopt;
  }
  ModelEntry m;
  try {
    const model::LoadedCheckpoint ck = model::load_checkpoint(file);
    m.vocabulary = static_cast<int64_t>(ck.meta.vocab.size());
    m.scheme = ck.meta.scheme;
    for (const std::string& control : ck.meta.controls) m.controls[control] = model::known_values(ck.meta, control);
  } catch (const std::exception& e) {
    log << "legato-serve: " << file.string() << " left out: " << e.what() << "\n";
    return std::nullopt;
  }
  m.name = fs::relative(file, folder).generic_string();
  m.path = file;
  const fs::path dir = file.parent_path();
  m.preset = preset_of(dir / "run.json");
  m.trained = utc_time(file);
  m.mean_oa = last_mean_oa(dir / "metrics.csv");
  m.corpus = corpus_of(dir / "validation.txt");
  return m;
}

bool is_checkpoint_name(const fs::path& file) {
  const std::string name = file.filename().string();
  const std::string ext = ".safetensors", state = ".state.safetensors";
  auto ends_with = [&](const std::string& tail) {
    return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
  };
  return ends_with(ext) && !ends_with(state);
}

}  // namespace

json to_json(const ModelEntry& m) {
  return {{"name", m.name},
          {"preset", m.preset},
          {"vocabulary", m.vocabulary},
          {"scheme", m.scheme},
          {"trained", m.trained},
          {"mean_oa", m.mean_oa < 0 ? json(nullptr) : json(m.mean_oa)},
          {"corpus_known", !m.corpus.empty()},
          {"controls", m.controls.empty() ? json::object() : json(m.controls)}};
}

std::vector<ModelEntry> find_models(const fs::path& folder, std::ostream& log) {
  std::vector<ModelEntry> models;
  std::error_code ec;
  fs::recursive_directory_iterator it(folder, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it.depth() >= 3) it.disable_recursion_pending();  // a models folder, not the whole disk
    if (!it->is_regular_file() || !is_checkpoint_name(it->path())) continue;
    if (auto m = entry_of(folder, it->path(), log)) models.push_back(std::move(*m));
  }
  std::sort(models.begin(), models.end(), [](const ModelEntry& a, const ModelEntry& b) { return a.name < b.name; });
  return models;
}

double last_mean_oa(const fs::path& metrics_csv) {
  std::ifstream in(metrics_csv);
  std::string header, line, last;
  if (!std::getline(in, header)) return -1;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  auto split = [](const std::string& text) {
    std::vector<std::string> cells;
    std::stringstream s(text);
    for (std::string cell; std::getline(s, cell, ',');) cells.push_back(cell);
    return cells;
  };
  const auto names = split(header), cells = split(last);
  for (size_t k = 0; k < names.size() && k < cells.size(); ++k)
    if (names[k] == "mean_oa") {
      char* end = nullptr;
      const double oa = std::strtod(cells[k].c_str(), &end);
      return end != cells[k].c_str() && std::isfinite(oa) ? oa : -1;
    }
  return -1;
}

json piece_features(const eval::Features& f) {
  return {{"notes", number_or_null(f.n_notes)},
          {"pitch_classes_used", number_or_null(f.n_pitch_classes_used)},
          {"pitch_range", number_or_null(f.pitch_range)},
          {"pitch_class_entropy", number_or_null(f.pitch_class_entropy)},
          {"scale_consistency", number_or_null(f.scale_consistency)},
          {"polyphony", number_or_null(f.polyphony)},
          {"empty_beat_rate", number_or_null(f.empty_beat_rate)},
          {"groove_consistency", number_or_null(f.groove_consistency)},
          {"average_ioi", number_or_null(f.average_ioi)}};
}

json CorpusFeatures::of(const ModelEntry& model) {
  std::lock_guard lock(mutex_);
  if (const auto it = cache_.find(model.name); it != cache_.end()) return it->second;
  json mean = nullptr;
  if (!model.corpus.empty()) {
    std::ostringstream quiet;  // the corpus was read when it trained: its repairs are not news
    std::map<std::string, std::pair<double, int>> sums;
    for (const auto& piece : midi::load_midi_files(model.corpus, quiet).scores) {
      const json features = piece_features(eval::features_of(piece.score));
      for (const auto& [key, value] : features.items())
        if (value.is_number()) sums[key].first += value.get<double>(), ++sums[key].second;
    }
    if (!sums.empty()) {
      mean = json::object();
      for (const auto& [key, sum] : sums) mean[key] = sum.first / sum.second;
    }
  }
  return cache_[model.name] = mean;
}

}  // namespace legato::serve
