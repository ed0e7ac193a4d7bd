// miditool: look at MIDI files the way the model will see them.
//   miditool info FILE
//   miditool tokens --scheme seed|event PATH...
//   miditool vocab --scheme seed|event PATH...
//   miditool roundtrip --scheme seed|event IN.mid OUT.mid
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>

#include "midi/loader.h"
#include "midi/reader.h"
#include "midi/tokenizer.h"
#include "midi/vocabulary.h"
#include "midi/writer.h"

namespace {
using namespace legato::midi;

struct TokenizerFlags {
  std::string scheme = "seed";
  EventOptions event;
  bool sustain = false;

  void add_to(CLI::App* app) {
    app->add_option("--scheme", scheme, "Tokenizer: seed (the Keras seed's music21 tokens) or event")
        ->check(CLI::IsMember({"seed", "event"}));
    app->add_option("--grid", event.steps_per_quarter, "event: grid steps per quarter note")->check(CLI::Range(1, 96));
    app->add_option("--velocity-bins", event.velocity_bins, "event: velocity bins (0: no velocity tokens)")
        ->check(CLI::Range(0, 127));
    app->add_flag("--sustain", sustain, "Extend notes held by the sustain pedal (CC64)");
  }
  ReadOptions read_options() const { return ReadOptions{sustain}; }
};

int info(const std::string& file) {
  const Score s = read_midi_file(file);
  std::printf("file        %s\n", file.c_str());
  std::printf("format      %d, %d tracks\n", s.format, s.track_count);
  if (s.smpte)
    std::printf("division    SMPTE, %d ticks per second\n", s.smpte_ticks_per_second);
  else
    std::printf("division    %d ticks per quarter note\n", s.ticks_per_quarter);
  std::printf("length      %.2f s, %.2f quarter notes\n", s.seconds_at(s.end_tick()), s.quarters_at(s.end_tick()));
  std::printf("tempo map   %s\n", s.tempo_map.empty() ? "none (120 bpm)" : "");
  for (const TempoChange& t : s.tempo_map)
    std::printf("  tick %-8lld %8.3f s  %.2f bpm\n", (long long)t.tick, t.seconds, t.bpm());
  for (const TimeSignature& t : s.time_signatures)
    std::printf("meter       tick %-8lld %d/%d\n", (long long)t.tick, t.numerator, t.denominator);
  for (const KeySignature& k : s.key_signatures)
    std::printf("key         tick %-8lld %d %s, %s\n", (long long)k.tick, std::abs(k.sharps),
                k.sharps < 0 ? "flats" : "sharps", k.minor ? "minor" : "major");
  std::map<std::tuple<int, int, int>, int> per_instrument;  // (track, channel, program) -> notes
  for (const Note& n : s.notes) ++per_instrument[{n.track, n.channel, n.program}];
  for (const auto& [key, count] : per_instrument) {
    const auto [track, channel, program] = key;
    if (channel == kDrumChannel)
      std::printf("instrument  track %d, channel %d, drums: %d notes\n", track, channel + 1, count);
    else
      std::printf("instrument  track %d, channel %d, program %d: %d notes\n", track, channel + 1, program, count);
  }
  std::printf("notes       %zu", s.notes.size());
  if (s.unreleased_notes) std::printf(" (and %d never released, dropped)", s.unreleased_notes);
  std::printf("\n");
  return 0;
}

int tokens(const TokenizerFlags& flags, const std::vector<std::string>& paths, bool timing) {
  const auto tokenizer = make_tokenizer(flags.scheme, flags.event);
  const auto start = std::chrono::steady_clock::now();
  const LoadResult loaded = load_midi_files({paths.begin(), paths.end()}, std::cerr, flags.read_options());
  std::string out;
  size_t notes = 0, count = 0;
  for (const LoadedScore& piece : loaded.scores) {
    const std::vector<std::string> toks = tokenizer->tokenize(piece.score);
    notes += piece.score.notes.size();
    count += toks.size();
    out += piece.path.filename().string();
    out += '\t';
    for (size_t i = 0; i < toks.size(); ++i) {
      if (i) out += ' ';
      out += toks[i];
    }
    out += '\n';
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (timing)
    std::fprintf(stderr, "miditool: read and tokenized %zu files, %zu notes, %zu tokens in %.1f ms\n",
                 loaded.scores.size(), notes, count, seconds * 1e3);
  return loaded.failed ? 1 : 0;
}

int vocab(const TokenizerFlags& flags, const std::vector<std::string>& paths, int min_count, const std::string& save) {
  const auto tokenizer = make_tokenizer(flags.scheme, flags.event);
  const LoadResult loaded = load_midi_files({paths.begin(), paths.end()}, std::cerr, flags.read_options());
  Vocabulary v;
  for (const LoadedScore& piece : loaded.scores) v.count(tokenizer->tokenize(piece.score));
  for (const auto& [token, count] : v.most_frequent()) std::printf("%s\t%lld\n", token.c_str(), (long long)count);
  v.build(min_count, tokenizer->special_tokens());
  std::fprintf(stderr, "miditool: %zu distinct tokens, %lld in all; vocabulary of %zu with min count %d\n",
               v.most_frequent().size(), (long long)v.total_count(), v.size(), min_count);
  if (!save.empty()) v.save(save);
  return loaded.failed ? 1 : 0;
}

int roundtrip(const TokenizerFlags& flags, const std::string& in, const std::string& out) {
  const auto tokenizer = make_tokenizer(flags.scheme, flags.event);
  const Score score = read_midi_file(in, flags.read_options());
  const std::vector<std::string> toks = tokenizer->tokenize(score);
  const Score back = tokenizer->detokenize(toks);
  write_midi_file(back, out);
  std::fprintf(stderr, "miditool: %zu notes -> %zu tokens -> %zu notes in %s\n", score.notes.size(), toks.size(),
               back.notes.size(), out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"miditool: read MIDI files, tokenize them, write them back"};
  app.require_subcommand(1);

  std::string info_file;
  auto* info_cmd = app.add_subcommand("info", "Format, tracks, division, tempo map, instruments, note counts");
  info_cmd->add_option("FILE", info_file, "MIDI file")->required();

  TokenizerFlags tok_flags;
  std::vector<std::string> tok_paths;
  bool timing = false;
  auto* tokens_cmd = app.add_subcommand("tokens", "One line per file: its name, a tab, its tokens");
  tok_flags.add_to(tokens_cmd);
  tokens_cmd->add_option("PATH", tok_paths, "MIDI files or folders (searched recursively)")->required();
  tokens_cmd->add_flag("--time", timing, "Report on stderr how long reading and tokenizing took");

  TokenizerFlags vocab_flags;
  std::vector<std::string> vocab_paths;
  int min_count = 1;
  std::string save;
  auto* vocab_cmd = app.add_subcommand("vocab", "The vocabulary with counts, most frequent first");
  vocab_flags.add_to(vocab_cmd);
  vocab_cmd->add_option("PATH", vocab_paths, "MIDI files or folders (searched recursively)")->required();
  vocab_cmd->add_option("--min-count", min_count, "Tokens rarer than this map to UNK in the saved vocabulary");
  vocab_cmd->add_option("--save", save, "Write the vocabulary as a JSON array of tokens in id order");

  TokenizerFlags rt_flags;
  std::string rt_in, rt_out;
  auto* rt_cmd = app.add_subcommand("roundtrip", "Tokenize IN.mid, detokenize, write OUT.mid");
  rt_flags.add_to(rt_cmd);
  rt_cmd->add_option("IN", rt_in, "MIDI file to read")->required();
  rt_cmd->add_option("OUT", rt_out, "MIDI file to write")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    if (*info_cmd) return info(info_file);
    if (*tokens_cmd) return tokens(tok_flags, tok_paths, timing);
    if (*vocab_cmd) return vocab(vocab_flags, vocab_paths, min_count, save);
    if (*rt_cmd) return roundtrip(rt_flags, rt_in, rt_out);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "miditool: %s\n", e.what());
    return 1;
  }
  return 2;
}
