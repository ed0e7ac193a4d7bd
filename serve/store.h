#pragma once
// The output folder and the files this server wrote into it: composed pieces (piece-N.mid, .wav,
// .svg) and uploaded primers (upload-N.mid). Files are served only by the names recorded here, so
// no request reaches a file the server did not write. Numbers go on after the pieces already in
// the folder, which a new session never overwrites.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace legato::serve {

class FileStore {
 public:
  // Creates `folder` where needed; std::runtime_error when it cannot be written.
  explicit FileStore(std::filesystem::path folder);

  const std::filesystem::path& folder() const { return folder_; }

  // A fresh name, "piece-N" or "upload-N", whose files no one has written yet.
  std::string reserve(const std::string& prefix);
  // The path of `name` + `extension` (".mid", ".wav", ".svg") inside the folder; `name` must come
  // from reserve().
  std::filesystem::path path_of(const std::string& name, const std::string& extension) const;

  // Records a written file under its file name ("piece-3.mid") so that it may be served.
  void add_file(const std::string& file_name);
  // The path of a file this server wrote, by its file name; nullopt for any other name.
  std::optional<std::filesystem::path> written(const std::string& file_name) const;

  // The session's pieces, oldest first (their summaries as the composer returned them).
  void add_piece(const nlohmann::json& summary);
  nlohmann::json pieces() const;

 private:
  std::filesystem::path folder_;
  mutable std::mutex mutex_;
  std::map<std::string, int64_t> next_;                 // by prefix
  std::map<std::string, std::filesystem::path> files_;  // by file name
  std::vector<nlohmann::json> pieces_;
};

}  // namespace legato::serve
