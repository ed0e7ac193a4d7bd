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

LoadResult load_midi_files(const std::vector<std::filesystem::path>& paths, std::ostream& warnings,
                           const ReadOptions& options) {
  LoadResult result;
  for (const auto& path : find_midi_files(paths)) {
    try {
      result.scores.push_back({path, read_midi_file(path, options)});
    } catch (const MidiError& e) {
      warnings << "warning: skipping " << e.what() << "\n";
      ++result.failed;
    }
  }
  warnings << "midi: loaded " << result.scores.size() << " files, skipped " << result.failed << "\n";
  return result;
}

}  // namespace legato::midi
