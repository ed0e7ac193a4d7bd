// Reading a folder of MIDI files into a TokenStore: files are read and tokenized in parallel,
// consumed in file order (so the store does not depend on thread timing), and at most a small
// window of finished files waits in memory; the codes themselves are the only thing that grows.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <deque>
#include <optional>
#include <thread>
#include <unordered_map>

#include "corpus/corpus_reading.h"
#include "corpus/ordered_results.h"
#include "midi/controls.h"
#include "midi/key.h"
#include "midi/loader.h"
#include "midi/tokenizer.h"

namespace legato::model {
namespace {

// One file, read and tokenized by a worker: its tokens interned locally, so that the consumer
// looks up each distinct token of the file once instead of every token.
struct FileTokens {
  std::optional<midi::MidiError> refused;
  int notes = 0, warnings = 0;
  std::vector<std::string> local_alphabet;  // moves flag ('0' or '1') then the token
  std::vector<uint32_t> local_codes;
  StoredPiece piece;
};

FileTokens read_one(const std::filesystem::path& path, const midi::Tokenizer& tokenizer,
                    const midi::ReadOptions& options) {
  FileTokens out;
  try {
    const midi::Score score = midi::read_midi_file(path, options);
    out.notes = static_cast<int>(score.notes.size());
    out.warnings = static_cast<int>(score.warnings.size());
    const midi::TokenizedScore t = tokenizer.tokenize_for_transposition(score);
    std::unordered_map<std::string, uint32_t> local;
    out.local_codes.reserve(t.tokens.size());
    for (size_t k = 0; k < t.tokens.size(); ++k) {
      std::string key = (t.moves[k] ? '1' : '0') + t.tokens[k];
      const auto [it, added] = local.try_emplace(key, static_cast<uint32_t>(out.local_alphabet.size()));
      if (added) out.local_alphabet.push_back(std::move(key));
      out.local_codes.push_back(it->second);
    }
    out.piece.length = static_cast<uint32_t>(t.tokens.size());
    out.piece.transposable = t.transposable;
    out.piece.lowest = static_cast<uint8_t>(std::min(t.lowest, 128));
    out.piece.highest = static_cast<uint8_t>(std::max(t.highest, 0));
    const int key = midi::key_signature(score);
    out.piece.key = static_cast<uint8_t>(key < 0 ? 255 : key);
    const std::optional<midi::Key> full_key = midi::detect_key(score);
    out.piece.minor = full_key && full_key->minor ? 1 : 0;
    out.piece.centinotes_per_beat =
        static_cast<uint16_t>(std::min(65535.0, std::round(100 * midi::notes_per_beat(score))));
    if (const int p5 = midi::pitch_percentile(score, 0.05); p5 >= 0) {
      out.piece.pitch_p5 = static_cast<uint8_t>(p5);
      out.piece.pitch_p95 = static_cast<uint8_t>(midi::pitch_percentile(score, 0.95));
    }
    out.piece.centiseconds = static_cast<uint32_t>(std::min(4.0e9, std::round(100 * midi::music_seconds(score))));
  } catch (const midi::MidiError& e) {
    out.refused = e;
  } catch (const std::exception& e) {  // anything else (memory, the file system) refuses the file too
    out.refused = midi::MidiError(path.string(), 0, e.what());
  }
  return out;
}

std::string rate_text(double files_per_second) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.0f files/s", files_per_second);
  return buf;
}

}  // namespace

std::unique_ptr<TokenStore> read_token_store(const std::vector<std::filesystem::path>& roots,
                                             const std::vector<std::vector<std::filesystem::path>>& files_of_root,
                                             const midi::Tokenizer& tokenizer, const midi::ReadOptions& options,
                                             const ReadingProgress& progress) {
  std::vector<const std::filesystem::path*> files;
  std::vector<size_t> root_of;
  for (size_t r = 0; r < roots.size(); ++r)
    for (const auto& f : files_of_root[r]) {
      files.push_back(&f);
      root_of.push_back(r);
    }
  const size_t threads = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 16));
  OrderedResults<FileTokens> results(files.size(), 64 * threads);
  std::vector<std::thread> workers;
  for (size_t t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      while (const auto k = results.next()) results.put(*k, read_one(*files[*k], tokenizer, options));
    });

  auto store = std::make_unique<TokenStore>();
  std::unordered_map<std::string, uint32_t> codes_of;  // moves flag + token -> code
  std::vector<uint32_t> codes;
  std::vector<midi::LoadSummary> summaries(roots.size());
  const int64_t total = static_cast<int64_t>(files.size());
  const bool show = progress && total >= 200;  // small folders load in a blink
  if (show) progress(0, total, "");
  const auto started = std::chrono::steady_clock::now();
  std::vector<uint32_t> global_of;
  for (size_t k = 0; k < files.size(); ++k) {
    FileTokens f = results.take(k);
    midi::LoadSummary& summary = summaries[root_of[k]];
    if (f.refused) {
      summary.refuse(roots[root_of[k]], *files[k], *f.refused);
      continue;
    }
    ++summary.read;
    summary.notes += f.notes;
    summary.repaired += f.warnings > 0;
    summary.warnings += f.warnings;
    global_of.clear();
    for (auto& key : f.local_alphabet) {
      const auto [it, added] = codes_of.try_emplace(key, static_cast<uint32_t>(store->alphabet.size()));
      if (added) {
        store->moves.push_back(key[0] == '1');
        store->alphabet.push_back(key.substr(1));
      }
      global_of.push_back(it->second);
    }
    f.piece.offset = codes.size();
    f.piece.file = static_cast<uint32_t>(store->files.size());
    for (const uint32_t c : f.local_codes) codes.push_back(global_of[c]);
    store->pieces.push_back(f.piece);
    store->files.push_back(files[k]->string());
    if (show) {
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      progress(static_cast<int64_t>(k + 1), total, rate_text(static_cast<double>(k + 1) / std::max(seconds, 1e-9)));
    }
  }
  for (auto& w : workers) w.join();
  for (size_t r = 0; r < roots.size(); ++r) {
    store->summary.push_back(summaries[r].line(roots[r]));
    store->files_refused += static_cast<int>(summaries[r].refusals.size());
  }
  store->set_codes(codes);
  return store;
}

}  // namespace legato::model
