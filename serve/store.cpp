#include "serve/store.h"

#include <fstream>
#include <stdexcept>

namespace legato::serve {

namespace fs = std::filesystem;

namespace {

// The number of "piece-12.mid" for prefix "piece-", or -1.
int64_t number_of(const std::string& file_name, const std::string& prefix) {
  if (file_name.rfind(prefix, 0) != 0) return -1;
  const size_t dot = file_name.find('.');
  const std::string digits = file_name.substr(prefix.size(), dot - prefix.size());
  if (digits.empty() || digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoll(digits);
}

}  // namespace

FileStore::FileStore(fs::path folder) : folder_(std::move(folder)) {
  std::error_code ec;
  fs::create_directories(folder_, ec);
  const fs::path probe = folder_ / ".legato-serve-probe";
  if (!std::ofstream(probe)) throw std::runtime_error("--out " + folder_.string() + ": cannot write there");
  fs::remove(probe, ec);
  for (const auto& entry : fs::directory_iterator(folder_))
    for (const std::string prefix : {"piece-", "upload-"})
      next_[prefix] = std::max(next_[prefix], number_of(entry.path().filename().string(), prefix) + 1);
}

std::string FileStore::reserve(const std::string& prefix) {
  std::lock_guard lock(mutex_);
  int64_t& next = next_[prefix + "-"];
  next = std::max<int64_t>(next, 1);
  return prefix + "-" + std::to_string(next++);
}

fs::path FileStore::path_of(const std::string& name, const std::string& extension) const {
  return folder_ / (name + extension);
}

void FileStore::add_file(const std::string& file_name) {
  std::lock_guard lock(mutex_);
  files_[file_name] = folder_ / file_name;
}

std::optional<fs::path> FileStore::written(const std::string& file_name) const {
  std::lock_guard lock(mutex_);
  const auto it = files_.find(file_name);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

void FileStore::add_piece(const nlohmann::json& summary) {
  std::lock_guard lock(mutex_);
  pieces_.push_back(summary);
}

nlohmann::json FileStore::pieces() const {
  std::lock_guard lock(mutex_);
  return nlohmann::json(pieces_);
}

}  // namespace legato::serve
