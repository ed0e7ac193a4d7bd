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
//   miditool render FILE OUT.wav [--soundfont F] [--no-pedal]     miditool roll FILE OUT.svg
#include <CLI/CLI.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>

#include "cli_errors.h"

#include "eval/report.h"
#include "midi/controls.h"
#include "midi/key.h"
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
  // What control tokens would call it (docs/controls.md): the key its notes make and their density.
  const std::optional<legato::midi::Key> key = legato::midi::detect_key(s);
  std::printf("detected    %s, %.2f notes per beat\n", key ? legato::midi::key_name(*key).c_str() : "no key",
              legato::midi::notes_per_beat(s));
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
  return legato::eval::features_of_files({paths.begin(), paths.end()}, std::cerr, &failed);
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

int render_audio(const std::string& file, const std::string& wav, const std::string& soundfont, bool no_pedal) {
#ifdef LEGATO_HAVE_FLUIDSYNTH
  ReadOptions read;  // the notes the sustain pedal holds sound until it lifts, as a player hears them
  read.sustain_pedal = !no_pedal;
  const Score score = read_midi_file(file, read);
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

// Every subcommand's flags and arguments, and the subcommands themselves (the one given is true).
struct Flags {
  std::string info_file;
  bool info_strict = false;
  std::vector<std::string> notes_paths;
  TokenizerFlags tok_flags;
  std::vector<std::string> tok_paths;
  bool timing = false;
  TokenizerFlags vocab_flags;
  std::vector<std::string> vocab_paths;
  int min_count = 1;
  std::string save;
  TokenizerFlags rt_flags;
  std::string rt_in, rt_out;
  std::vector<std::string> stats_paths;
  bool stats_csv = false, stats_json = false;
  std::vector<std::string> generated_paths, corpus_paths;
  bool compare_json = false;
  std::string compare_svg;
  std::string play_file, play_port;
  std::string render_file, render_wav, soundfont;
  bool no_pedal = false;
  std::string roll_file, roll_svg;
  CLI::App *info_cmd, *notes_cmd, *tokens_cmd, *vocab_cmd, *rt_cmd, *stats_cmd, *compare_cmd, *play_cmd, *ports_cmd,
      *render_cmd, *roll_cmd;
};

// Reading, tokenizing and writing back: info, notes, tokens, vocab, roundtrip.
void add_reading_commands(CLI::App& app, Flags& f) {
  f.info_cmd = app.add_subcommand("info", "Format, tracks, division, tempo map, instruments, note counts, repairs");
  f.info_cmd->add_option("FILE", f.info_file, "MIDI file")->required()->check(legato::tools::existing_file());
  f.info_cmd->add_flag("--strict", f.info_strict, "Refuse a damaged file instead of repairing it (to validate files)");

  f.notes_cmd = app.add_subcommand("notes", "One line per note: pitch, times (s, beats, ticks), velocity, ...");
  f.notes_cmd->add_option("PATH", f.notes_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());

  f.tokens_cmd = app.add_subcommand("tokens", "One line per file: its name, a tab, its tokens");
  f.tok_flags.add_to(f.tokens_cmd);
  f.tokens_cmd->add_option("PATH", f.tok_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());
  f.tokens_cmd->add_flag("--time", f.timing, "Report on stderr how long reading and tokenizing took");

  f.vocab_cmd = app.add_subcommand("vocab", "The vocabulary with counts, most frequent first");
  f.vocab_flags.add_to(f.vocab_cmd);
  f.vocab_cmd->add_option("PATH", f.vocab_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());
  f.vocab_cmd->add_option("--min-count", f.min_count, "Tokens rarer than this map to UNK in the saved vocabulary")
      ->check(legato::tools::whole_in(1, 1e9))
      ->capture_default_str();
  f.vocab_cmd->add_option("--save", f.save, "Write the vocabulary as a JSON array of tokens in id order");

  f.rt_cmd = app.add_subcommand("roundtrip", "Tokenize IN.mid, detokenize, write OUT.mid");
  f.rt_flags.add_to(f.rt_cmd);
  f.rt_cmd->add_option("IN", f.rt_in, "MIDI file to read")->required()->check(legato::tools::existing_file());
  f.rt_cmd->add_option("OUT,--out", f.rt_out, "MIDI file to write")->required();
}

// Measuring pieces and sets of them: stats, compare.
void add_measuring_commands(CLI::App& app, Flags& f) {
  f.stats_cmd = app.add_subcommand(
      "stats", "Each piece's features (MusPy's and MGEval's: pitches, rhythm, tonality; drums out of pitch features)");
  f.stats_cmd->add_option("PATH", f.stats_paths, "MIDI files or folders (searched recursively)")
      ->required()
      ->check(legato::tools::existing_path());
  auto* csv_flag = f.stats_cmd->add_flag("--csv", f.stats_csv, "One CSV row per file (scalars and the two histograms)");
  f.stats_cmd->add_flag("--json", f.stats_json, "One JSON object per line and file, with a \"file\" key")
      ->excludes(csv_flag);

  f.compare_cmd = app.add_subcommand(
      "compare",
      "MGEval's comparison: per feature the overlapped area (OA) and KL divergence of the distances within the corpus "
      "and from the generated pieces to it; last line: mean OA");
  f.compare_cmd->add_option("GENERATED", f.generated_paths, "The generated MIDI files or folders")
      ->required()
      ->check(legato::tools::existing_path());
  f.compare_cmd->add_option("--against", f.corpus_paths, "The corpus: MIDI files or folders (at least 2 pieces)")
      ->required()
      ->check(legato::tools::existing_path());
  f.compare_cmd->add_flag("--json", f.compare_json, "An object with mean_oa and a features map of {oa, kl}");
  f.compare_cmd->add_option("--densities", f.compare_svg,
                            "Also draw, per feature, the two densities over each other into this SVG file");
}

// Hearing and seeing: play, ports, render, roll.
void add_hearing_commands(CLI::App& app, Flags& f) {
  f.play_cmd = app.add_subcommand("play", "Play FILE on a MIDI output port in real time (Ctrl-C stops)");
  f.play_cmd->add_option("FILE", f.play_file, "MIDI file")->required()->check(legato::tools::existing_file());
  f.play_cmd->add_option("--port", f.play_port,
                         "Output port: its index or (part of) its name from `miditool ports` (default: the first "
                         "that is not Midi Through)");

  f.ports_cmd =
      app.add_subcommand("ports", "List the MIDI output ports, then the input ports (ALSA sequencer and JACK)");

  f.render_cmd = app.add_subcommand("render", "Render FILE to a WAV file with FluidSynth");
  f.render_cmd->add_option("FILE", f.render_file, "MIDI file")->required()->check(legato::tools::existing_file());
  f.render_cmd->add_option("OUT,--out", f.render_wav, "WAV file to write (44.1 kHz, 16-bit stereo)")->required();
  f.render_cmd
      ->add_option("--soundfont", f.soundfont,
                   "General MIDI soundfont (default: FluidR3_GM.sf2, else TimGM6mb.sf2 from /usr/share/sounds/sf2)")
      ->check(legato::tools::existing_file());
  f.render_cmd->add_flag("--no-pedal", f.no_pedal,
                         "Ignore the sustain pedal (CC64): each note ends at its note-off, as the file's notes read");

  f.roll_cmd = app.add_subcommand("roll", "Draw FILE as an SVG piano roll (time across, pitch up, bar lines)");
  f.roll_cmd->add_option("FILE", f.roll_file, "MIDI file")->required()->check(legato::tools::existing_file());
  f.roll_cmd->add_option("OUT,--out", f.roll_svg, "SVG file to write")->required();
}

// Every output of the subcommand given can be written: -1, else the exit code after saying why not.
int check_outputs(const Flags& f) {
  legato::tools::OutputCheck check{"miditool"};
  if (*f.rt_cmd) check.file("--out", f.rt_out, "out.mid");
  if (*f.render_cmd) check.file("--out", f.render_wav, "piece.wav");
  if (*f.roll_cmd) check.file("--out", f.roll_svg, "roll.svg");
  if (*f.compare_cmd) check.file("--densities", f.compare_svg, "densities.svg");
  if (*f.vocab_cmd) check.file("--save", f.save, "vocab.json");
  return check.code;
}

// The subcommand given; returns the exit code.
int run(const Flags& f) {
  try {
#ifdef LEGATO_HAVE_RTMIDI
    try {
      if (*f.play_cmd) return play(f.play_file, f.play_port);
      if (*f.ports_cmd) return ports();
    } catch (const legato::render::PlaybackError& e) {
      std::fprintf(stderr, "miditool: %s\n", e.what());
      return e.kind == legato::render::PlaybackError::Kind::kUnknownPort ? legato::tools::kUsageError : 1;
    }
#else
    if (*f.play_cmd || *f.ports_cmd) return missing("live MIDI playback", "librtmidi-dev");
#endif
    if (*f.render_cmd) return render_audio(f.render_file, f.render_wav, f.soundfont, f.no_pedal);
    if (*f.roll_cmd) return roll(f.roll_file, f.roll_svg);
    if (*f.info_cmd) return info(f.info_file, f.info_strict);
    if (*f.stats_cmd) return stats(f.stats_paths, f.stats_csv, f.stats_json);
    if (*f.compare_cmd) return compare(f.generated_paths, f.corpus_paths, f.compare_json, f.compare_svg);
    if (*f.tokens_cmd) return tokens(f.tok_flags, f.tok_paths, f.timing);
    if (*f.notes_cmd) return notes(f.notes_paths);
    if (*f.vocab_cmd) return vocab(f.vocab_flags, f.vocab_paths, f.min_count, f.save);
    if (*f.rt_cmd) return roundtrip(f.rt_flags, f.rt_in, f.rt_out);
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

}  // namespace

int main(int argc, char** argv) {
  legato::tools::shorten_openmp_waits(argv);  // before any OpenMP work (tools/openmp_waits.h)
  CLI::App app{"miditool: read MIDI files, tokenize them, write them back; play, render and draw them", "miditool"};
  app.require_subcommand(1);
  Flags f;
  add_reading_commands(app, f);
  add_measuring_commands(app, f);
  add_hearing_commands(app, f);
  if (const int code = legato::tools::parse_command_line(app, argc, argv, {{"--svg", "--densities"}}); code >= 0)
    return code;
  if (const int code = check_outputs(f); code >= 0) return code;  // before any file is read
  return run(f);
}
