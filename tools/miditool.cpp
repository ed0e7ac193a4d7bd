// miditool: look at MIDI files the way the model will see them.
//   miditool info FILE [--strict]
//   miditool notes PATH...   (one line per note: what the reader made, exactly)
//   miditool tokens [--scheme event|seed] PATH...
//   miditool vocab [--scheme event|seed] PATH...
//   miditool roundtrip [--scheme event|seed] IN.mid OUT.mid
// measure them (MusPy's and MGEval's features, MGEval's set comparison):
//   miditool stats PATH... [--csv|--json]     miditool compare GENERATED... --against CORPUS... [--densities FILE.svg]
// and hear and see them:
//   miditool play FILE [--port NAME]     miditool ports
//   miditool render FILE OUT.wav [--soundfont F]     miditool roll FILE OUT.svg
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>

#include "cli_errors.h"

#include "eval/report.h"
#include "midi/loader.h"
#include "midi/reader.h"
#include "midi/tokenizer.h"
#include "midi/vocabulary.h"
#include "midi/writer.h"
#include "render/piano_roll.h"
#ifdef LEGATO_HAVE_RTMIDI
#include "render/midi_out.h"
#include "render/player.h"
#endif
#ifdef LEGATO_HAVE_FLUIDSYNTH
#include "render/audio.h"
#include "tools/openmp_waits.h"
#endif

namespace {
using namespace legato::midi;

struct TokenizerFlags {
  std::string scheme = "event";  // the scheme of the tiny and default presets' networks
  EventOptions event;
  SeedOptions seed;
  bool sustain = false;

  void add_to(CLI::App* app) {
    app->add_option("--scheme", scheme,
                    "Tokenizer: event (the tiny and default presets') or seed (the seed preset's: the Keras seed's "
                    "music21 tokens)")
        ->check(CLI::IsMember({"seed", "event"}))
        ->capture_default_str();
    app->add_option("--grid", event.steps_per_quarter, "event: grid steps per quarter note")
        ->check(legato::tools::whole_in(1, 96))
        ->capture_default_str();
    app->add_option("--velocity-bins", event.velocity_bins, "event: velocity bins (0: no velocity tokens)")
        ->check(legato::tools::whole_in(0, 127))
        ->capture_default_str();
    app->add_flag("--split-format0", seed.split_format0_channels,
                  "seed: take a format-0 file as one part per channel (music21 does not)");
    app->add_flag("--sustain", sustain, "Extend notes held by the sustain pedal (CC64)");
  }
  std::unique_ptr<Tokenizer> tokenizer() const { return make_tokenizer(scheme, event, seed); }
  // Files are read with the note pairing of the tool the scheme follows.
  ReadOptions read_options() const {
    ReadOptions options;
    options.sustain_pedal = sustain;
    options.pairing = tokenizer()->note_pairing();
    return options;
  }
};

int info(const std::string& file, bool strict) {
  ReadOptions options;
  options.strict = strict;
  const Score s = read_midi_file(file, options);
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
  if (s.zero_length_notes) std::printf(" (and %d of zero length, dropped)", s.zero_length_notes);
  std::printf("\n");
  for (const MidiWarning& w : s.warnings) std::printf("repaired    byte %zu: %s\n", w.offset, w.what.c_str());
  return 0;
}

// Every note of every file as the reader makes it, one tab-separated line each, times as exact
// decimal text (%.17g): what the Python module's notes are checked against.
int notes(const std::vector<std::string>& paths) {
  const LoadResult loaded = load_midi_files({paths.begin(), paths.end()}, std::cerr);
  std::printf(
      "file\tpitch\tstart\tend\tstart_beat\tend_beat\tstart_tick\tend_tick\tvelocity\tprogram\tchannel\ttrack\tis_"
      "drum\n");
  for (const LoadedScore& piece : loaded.scores)
    for (const Note& n : piece.score.notes)
      std::printf("%s\t%d\t%.17g\t%.17g\t%.17g\t%.17g\t%lld\t%lld\t%d\t%d\t%d\t%d\t%d\n", piece.path.filename().c_str(),
                  n.pitch, n.start_seconds, n.start_seconds + n.duration_seconds, n.start_quarters,
                  n.start_quarters + n.duration_quarters, (long long)n.start_tick, (long long)n.end_tick(), n.velocity,
                  n.program, n.channel, n.track, n.is_drum() ? 1 : 0);
  return loaded.failed ? 1 : 0;
}

int tokens(const TokenizerFlags& flags, const std::vector<std::string>& paths, bool timing) {
  const auto tokenizer = flags.tokenizer();
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
  const auto tokenizer = flags.tokenizer();
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
  const auto tokenizer = flags.tokenizer();
  const Score score = read_midi_file(in, flags.read_options());
  const std::vector<std::string> toks = tokenizer->tokenize(score);
  const Score back = tokenizer->detokenize(toks);
  write_midi_file(back, out);
  std::fprintf(stderr, "miditool: %zu notes -> %zu tokens -> %zu notes in %s\n", score.notes.size(), toks.size(),
               back.notes.size(), out.c_str());
  return 0;
}

// The features of every piece found under the paths; what cannot be read is named on stderr.
std::vector<legato::eval::NamedFeatures> features_of_files(const std::vector<std::string>& paths, int& failed) {
  const LoadResult loaded = load_midi_files({paths.begin(), paths.end()}, std::cerr);
  failed += loaded.failed;
  std::vector<legato::eval::NamedFeatures> out;
  for (const LoadedScore& piece : loaded.scores)
    out.push_back({piece.path.string(), legato::eval::features_of(piece.score)});
  return out;
}

int stats(const std::vector<std::string>& paths, bool csv, bool json) {
  int failed = 0;
  const auto pieces = features_of_files(paths, failed);
  if (pieces.empty()) throw std::invalid_argument("no readable MIDI file in the given paths");
  const std::string text = json  ? legato::eval::stats_json(pieces)
                           : csv ? legato::eval::stats_csv(pieces)
                                 : legato::eval::stats_table(pieces);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return failed ? 1 : 0;
}

int compare(const std::vector<std::string>& generated_paths, const std::vector<std::string>& corpus_paths, bool json,
            const std::string& svg) {
  int failed = 0;
  const auto generated = features_of_files(generated_paths, failed);
  const auto corpus = features_of_files(corpus_paths, failed);
  const legato::eval::Comparison c = legato::eval::compare_sets(generated, corpus);
  const std::string text = json ? legato::eval::comparison_json(c) : legato::eval::comparison_table(c);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (!svg.empty()) legato::render::write_text_file(svg, legato::eval::comparison_svg(c));
  return failed ? 1 : 0;
}

// A feature this build left out: say so, and how to get it.
[[maybe_unused]] int missing(const char* what, const char* package) {
  std::fprintf(stderr, "miditool: this build has no %s (install %s and rebuild)\n", what, package);
  return legato::tools::kUsageError;
}

#ifdef LEGATO_HAVE_RTMIDI
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

// The output ports (--play, miditool play) as "INDEX<tab>API<tab>NAME" lines, then the input ports
// (composer --listen) under a line "inputs:", numbered on their own.
int ports() {
  const auto outputs = legato::render::list_output_ports();
  const auto inputs = legato::render::list_input_ports();
  if (outputs.empty()) std::fprintf(stderr, "miditool: no MIDI output ports (start a synthesizer or a JACK client)\n");
  for (size_t k = 0; k < outputs.size(); ++k)
    std::printf("%zu\t%s\t%s\n", k, outputs[k].api_name.c_str(), outputs[k].name.c_str());
  std::printf("inputs:\n");
  for (size_t k = 0; k < inputs.size(); ++k)
    std::printf("%zu\t%s\t%s\n", k, inputs[k].api_name.c_str(), inputs[k].name.c_str());
  return 0;
}

int play(const std::string& file, const std::string& port) {
  const Score score = read_midi_file(file);
  legato::render::MidiOutput out(port, "miditool");
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "miditool: playing %s (%zu notes, %.1f s) on %s\n", file.c_str(), score.notes.size(),
               score.seconds_at(score.end_tick()), out.port().name.c_str());
  const auto stats = legato::render::play(score, out, &g_stop);
  // Said so that late notes are not taken for the player's own timing.
  if (stats.late_wakeup_seconds > 0.001)
    std::fprintf(stderr, "miditool: the system woke the player up to %.1f ms late\n", stats.late_wakeup_seconds * 1e3);
  return stats.interrupted ? 130 : 0;
}
#endif

int render_audio(const std::string& file, const std::string& wav, const std::string& soundfont) {
#ifdef LEGATO_HAVE_FLUIDSYNTH
  const Score score = read_midi_file(file);
  legato::render::AudioOptions options;
  options.soundfont = soundfont;
  const auto result = legato::render::render_wav(score, wav, options);
  std::fprintf(stderr, "miditool: %s: %.2f s, %d Hz stereo, %zu notes, soundfont %s\n", wav.c_str(), result.seconds(),
               result.sample_rate, score.notes.size(), result.soundfont.c_str());
  return 0;
#else
  return missing("audio rendering", "libfluidsynth-dev");
#endif
}

int roll(const std::string& file, const std::string& svg) {
  const Score score = read_midi_file(file);
  legato::render::RollOptions options;
  options.title = std::filesystem::path(file).filename().string();
  legato::render::write_text_file(svg, legato::render::piano_roll_svg(score, options));
  std::fprintf(stderr, "miditool: %s: piano roll of %zu notes\n", svg.c_str(), score.notes.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  legato::tools::shorten_openmp_waits(argv);  // before any OpenMP work (tools/openmp_waits.h)
  CLI::App app{"miditool: read MIDI files, tokenize them, write them back; play, render and draw them", "miditool"};
  app.require_subcommand(1);

  std::string info_file;
  bool info_strict = false;
  auto* info_cmd = app.add_subcommand("info", "Format, tracks, division, tempo map, instruments, note counts, repairs");
  info_cmd->add_option("FILE", info_file, "MIDI file")->required()->check(legato::tools::existing_file());
  info_cmd->add_flag("--strict", info_strict, "Refuse a damaged file instead of repairing it (to validate files)");

  std::vector<std::string> notes_paths;
  auto* notes_cmd = app.add_subcommand("notes", "One line per note: pitch, times (s, beats, ticks), velocity, ...");
  notes_cmd->add_option("PATH", notes_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());

  TokenizerFlags tok_flags;
  std::vector<std::string> tok_paths;
  bool timing = false;
  auto* tokens_cmd = app.add_subcommand("tokens", "One line per file: its name, a tab, its tokens");
  tok_flags.add_to(tokens_cmd);
  tokens_cmd->add_option("PATH", tok_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());
  tokens_cmd->add_flag("--time", timing, "Report on stderr how long reading and tokenizing took");

  TokenizerFlags vocab_flags;
  std::vector<std::string> vocab_paths;
  int min_count = 1;
  std::string save;
  auto* vocab_cmd = app.add_subcommand("vocab", "The vocabulary with counts, most frequent first");
  vocab_flags.add_to(vocab_cmd);
  vocab_cmd->add_option("PATH", vocab_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());
  vocab_cmd->add_option("--min-count", min_count, "Tokens rarer than this map to UNK in the saved vocabulary")
      ->check(legato::tools::whole_in(1, 1e9))
      ->capture_default_str();
  vocab_cmd->add_option("--save", save, "Write the vocabulary as a JSON array of tokens in id order");

  TokenizerFlags rt_flags;
  std::string rt_in, rt_out;
  auto* rt_cmd = app.add_subcommand("roundtrip", "Tokenize IN.mid, detokenize, write OUT.mid");
  rt_flags.add_to(rt_cmd);
  rt_cmd->add_option("IN", rt_in, "MIDI file to read")->required()->check(legato::tools::existing_file());
  rt_cmd->add_option("OUT,--out", rt_out, "MIDI file to write")->required();

  std::vector<std::string> stats_paths;
  bool stats_csv = false, stats_json = false;
  auto* stats_cmd = app.add_subcommand(
      "stats", "Each piece's features (MusPy's and MGEval's: pitches, rhythm, tonality; drums out of pitch features)");
  stats_cmd->add_option("PATH", stats_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());
  auto* csv_flag = stats_cmd->add_flag("--csv", stats_csv, "One CSV row per file (scalars and the two histograms)");
  stats_cmd->add_flag("--json", stats_json, "One JSON object per line and file, with a \"file\" key")
      ->excludes(csv_flag);

  std::vector<std::string> generated_paths, corpus_paths;
  bool compare_json = false;
  std::string compare_svg;
  auto* compare_cmd = app.add_subcommand(
      "compare",
      "MGEval's comparison: per feature the overlapped area (OA) and KL divergence of the distances within the corpus "
      "and from the generated pieces to it; last line: mean OA");
  compare_cmd->add_option("GENERATED", generated_paths, "The generated MIDI files or folders")
      ->required()
      ->check(legato::tools::existing_path());
  compare_cmd->add_option("--against", corpus_paths, "The corpus: MIDI files or folders (at least 2 pieces)")
      ->required()
      ->check(legato::tools::existing_path());
  compare_cmd->add_flag("--json", compare_json, "An object with mean_oa and a features map of {oa, kl}");
  compare_cmd->add_option("--densities", compare_svg,
                          "Also draw, per feature, the two densities over each other into this SVG file");

  std::string play_file, play_port;
  auto* play_cmd = app.add_subcommand("play", "Play FILE on a MIDI output port in real time (Ctrl-C stops)");
  play_cmd->add_option("FILE", play_file, "MIDI file")->required()->check(legato::tools::existing_file());
  play_cmd->add_option("--port", play_port,
                       "Output port: its index or (part of) its name from `miditool ports` (default: the first "
                       "that is not Midi Through)");

  auto* ports_cmd =
      app.add_subcommand("ports", "List the MIDI output ports, then the input ports (ALSA sequencer and JACK)");

  std::string render_file, render_wav, soundfont;
  auto* render_cmd = app.add_subcommand("render", "Render FILE to a WAV file with FluidSynth");
  render_cmd->add_option("FILE", render_file, "MIDI file")->required()->check(legato::tools::existing_file());
  render_cmd->add_option("OUT,--out", render_wav, "WAV file to write (44.1 kHz, 16-bit stereo)")->required();
  render_cmd
      ->add_option("--soundfont", soundfont,
                   "General MIDI soundfont (default: FluidR3_GM.sf2, else TimGM6mb.sf2 from /usr/share/sounds/sf2)")
      ->check(legato::tools::existing_file());

  std::string roll_file, roll_svg;
  auto* roll_cmd = app.add_subcommand("roll", "Draw FILE as an SVG piano roll (time across, pitch up, bar lines)");
  roll_cmd->add_option("FILE", roll_file, "MIDI file")->required()->check(legato::tools::existing_file());
  roll_cmd->add_option("OUT,--out", roll_svg, "SVG file to write")->required();

  if (const int code = legato::tools::parse_command_line(app, argc, argv, {{"--svg", "--densities"}}); code >= 0)
    return code;
  {  // every output can be written, before any file is read
    legato::tools::OutputCheck check{"miditool"};
    if (*rt_cmd) check.file("--out", rt_out, "out.mid");
    if (*render_cmd) check.file("--out", render_wav, "piece.wav");
    if (*roll_cmd) check.file("--out", roll_svg, "roll.svg");
    if (*compare_cmd) check.file("--densities", compare_svg, "densities.svg");
    if (*vocab_cmd) check.file("--save", save, "vocab.json");
    if (check.code >= 0) return check.code;
  }
  try {
#ifdef LEGATO_HAVE_RTMIDI
    try {
      if (*play_cmd) return play(play_file, play_port);
      if (*ports_cmd) return ports();
    } catch (const legato::render::PlaybackError& e) {
      std::fprintf(stderr, "miditool: %s\n", e.what());
      return e.kind == legato::render::PlaybackError::Kind::kUnknownPort ? legato::tools::kUsageError : 1;
    }
#else
    if (*play_cmd || *ports_cmd) return missing("live MIDI playback", "librtmidi-dev");
#endif
    if (*render_cmd) return render_audio(render_file, render_wav, soundfont);
    if (*roll_cmd) return roll(roll_file, roll_svg);
    if (*info_cmd) return info(info_file, info_strict);
    if (*stats_cmd) return stats(stats_paths, stats_csv, stats_json);
    if (*compare_cmd) return compare(generated_paths, corpus_paths, compare_json, compare_svg);
    if (*tokens_cmd) return tokens(tok_flags, tok_paths, timing);
    if (*notes_cmd) return notes(notes_paths);
    if (*vocab_cmd) return vocab(vocab_flags, vocab_paths, min_count, save);
    if (*rt_cmd) return roundtrip(rt_flags, rt_in, rt_out);
  } catch (const std::invalid_argument& e) {  // the files given cannot be measured or compared
    std::fprintf(stderr, "miditool: %s\n", e.what());
    return legato::tools::kUsageError;
  } catch (const MidiError& e) {  // a file that is not MIDI, or too damaged: the user's input
    std::fprintf(stderr, "miditool: %s\n", e.what());
    return legato::tools::kUsageError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "miditool: %s\n", legato::tools::describe(e).c_str());
    return 1;
  }
  return 2;
}
