#include "midi/loader.h"

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace legato::midi {
namespace {
// As path::extension() sees it (no extension for ".mid" itself, a hidden file's name), .mid or
// .midi in any case; on the name's characters, not a path made per entry and lowered in a copy.
bool is_midi_name(const std::filesystem::path& p) {
  const std::string& full = p.native();
  const size_t slash = full.rfind('/');
  const std::string_view name = std::string_view(full).substr(slash == std::string::npos ? 0 : slash + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || name == "..") return false;
  const std::string_view ext = name.substr(dot);
  auto is = [&](std::string_view want) {
    return ext.size() == want.size() && std::equal(ext.begin(), ext.end(), want.begin(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           });
  };
  return is(".mid") || is(".midi");
}

// Sorts paths found under one folder as path's operator< would (component by component): each
// path as its string with '/' made '\0', a character below any in a name, compares the same, and
// a string compares in a tenth of a path's time (a listing of 92 files took a third of that).
void sort_like_paths(std::vector<std::filesystem::path>& paths) {
  std::vector<std::pair<std::string, size_t>> keys(paths.size());
  for (size_t k = 0; k < paths.size(); ++k) {
    keys[k] = {paths[k].native(), k};
    std::replace(keys[k].first.begin(), keys[k].first.end(), '/', '\0');
  }
  std::sort(keys.begin(), keys.end());
  std::vector<std::filesystem::path> sorted;
  sorted.reserve(paths.size());
  for (const auto& key : keys) sorted.push_back(std::move(paths[key.second]));
  paths = std::move(sorted);
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
        if (is_midi_name(entry.path()) && entry.is_regular_file()) found.push_back(entry.path());
      sort_like_paths(found);
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
