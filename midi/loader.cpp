#include "midi/loader.h"

#include <algorithm>
#include <stdexcept>

namespace legato::midi {
namespace {
bool is_midi_name(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".mid" || ext == ".midi";
}

}  // namespace

void LoadSummary::add(const Score& score) {
  ++read;
  notes += int64_t(score.notes.size());
  if (!score.warnings.empty()) ++repaired;
  warnings += int(score.warnings.size());
}

// A refused file as the summary names it: relative to the folder searched.
void LoadSummary::refuse(const std::filesystem::path& root, const std::filesystem::path& file, const MidiError& e) {
  const std::filesystem::path shown = file == root ? file.filename() : file.lexically_relative(root);
  refusals.push_back(at_byte(shown.string(), e.offset(), e.fault()));
}

std::string LoadSummary::line(const std::filesystem::path& path) const {
  std::string s = "midi: " + path.string() + ": " + std::to_string(read) + " file" + (read == 1 ? "" : "s") +
                  " read, " + std::to_string(repaired) + " repaired";
  if (warnings) s += " (" + std::to_string(warnings) + " warning" + (warnings == 1 ? "" : "s") + ")";
  s += ", " + std::to_string(refusals.size()) + " refused";
  for (size_t i = 0; i < refusals.size(); ++i) s += (i ? "; " : " (") + refusals[i];
  if (!refusals.empty()) s += ")";
  return s + ", " + std::to_string(notes) + " notes kept\n";
}

std::vector<std::filesystem::path> find_midi_files(const std::vector<std::filesystem::path>& paths) {
  namespace fs = std::filesystem;
  std::vector<fs::path> out;
  for (const fs::path& p : paths) {
    if (fs::is_directory(p)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(p))
        if (entry.is_regular_file() && is_midi_name(entry.path())) found.push_back(entry.path());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p)) {
      out.push_back(p);  // named explicitly: taken whatever its extension
    } else {
      throw std::runtime_error("midi: " + p.string() + " does not exist");
    }
  }
  return out;
}

LoadResult load_midi_files(const std::vector<std::filesystem::path>& paths, std::ostream& log,
                           const ReadOptions& options) {
  LoadResult result;
  for (const auto& root : paths) {
    LoadSummary summary;
    for (const auto& path : find_midi_files({root})) {
      try {
        Score score = read_midi_file(path, options);
        summary.add(score);
        result.scores.push_back({path, std::move(score)});
      } catch (const MidiError& e) {
        summary.refuse(root, path, e);
      }
    }
    log << summary.line(root);
    result.failed += int(summary.refusals.size());
    result.repaired += summary.repaired;
    result.warnings += summary.warnings;
    result.notes += summary.notes;
  }
  return result;
}

}  // namespace legato::midi
