#include "corpus/token_store.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "base/atomic_file.h"
#include "model/safetensors.h"

namespace legato::model {
namespace {

constexpr char kMagic[8] = {'L', 'G', 'T', 'O', 'K', 'E', 'N', '1'};
constexpr uint64_t kVersion = 4;  // 2: the checksum covers the header; 3: pieces' key signatures; 4: pitch
                                  // percentiles and seconds

struct Header {
  char magic[8];
  uint64_t version;
  uint64_t key;
  uint64_t pieces;                    // records
  uint64_t tokens;                    // codes
  uint64_t width;                     // bytes per code
  uint64_t string_bytes;              // of the strings section
  uint64_t alphabet, files, summary;  // strings in each list
  int64_t files_refused;
  uint64_t checksum;  // of the header (this field as 0) and every byte after it
};

// The checksum covers the header too, so that no field (files_refused, say) goes unchecked.
uint64_t checksum_of(Header h, const char* body, size_t bytes) {
  h.checksum = 0;
  return hash_bytes(body, bytes, hash_bytes(&h, sizeof h));
}

size_t padded(size_t bytes) { return (bytes + 7) / 8 * 8; }

// Why a header cannot describe a body of body_bytes (nullptr: it can): another format or version,
// another key (stale), or sizes that disagree with the file.
const char* header_problem(const Header& h, uint64_t key, size_t body_bytes) {
  if (std::memcmp(h.magic, kMagic, 8) != 0 || h.version != kVersion)
    return "damaged (not a token cache of this version)";
  if (h.key != key) return "stale (the files or the tokenizer options changed)";
  const bool sane_width = h.width == 1 || h.width == 2 || h.width == 4;
  // Each size is checked against the file before it is multiplied, so nothing can overflow.
  if (!sane_width || h.pieces > body_bytes / sizeof(StoredPiece) || h.tokens > body_bytes / h.width ||
      h.string_bytes > body_bytes ||
      h.pieces * sizeof(StoredPiece) + padded(h.tokens * h.width) + h.string_bytes != body_bytes)
    return "damaged (sizes disagree with the file)";
  return nullptr;
}

// Whether a stored piece indexes only inside a store of `tokens` codes and `files` files.
bool piece_fits(const StoredPiece& p, uint64_t tokens, size_t files) {
  const bool range_ok = p.lowest <= 128 && p.highest <= 127 && (p.lowest <= p.highest || p.lowest == 128);
  return p.offset <= tokens && p.length <= tokens - p.offset && p.file < files && range_ok && p.transposable <= 1 &&
         (p.key <= 11 || p.key == 255) &&
         ((p.pitch_p5 == 255 && p.pitch_p95 == 255) || (p.pitch_p5 <= p.pitch_p95 && p.pitch_p95 <= 127));
}

void put_string(std::string& out, const std::string& s) {
  const uint32_t n = static_cast<uint32_t>(s.size());
  out.append(reinterpret_cast<const char*>(&n), 4);
  out += s;
}

// Reads `count` length-prefixed strings from [at, end); false when they do not fit.
bool get_strings(const char*& at, const char* end, uint64_t count, std::vector<std::string>& out) {
  if (count > static_cast<uint64_t>(end - at) / 4) return false;  // each string has a 4-byte length
  out.reserve(count);
  for (uint64_t k = 0; k < count; ++k) {
    uint32_t n = 0;
    if (end - at < 4) return false;
    std::memcpy(&n, at, 4);
    at += 4;
    if (static_cast<uint64_t>(end - at) < n) return false;
    out.emplace_back(at, n);
    at += n;
  }
  return true;
}

}  // namespace

int StoredPiece::lowest_shift(int limit) const {
  if (!transposable) return 0;
  return lowest > highest ? -limit : std::max(-limit, -static_cast<int>(lowest));
}

int StoredPiece::highest_shift(int limit) const {
  if (!transposable) return 0;
  return lowest > highest ? limit : std::min(limit, 127 - static_cast<int>(highest));
}

uint64_t hash_bytes(const void* data, size_t bytes, uint64_t h) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t k = 0;
  for (; k + 8 <= bytes; k += 8) {
    uint64_t w;
    std::memcpy(&w, p + k, 8);
    h = (h ^ (w * 0xff51afd7ed558ccdull)) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  for (; k < bytes; ++k) h = (h ^ p[k]) * 0x100000001b3ull;
  h ^= bytes;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

TokenStore::~TokenStore() {
  if (mapping_) ::munmap(mapping_, mapping_bytes_);
}

// One loop per width, so that the compiler vectorises it (100 million codes in tens of ms).
uint32_t TokenStore::largest_code() const {
  const auto largest = [&](const auto* codes) {
    return static_cast<uint32_t>(*std::max_element(codes, codes + tokens_));
  };
  if (tokens_ == 0) return 0;
  if (width_ == 1) return largest(data_);
  if (width_ == 2) return largest(reinterpret_cast<const uint16_t*>(data_));
  return largest(reinterpret_cast<const uint32_t*>(data_));
}

void TokenStore::set_codes(const std::vector<uint32_t>& codes) {
  width_ = alphabet.size() <= 0x100 ? 1 : alphabet.size() <= 0x10000 ? 2 : 4;
  owned_.assign(codes.size() * static_cast<size_t>(width_), 0);
  for (size_t k = 0; k < codes.size(); ++k) {
    if (width_ == 1) owned_[k] = static_cast<uint8_t>(codes[k]);
    if (width_ == 2) reinterpret_cast<uint16_t*>(owned_.data())[k] = static_cast<uint16_t>(codes[k]);
    if (width_ == 4) reinterpret_cast<uint32_t*>(owned_.data())[k] = codes[k];
  }
  data_ = owned_.data();
  tokens_ = codes.size();
}

void TokenStore::save(const std::filesystem::path& path, uint64_t key) const {
  std::string strings;
  for (size_t k = 0; k < alphabet.size(); ++k) put_string(strings, std::string(1, char(moves[k])) + alphabet[k]);
  for (const auto& f : files) put_string(strings, f);
  for (const auto& s : summary) put_string(strings, s);
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.key = key;
  h.pieces = pieces.size();
  h.tokens = tokens_;
  h.width = static_cast<uint64_t>(width_);
  h.string_bytes = strings.size();
  h.alphabet = alphabet.size();
  h.files = files.size();
  h.summary = summary.size();
  h.files_refused = files_refused;
  std::string body;
  const size_t piece_bytes = pieces.size() * sizeof(StoredPiece), token_bytes = tokens_ * h.width;
  body.reserve(piece_bytes + padded(token_bytes) + strings.size());
  body.append(reinterpret_cast<const char*>(pieces.data()), piece_bytes);
  body.append(reinterpret_cast<const char*>(data_), token_bytes);
  body.resize(piece_bytes + padded(token_bytes), '\0');
  body += strings;
  h.checksum = checksum_of(h, body.data(), body.size());
  std::string bytes(reinterpret_cast<const char*>(&h), sizeof h);
  bytes += body;
  write_file_atomically(path, bytes);
}

std::unique_ptr<TokenStore> TokenStore::map(const std::filesystem::path& path, uint64_t key, std::string& why) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) {
    why = "none yet";
    return nullptr;
  }
  struct stat st {};
  const bool sized = ::fstat(fd, &st) == 0 && static_cast<size_t>(st.st_size) >= sizeof(Header);
  void* mapping = sized ? ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);  // the mapping keeps the file
  if (mapping == MAP_FAILED) {
    why = "damaged (shorter than its header)";
    return nullptr;
  }
  auto store = std::make_unique<TokenStore>();
  store->mapping_ = mapping;
  store->mapping_bytes_ = static_cast<size_t>(st.st_size);
  const auto* base = static_cast<const char*>(mapping);
  Header h;
  std::memcpy(&h, base, sizeof h);
  const size_t body_bytes = store->mapping_bytes_ - sizeof h;
  if (const char* problem = header_problem(h, key, body_bytes)) {
    why = problem;
    return nullptr;
  }
  ::madvise(mapping, store->mapping_bytes_, MADV_SEQUENTIAL);
  if (checksum_of(h, base + sizeof h, body_bytes) != h.checksum) {
    why = "damaged (checksum)";
    return nullptr;
  }
  ::madvise(mapping, store->mapping_bytes_, MADV_RANDOM);  // batches read windows anywhere
  const char* at = base + sizeof h;
  store->pieces.resize(h.pieces);
  std::memcpy(store->pieces.data(), at, h.pieces * sizeof(StoredPiece));
  at += h.pieces * sizeof(StoredPiece);
  store->data_ = reinterpret_cast<const uint8_t*>(at);
  store->tokens_ = h.tokens;
  store->width_ = static_cast<int>(h.width);
  at += padded(h.tokens * h.width);
  const char* end = base + store->mapping_bytes_;
  std::vector<std::string> alphabet;
  if (!get_strings(at, end, h.alphabet, alphabet) || !get_strings(at, end, h.files, store->files) ||
      !get_strings(at, end, h.summary, store->summary)) {
    why = "damaged (strings)";
    return nullptr;
  }
  if (at != end) {
    why = "damaged (strings)";
    return nullptr;
  }
  for (const auto& a : alphabet) {
    if (a.empty()) {
      why = "damaged (alphabet)";
      return nullptr;
    }
    store->moves.push_back(static_cast<uint8_t>(a[0]));
    store->alphabet.push_back(a.substr(1));
  }
  // A file with a right checksum can still be wrong (written by another program, or forged):
  // every field that later indexes something is checked too, so a cache is never trusted.
  for (const StoredPiece& p : store->pieces)
    if (!piece_fits(p, h.tokens, store->files.size())) {
      why = "damaged (pieces)";
      return nullptr;
    }
  if (h.tokens > 0 && store->largest_code() >= store->alphabet.size()) {
    why = "damaged (token codes)";
    return nullptr;
  }
  store->files_refused = static_cast<int>(h.files_refused);
  return store;
}

}  // namespace legato::model
