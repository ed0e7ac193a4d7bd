#pragma once
// The tokens of every file of a corpus, stored once (untransposed) in the smallest integer type
// that holds them, either built in memory or mapped (mmap) from a cache file. Tokens are stored
// as codes into an alphabet of (token string, moves with transposition) pairs; the vocabulary
// and its ids are made from the alphabet later, so one store serves every split and --transpose.
//
// The cache file (little-endian, 8-byte aligned sections):
//   header     magic "LGTOKEN1", format version, the key (a hash of the tokenizer options and of
//              every file's path, size and modification time), section sizes, the token width
//              (1, 2 or 4 bytes) and a checksum of the whole file
//   pieces     per piece: token offset, length, pitched range, transposable flag, key signature,
//              file index, mode, notes per beat, the 5th and 95th pitch percentiles, seconds
//   tokens     the codes, concatenated
//   strings    the alphabet, the file names and the loader's summary lines, each length-prefixed
// A file whose magic, version, key, sizes or checksum disagree is never used: it is rebuilt.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace legato::model {

struct StoredPiece {
  uint64_t offset = 0;                // of its first token in the store
  uint32_t length = 0;                // tokens
  uint8_t lowest = 128, highest = 0;  // pitched notes' range (lowest > highest: none)
  uint8_t transposable = 1;
  uint8_t key = 255;  // key signature (midi/key.h): major tonic 0..11, 255 without pitched notes
  uint32_t file = 0;  // index into TokenStore::files
  // For control tokens (midi/controls.h): 1 when detect_key finds the key minor (its tonic is then
  // the signature's + 9), and the notes per beat in hundredths (saturating).
  uint8_t minor = 0;
  uint8_t unused2 = 0;
  uint16_t centinotes_per_beat = 0;
  // For a style's profile (model::StyleProfile): the pitched notes' 5th and 95th percentiles
  // (midi::pitch_percentile; 255 without pitched notes) and the music's length in hundredths of a
  // second (midi::music_seconds, saturating at about 497 days).
  uint8_t pitch_p5 = 255, pitch_p95 = 255;
  uint16_t unused3 = 0;
  uint32_t centiseconds = 0;

  // The shifts transpose() allows, limited to +-limit: [down, up] with down <= 0 <= up.
  int lowest_shift(int limit) const;
  int highest_shift(int limit) const;
};
static_assert(sizeof(StoredPiece) == 32, "the cache file's piece record");

class TokenStore {
 public:
  std::vector<std::string> alphabet;  // code -> token string
  std::vector<uint8_t> moves;         // code -> 1 when the token moves with transposition
  std::vector<StoredPiece> pieces;    // the files read, in order
  std::vector<std::string> files;     // file paths, for names and messages
  std::vector<std::string> summary;   // the loader's lines ("midi: DIR: 92 files read, ...")
  int files_refused = 0;

  uint32_t code(uint64_t at) const {
    switch (width_) {
      case 1: return data_[at];
      case 2: return reinterpret_cast<const uint16_t*>(data_)[at];
      default: return reinterpret_cast<const uint32_t*>(data_)[at];
    }
  }
  uint64_t token_count() const { return tokens_; }
  int width() const { return width_; }
  bool mapped() const { return mapping_ != nullptr; }
  uint32_t largest_code() const;  // 0 when empty

  // Takes the codes (uint32 while building) and keeps them in the narrowest width that holds the
  // alphabet.
  void set_codes(const std::vector<uint32_t>& codes);

  // Writes the store to `path` atomically (temporary file, fsync, rename) under `key`.
  void save(const std::filesystem::path& path, uint64_t key) const;
  // Maps a cache file; nullptr with `why` set when it is missing, stale (another key), or
  // damaged in any way.
  static std::unique_ptr<TokenStore> map(const std::filesystem::path& path, uint64_t key, std::string& why);

  TokenStore() = default;
  ~TokenStore();
  TokenStore(const TokenStore&) = delete;
  TokenStore& operator=(const TokenStore&) = delete;

 private:
  std::vector<uint8_t> owned_;  // the codes when built here
  const uint8_t* data_ = nullptr;
  uint64_t tokens_ = 0;
  int width_ = 4;
  void* mapping_ = nullptr;  // the whole cache file when mapped
  size_t mapping_bytes_ = 0;
};

// A 64-bit hash for keys and checksums (FNV-1a's idea on 8-byte words: fast over large token
// sections, and any flipped bit changes it).
uint64_t hash_bytes(const void* data, size_t bytes, uint64_t seed = 0x9E3779B97F4A7C15ull);

}  // namespace legato::model
