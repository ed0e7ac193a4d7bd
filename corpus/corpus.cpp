#include "corpus/corpus.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>
#include <stdexcept>
#include <unordered_map>

#include "corpus/corpus_reading.h"
#include "midi/controls.h"
#include "midi/key.h"
#include "midi/loader.h"
#include "midi/tokenizer.h"
#include "midi/vocabulary.h"
#include "model/encoding.h"

namespace legato::model {
namespace {

// Bump when a tokenizer's output changes: caches written before then are stale.
constexpr int kTokenizerRevision = 3;  // 2: the event scheme's ensemble header (version 2); 3: mode, density

// What the tokens depend on besides the files: the scheme, its options and the reader's.
std::string options_text(const std::string& scheme, const midi::ReadOptions& read) {
  const midi::EventOptions e;
  const midi::SeedOptions s;
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "rev %d; %s; grid %d shift %d duration %d velocity %d longest %d; split0 %d; "
                "pairing %d strict %d sustain %d",
                kTokenizerRevision, scheme.c_str(), e.steps_per_quarter, e.max_shift_steps, e.max_duration_steps,
                e.velocity_bins, e.max_note_quarters, s.split_format0_channels ? 1 : 0, static_cast<int>(read.pairing),
                read.strict ? 1 : 0, read.sustain_pedal ? 1 : 0);
  return buf;
}

// The cache's key: the options, and every file's path, size and modification time (to the
// nanosecond), so an added, removed, renamed or rewritten file makes the cache stale.
uint64_t cache_key(const std::string& options, const std::vector<std::vector<std::filesystem::path>>& files) {
  uint64_t key = hash_bytes(options.data(), options.size());
  for (const auto& root : files)
    for (const auto& f : root) {
      struct stat st {};
      ::stat(f.c_str(), &st);
      const int64_t facts[3] = {static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
                                static_cast<int64_t>(st.st_mtim.tv_nsec)};
      key = hash_bytes(f.c_str(), f.native().size(), key);
      key = hash_bytes(facts, sizeof facts, key);
    }
  return key;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string hex(uint64_t x) {
  char buf[20];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

std::string cache_line(const std::string& what, const std::filesystem::path& path, const TokenStore& s,
                       double seconds) {
  char buf[160];
  std::snprintf(buf, sizeof buf, " (%zu pieces, %llu tokens of %d byte%s, %.1f MB) in %.2f s\n", s.pieces.size(),
                static_cast<unsigned long long>(s.token_count()), s.width(), s.width() == 1 ? "" : "s",
                static_cast<double>(s.token_count() * static_cast<uint64_t>(s.width())) / 1e6, seconds);
  return "corpus cache: " + what + " " + path.string() + buf;
}

// Which stored pieces are held out: a seeded shuffle by piece, at least one training piece.
std::vector<bool> held_out(size_t pieces, const CorpusOptions& options) {
  std::vector<size_t> order(pieces);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(options.seed));
  size_t held = static_cast<size_t>(options.val_split * static_cast<double>(order.size()) + 0.5);
  held = std::min(held, order.size() - 1);
  if (options.val_split > 0 && held == 0 && order.size() > 1) held = 1;
  std::vector<bool> is_val(order.size(), false);
  for (size_t k = 0; k < held; ++k) is_val[order[k]] = true;
  return is_val;
}

// The vocabulary of the training pieces and all their transpositions, counted in one pass over
// the stored codes: a moving code adds one count to each shift of its piece's range (kept as a
// difference array over shifts, so each token costs the same whatever --transpose is).
midi::Vocabulary count_vocabulary(const Corpus& c, const midi::Tokenizer& tokenizer) {
  const TokenStore& s = *c.store;
  const size_t alphabet = s.alphabet.size(), shifts = 2 * static_cast<size_t>(c.max_shift) + 1;
  std::vector<int64_t> diff(alphabet * (shifts + 1), 0);  // [code][shift + max_shift], one spare column
  for (const TrainPiece& p : c.train) {
    const StoredPiece& stored = s.pieces[p.piece];
    const size_t from = static_cast<size_t>(p.lowest + c.max_shift), to = static_cast<size_t>(p.highest + c.max_shift);
    for (uint64_t k = stored.offset; k < stored.offset + stored.length; ++k) {
      const uint32_t code = s.code(k);
      if (code >= alphabet) throw std::runtime_error("corpus cache: a token code outside the alphabet");
      // Once per shift of the piece; below, a fixed token counts as itself at every shift.
      ++diff[code * (shifts + 1) + from];
      --diff[code * (shifts + 1) + to + 1];
    }
  }
  midi::Vocabulary vocabulary;
  for (size_t code = 0; code < alphabet; ++code) {
    int64_t running = 0;
    for (size_t col = 0; col < shifts; ++col) {
      running += diff[code * (shifts + 1) + col];
      if (running == 0) continue;
      const int shift = static_cast<int>(col) - c.max_shift;
      if (!s.moves[code] || shift == 0) {
        vocabulary.count(s.alphabet[code], running);
      } else if (const auto moved = tokenizer.transpose_token(s.alphabet[code], shift)) {
        vocabulary.count(*moved, running);
      }
    }
  }
  return vocabulary;
}

// The table of ids: every stored code moved by every shift.
std::vector<int32_t> moved_ids(const Corpus& c, const midi::Tokenizer& tokenizer) {
  const TokenStore& s = *c.store;
  const auto ids = index_of(c.vocab);
  const int32_t unk = unk_id(ids);
  const size_t alphabet = s.alphabet.size();
  std::vector<int32_t> table((2 * static_cast<size_t>(c.max_shift) + 1) * alphabet, -1);
  for (int shift = -c.max_shift; shift <= c.max_shift; ++shift)
    for (size_t code = 0; code < alphabet; ++code) {
      const std::optional<std::string> moved = !s.moves[code] || shift == 0
                                                   ? std::optional<std::string>(s.alphabet[code])
                                                   : tokenizer.transpose_token(s.alphabet[code], shift);
      if (!moved) continue;  // a pitch outside 0..127: no piece allows this shift
      const auto it = ids.find(*moved);
      table[static_cast<size_t>(shift + c.max_shift) * alphabet + code] = it != ids.end() ? it->second : unk;
    }
  return table;
}

// The shift a piece is trained around: to C's key signature with normalise_key (as near as its
// notes allow), else none.
int home_shift(const StoredPiece& p, const CorpusOptions& options, int max_shift) {
  if (!options.normalise_key || p.key > 11 || !p.transposable) return 0;
  return std::clamp(midi::shift_to_c(p.key, p.lowest, p.highest), -max_shift, max_shift);
}

// The style of a file: the first folder under the path it was found in, or that path's own name
// for a file directly in it (or given itself).
std::string style_of(const std::filesystem::path& file, const std::vector<std::filesystem::path>& roots) {
  for (const auto& root : roots) {
    const std::filesystem::path rel = file.lexically_relative(root);
    if (rel.empty() || *rel.begin() == "..") continue;
    if (std::distance(rel.begin(), rel.end()) > 1) return rel.begin()->string();
    const std::filesystem::path named = root.filename().empty() ? root.parent_path() : root;
    return (rel == "." ? named.parent_path() : named).filename().string();
  }
  return file.parent_path().filename().string();
}

// The middle value of `values` (the mean of the two middle ones for an even count); 0 when empty.
double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Every style's profile from its training pieces (StyleProfile: medians of their statistics).
void add_style_profiles(Corpus& c) {
  const TokenStore& s = *c.store;
  for (size_t style = 0; style < c.styles.size(); ++style) {
    std::vector<double> lows, highs, seconds, densities;
    for (size_t k = 0; k < c.train.size(); ++k) {
      if (c.train_controls[k].style != static_cast<int>(style)) continue;
      const StoredPiece& p = s.pieces[c.train[k].piece];
      if (p.pitch_p5 <= 127) lows.push_back(p.pitch_p5), highs.push_back(p.pitch_p95);
      seconds.push_back(p.centiseconds / 100.0);
      densities.push_back(p.centinotes_per_beat / 100.0);
    }
    StyleProfile& profile = c.style_profiles.emplace_back();
    profile.style = c.styles[style];
    if (!lows.empty())  // rounded as bench/style_quality.py rounds them (nearbyint: half to even)
      profile.pitch_lo = static_cast<int>(std::floor(median(lows))),
      profile.pitch_hi = static_cast<int>(std::nearbyint(median(highs)));
    profile.seconds = median(seconds);
    profile.notes_per_beat = median(densities);
    profile.pieces = static_cast<int64_t>(seconds.size());
  }
}

// Every training piece's controls, the density thirds and the styles; their tokens (each key at
// every shift some piece is trained at) end the vocabulary.
void add_controls(Corpus& c, const CorpusOptions& options) {
  for (const std::string& name : options.controls)
    if (std::find(midi::kControlNames.begin(), midi::kControlNames.end(), name) == midi::kControlNames.end())
      throw std::invalid_argument("unknown control '" + name + "' (key, density or style)");
  for (const std::string_view name : midi::kControlNames)  // in window order, whatever order they were given in
    if (std::find(options.controls.begin(), options.controls.end(), name) != options.controls.end())
      c.controls.emplace_back(name);
  if (c.controls.empty()) return;
  const TokenStore& s = *c.store;
  std::vector<double> densities;
  std::vector<std::string> styles;
  for (const TrainPiece& p : c.train) {
    densities.push_back(s.pieces[p.piece].centinotes_per_beat / 100.0);
    styles.push_back(style_of(s.files[s.pieces[p.piece].file], options.paths));
  }
  c.density_bounds = midi::tertiles(densities);
  c.styles = styles;
  std::sort(c.styles.begin(), c.styles.end());
  c.styles.erase(std::unique(c.styles.begin(), c.styles.end()), c.styles.end());
  for (size_t k = 0; k < c.train.size(); ++k) {
    const StoredPiece& p = s.pieces[c.train[k].piece];
    PieceControls& pc = c.train_controls.emplace_back();
    if (p.key < 12) pc.key = midi::key_in(p.key, p.minor).tonic + (p.minor ? 12 : 0);
    pc.density = midi::density_class(densities[k], c.density_bounds);
    pc.style = static_cast<int>(std::lower_bound(c.styles.begin(), c.styles.end(), styles[k]) - c.styles.begin());
  }
  if (std::find(c.controls.begin(), c.controls.end(), "style") != c.controls.end()) add_style_profiles(c);
}

// The token of one control of a piece at `shift`.
std::string control_token(const Corpus& c, const std::string& name, const PieceControls& pc, int shift) {
  if (name == "key")
    return pc.key < 0 ? std::string(midi::kNoKeyToken)
                      : midi::key_token(midi::Key{pc.key % 12, pc.key >= 12}.moved(shift));
  if (name == "density") return midi::density_token(pc.density);
  return midi::style_token(c.styles[static_cast<size_t>(pc.style)]);
}

// The control tokens every training piece can need, after the vocabulary's others, and the table
// of their ids.
void add_control_tokens(Corpus& c) {
  if (c.controls.empty()) return;
  std::unordered_map<std::string, int32_t> ids;
  for (size_t id = 0; id < c.vocab.size(); ++id) ids.emplace(c.vocab[id], static_cast<int32_t>(id));
  const size_t shifts = 2 * static_cast<size_t>(c.max_shift) + 1;
  c.control_table.assign(c.train.size() * shifts * c.controls.size(), -1);
  for (size_t k = 0; k < c.train.size(); ++k)
    for (int shift = c.train[k].lowest; shift <= c.train[k].highest; ++shift)
      for (size_t n = 0; n < c.controls.size(); ++n) {
        const std::string token = control_token(c, c.controls[n], c.train_controls[k], shift);
        const auto [it, added] = ids.emplace(token, static_cast<int32_t>(c.vocab.size()));
        if (added) c.vocab.push_back(token);
        c.control_table[(k * shifts + static_cast<size_t>(shift + c.max_shift)) * c.controls.size() + n] = it->second;
      }
}

}  // namespace

std::vector<int32_t> Corpus::control_ids(size_t train_piece, int shift) const {
  const size_t n = controls.size(),
               at = (train_piece * (2 * static_cast<size_t>(max_shift) + 1) + static_cast<size_t>(shift + max_shift)) *
                    n;
  return {control_table.begin() + static_cast<std::ptrdiff_t>(at),
          control_table.begin() + static_cast<std::ptrdiff_t>(at + n)};
}

int64_t Corpus::train_tokens() const {
  int64_t n = 0;
  for (const TrainPiece& p : train) n += length(p) * p.shifts();
  return n;
}

int64_t Corpus::val_tokens() const {
  int64_t n = 0;
  for (const auto& p : val) n += static_cast<int64_t>(p.size());
  return n;
}

std::filesystem::path default_corpus_path() { return "/usr/share/games/openttd/baseset/openmsx"; }

std::shared_ptr<const TokenStore> load_token_store(const CorpusOptions& options, std::ostream& log) {
  const auto tokenizer = midi::make_tokenizer(options.scheme);
  const midi::ReadOptions read = read_options_for(*tokenizer);
  std::vector<std::vector<std::filesystem::path>> files;
  for (const auto& root : options.paths) files.push_back(midi::find_midi_files({root}));
  const std::string described = options_text(options.scheme, read);
  const auto started = std::chrono::steady_clock::now();
  std::filesystem::path path;
  uint64_t key = 0;
  if (!options.cache_dir.empty()) {
    key = cache_key(described, files);
    path = options.cache_dir /
           ("corpus-" + options.scheme + "-" + hex(hash_bytes(described.data(), described.size())) + ".tokens");
    std::string why;
    if (std::unique_ptr<TokenStore> cached = TokenStore::map(path, key, why)) {
      for (const auto& line : cached->summary) log << line;
      log << cache_line("mapped", path, *cached, seconds_since(started));
      return cached;
    }
    if (why != "none yet") log << "corpus cache: " << path.string() << " is " << why << "; rebuilding it\n";
  }
  std::unique_ptr<TokenStore> store = read_token_store(options.paths, files, *tokenizer, read, options.progress);
  for (const auto& line : store->summary) log << line;
  if (!options.cache_dir.empty() && options.write_cache && !store->pieces.empty()) {
    try {
      std::filesystem::create_directories(options.cache_dir);
      store->save(path, key);
      log << cache_line("wrote", path, *store, seconds_since(started));
    } catch (const std::exception& e) {  // a read-only folder costs the next start time, not this run
      log << "corpus cache: not written (" << e.what() << ")\n";
    }
  }
  return store;
}

Corpus load_corpus(const CorpusOptions& options, std::ostream& log) {
  const auto tokenizer = midi::make_tokenizer(options.scheme);
  Corpus corpus;
  corpus.store = load_token_store(options, log);
  const TokenStore& s = *corpus.store;
  if (s.pieces.empty()) throw std::runtime_error("no readable MIDI file in the given paths");
  corpus.files_loaded = static_cast<int>(s.pieces.size());
  corpus.files_skipped = s.files_refused;
  corpus.max_shift = options.transpose + (options.normalise_key ? 6 : 0);

  const std::vector<bool> is_val = held_out(s.pieces.size(), options);
  std::vector<uint32_t> val_pieces;
  for (uint32_t k = 0; k < s.pieces.size(); ++k) {
    if (is_val[k]) {
      val_pieces.push_back(k);
      continue;
    }
    // A transposition that would push a note out of 0..127 is skipped.
    const StoredPiece& p = s.pieces[k];
    const int home = home_shift(p, options, corpus.max_shift);
    corpus.train.push_back(
        {k, static_cast<int8_t>(std::max(home - options.transpose, p.lowest_shift(corpus.max_shift))),
         static_cast<int8_t>(std::min(home + options.transpose, p.highest_shift(corpus.max_shift)))});
    if (options.normalise_key && p.key < 12) ++corpus.keys[p.key];
  }
  // The vocabulary comes from the training pieces only: validation must not shape it. The seed
  // scheme orders it as the seed did (sorted token strings); others most frequent first.
  midi::Vocabulary vocabulary = count_vocabulary(corpus, *tokenizer);
  vocabulary.build(options.min_count, tokenizer->special_tokens(),
                   options.scheme == "seed" ? midi::Vocabulary::Order::sorted : midi::Vocabulary::Order::by_frequency);
  for (size_t id = 0; id < vocabulary.size(); ++id) corpus.vocab.push_back(vocabulary.token(static_cast<int>(id)));
  for (const std::string& extra : options.extra_tokens)
    if (std::find(corpus.vocab.begin(), corpus.vocab.end(), extra) == corpus.vocab.end()) corpus.vocab.push_back(extra);
  add_controls(corpus, options);
  add_control_tokens(corpus);
  corpus.moved = moved_ids(corpus, *tokenizer);
  if (unk_id(index_of(corpus.vocab)) < 0 && options.min_count > 1)
    throw std::invalid_argument("a minimum token count needs a scheme with UNK (event)");

  // Validation pieces as ids, at their home shift; tokens the training pieces never had become UNK.
  for (const uint32_t k : val_pieces) {
    const StoredPiece& p = s.pieces[k];
    const int32_t* at_home =
        corpus.moved.data() +
        static_cast<size_t>(home_shift(p, options, corpus.max_shift) + corpus.max_shift) * s.alphabet.size();
    std::vector<int32_t> piece;
    piece.reserve(p.length);
    for (uint64_t t = p.offset; t < p.offset + p.length; ++t) {
      const uint32_t code = s.code(t);
      if (code >= s.alphabet.size()) throw std::runtime_error("corpus cache: a token code outside the alphabet");
      if (at_home[code] >= 0) piece.push_back(at_home[code]);  // no UNK in the scheme: dropped
    }
    corpus.val.push_back(std::move(piece));
    corpus.val_names.push_back(s.files[p.file]);
  }
  return corpus;
}

}  // namespace legato::model
