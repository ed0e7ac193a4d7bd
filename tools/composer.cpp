// composer: writes new music from a trained checkpoint, one token at a time with the LSTM state
// carried between tokens; or, with --evaluate, scores a checkpoint on MIDI files. --play sends the
// notes to a MIDI port while they are generated; --wav and --svg render the piece afterwards;
// --against measures the pieces against a corpus (MGEval's overlapped areas, eval/). With
// --device cuda a network that fits on chip composes each piece in one persistent-kernel launch.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "cli_errors.h"
#include "corpus/corpus.h"
#include "device.h"
#include "eval/report.h"
#include "listen_command.h"
#include "midi/edit.h"
#include "midi/loader.h"
#include "midi/reader.h"
#include "midi/tokenizer.h"
#include "model/checkpoint.h"
#include "model/composition.h"
#include "model/controls.h"
#include "model/encoding.h"
#include "model/generator.h"
#include "model/generator_persistent.h"
#include "model/infill.h"
#include "model/onset_grid.h"
#include "render/live_player.h"
#include "train/evaluate.h"
#include "train/trainer.h"
#ifdef LEGATO_HAVE_FLUIDSYNTH
#include "render/audio.h"
#endif
#include "render/instruments.h"
#include "render/piece_files.h"
#include "tools/openmp_waits.h"

namespace {

using namespace legato;
using tools::LivePlayer;

struct Piece {
  std::vector<int32_t> primer, generated;
};

std::filesystem::path numbered(const std::filesystem::path& path, int k, int count) {
  if (count == 1) return path;
  return path.parent_path() / (path.stem().string() + "_" + std::to_string(k + 1) + path.extension().string());
}

// The command line.
struct Options {
  std::string checkpoint, primer_file, primer_tokens, device = "cpu", out = "out/composed.mid", tokens_out;
  std::string precision = "fp32";
  std::vector<std::string> evaluate, compare_with;
  int64_t length = 500;
  int num_outputs = 1;
  double tempo = 0;
  uint64_t seed = 0;  // without --seed: a random one (parse_options)
  model::SamplingOptions sampling;
  bool play = false;
  bool one_part = false;             // the piano in one track instead of two hands
  bool no_primer_in_output = false;  // the MIDI file without the --primer / --primer-tokens notes
  std::string play_port, wav_out, soundfont, svg_out;
  std::string instruments;       // the ensemble (event scheme): names or program numbers
  double bars = 0, seconds = 0;  // the piece's length in bars or seconds instead of --length
  std::string infill;            // --infill FILE: compose its --bars / --beats anew (model/infill.h)
  std::string bars_text, beats_text;
  std::string infill_sees = "both";     // --infill-sees: both sides of the gap, or only what precedes it
  model::InfillOptions infill_options;  // --infill-overshoot, --infill-candidates, --infill-scored-tokens
  std::string infill_overshoot = "rest";
  std::string infill_range = "off";        // --infill-range: off, around or before
  std::string infill_density = "off";      // --infill-density: off, around or before
  std::string infill_classes = "around";   // --infill-pitch-classes: off, around or before
  std::string infill_end_rest = "around";  // --infill-end-rest: off, around or before
  std::string infill_grid = "around";      // --infill-grid: off, around or before
  bool grid_given = false;      // --infill-grid on the command line (else around, before for a continuation, off with
                                // --density)
  bool end_rest_given = false;  // --infill-end-rest on the command line (else around, before for a continuation,
                                // off with --density)
  bool classes_given = false;   // --infill-pitch-classes on the command line (else what can be read, off with --key)
  int64_t infill_prefix_tokens = 0;  // --infill-prefix-tokens: 0 reads seq_len / 3
  bool listen = false;               // call and response (live/session.h) instead of composing a piece
  std::string listen_mode = "answer";
  live::ListenOptions live;
  model::ControlRequest controls;                      // --key, --density, --style (docs/controls.md)
  std::string pitch_range;                             // --pitch-range LO-HI, parsed into controls.pitch_range
  double grid_strength = model::kDefaultGridStrength;  // --grid-strength (model/onset_grid.h, RunningGrid)
  bool grid_strength_given = false;  // --grid-strength on the command line (else its default, off with --key or
                                     // --density)
  bool length_given = false;         // --length on the command line (else a --style's length may stand)
  bool lead_in_given = false;        // --infill-lead-in on the command line (else its default, off where not read)
};

// --bars: a number of bars to compose, or with --infill a range of them (checked once parsed).
CLI::Validator bars_or_range() {
  const CLI::Validator number = tools::number_in(0.25, 100000);
  return CLI::Validator(
      [number](std::string& text) { return text.find('-', 1) != std::string::npos ? std::string() : number(text); },
      number.get_description());
}

// --infill's range in --bars or --beats; returns -1 to go on, or the exit code after one line.
int check_infill_options(Options& o) {
  const bool range = o.bars_text.find('-', 1) != std::string::npos;
  std::string problem;
  if (o.infill.empty() && range) problem = "--bars " + o.bars_text + ": a range of bars needs --infill FILE";
  if (o.infill.empty() && !o.beats_text.empty()) problem = "--beats needs --infill FILE";
  if (!o.infill.empty() && (o.play || o.seconds > 0))
    problem = std::string(o.play ? "--play" : "--seconds") + " does not go with --infill (the gap sets the length)";
  if (!o.infill.empty() && !range && o.beats_text.empty())
    problem = "--infill needs the bars or beats to fill: --bars FIRST-LAST or --beats FIRST-LAST (e.g. --bars 9-12)";
  try {
    if (!o.infill.empty() && range) model::parse_range(o.bars_text, "--bars");
    if (!o.infill.empty() && !o.beats_text.empty()) model::parse_range(o.beats_text, "--beats");
  } catch (const std::invalid_argument& e) {
    problem = e.what();
  }
  if (!o.infill.empty() && o.infill_sees == "before" && o.infill_options.candidates > 1)
    problem = "--infill-candidates scores the music after the gap, which --infill-sees before does not read";
  if (!o.infill.empty() && o.infill_sees == "before" && o.infill_range == "around")
    problem = "--infill-range around reads the music after the gap, which --infill-sees before does not read";
  if (!o.infill.empty() && !o.pitch_range.empty() && o.infill_range != "off")
    problem = "--pitch-range and --infill-range both choose the new notes' range: give one";
  if (!o.infill.empty() && o.infill_sees == "before" && o.infill_density == "around")
    problem = "--infill-density around reads the music after the gap, which --infill-sees before does not read";
  if (!o.infill.empty() && o.infill_sees == "before" && o.classes_given && o.infill_classes == "around")
    problem = "--infill-pitch-classes around reads the music after the gap, which --infill-sees before does not read";
  if (!o.infill.empty() && o.infill_sees == "before" && o.end_rest_given && o.infill_end_rest == "around")
    problem = "--infill-end-rest around reads the music after the gap, which --infill-sees before does not read";
  if (!o.infill.empty() && o.infill_sees == "before" && o.grid_given && o.infill_grid == "around")
    problem = "--infill-grid around reads the music after the gap, which --infill-sees before does not read";
  if (!o.infill.empty() && !o.controls.key.empty() && o.classes_given && o.infill_classes != "off")
    problem = "--key and --infill-pitch-classes both choose the new notes' pitch classes: give one";
  if (!o.infill.empty() && o.infill_sees == "before" && o.lead_in_given && o.infill_options.lead_in_beats > 0)
    problem = "--infill-lead-in reads the music after the gap, which --infill-sees before does not read";
  if (!o.infill.empty() && !o.pitch_range.empty() && o.lead_in_given && o.infill_options.lead_in_beats > 0)
    problem = "--pitch-range and --infill-lead-in both choose the new notes' range: give one";
  if (!o.infill.empty() && !o.controls.density.empty() && o.infill_density != "off")
    problem = "--density and --infill-density both choose the new notes' density: give one";
  if (!problem.empty()) {
    std::cerr << "composer: " << problem << "\n";
    return tools::kUsageError;
  }
  o.infill_options.rest_to_end = o.infill_overshoot == "rest";
  using Range = model::InfillOptions::Range;
  const auto side = [](const std::string& name) {
    return name == "around" ? Range::Around : name == "before" ? Range::Before : Range::Off;
  };
  o.infill_options.range = side(o.infill_range);
  o.infill_options.density = side(o.infill_density);
  // A guidance by the bars beside the gap, not asked: those the network reads (before the gap alone for
  // a continuation), none where an ask chooses the same (`replaced`).
  const auto by_default = [&](bool given, const std::string& name, bool replaced) {
    return given ? side(name) : replaced ? Range::Off : o.infill_sees == "both" ? Range::Around : Range::Before;
  };
  // The key chooses the pitch classes. A density asked stands over the rest before the gap's end (with
  // both, fewer gaps came out in the asked third: bench/results/quality.md, session 14) and over the
  // piece's positions in the beat (a denser gap may strike where the piece does not).
  o.infill_options.classes = by_default(o.classes_given, o.infill_classes, !o.controls.key.empty());
  o.infill_options.end_rest = by_default(o.end_rest_given, o.infill_end_rest, !o.controls.density.empty());
  o.infill_options.grid = by_default(o.grid_given, o.infill_grid, !o.controls.density.empty());
  if (!o.bars_text.empty() && !range) o.bars = std::stod(o.bars_text);
  return -1;
}

// How --infill writes its middle (model::InfillOptions; docs/infill.md).
void add_infill_options(CLI::App& app, Options& o) {
  app.add_option("--infill-sees", o.infill_sees,
                 "With --infill: what the network reads, both sides of the gap, or only the music before it (a "
                 "plain continuation held to the gap's end: the baseline of bench/infill_quality.py)")
      ->check(CLI::IsMember({"both", "before"}))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-overshoot", o.infill_overshoot,
                 "With --infill: what becomes of the probability of a shift past the gap's end: rest (the shift "
                 "to the end takes it) or forbid (spread over notes and shorter shifts)")
      ->check(CLI::IsMember({"rest", "forbid"}))
      ->needs("--infill")
      ->capture_default_str();
}

// How --infill guides its middle toward the bars beside the gap (docs/infill.md, "Choosing the middle").
void add_infill_guidance_options(CLI::App& app, Options& o) {
  app.add_option("--infill-range", o.infill_range,
                 "With --infill: keep the new notes to the pitch range of the bars beside the gap (as long as the "
                 "gap on each side): off, around (both sides) or before (the bars before it alone)")
      ->check(CLI::IsMember({"off", "around", "before"}))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-range-strength", o.infill_options.range_strength,
                 "With --infill-range: a logit bias on the notes outside the range")
      ->check(tools::number_in(0, 100))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-density", o.infill_density,
                 "With --infill: steer the new notes per beat toward those of the bars beside the gap (as long as "
                 "the gap on each side): off, around (both sides) or before (the bars before it alone)")
      ->check(CLI::IsMember({"off", "around", "before"}))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-density-strength", o.infill_options.density_strength,
                 "With --infill-density: how hard, a logit bias as --density-strength's")
      ->check(tools::number_in(0, 1000))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-pitch-classes", o.infill_classes,
                 "With --infill: keep the new notes to the pitch classes of the bars beside the gap (as long as "
                 "the gap on each side; those they seldom or never play held back): off, around (both sides) or "
                 "before (the bars before it alone); by default around, before with --infill-sees before, off "
                 "with --key")
      ->check(CLI::IsMember({"off", "around", "before"}))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-pitch-classes-strength", o.infill_options.classes_strength,
                 "With --infill-pitch-classes: a logit bias on a pitch class those bars never play (less on one "
                 "they seldom play)")
      ->check(tools::number_in(0, 100))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-lead-in", o.infill_options.lead_in_beats,
                 "With --infill (both sides): keep the new notes of the gap's last BEATS beats to the pitch range "
                 "of the first beat after the gap (an octave at least), so that they lead into it (0: off)")
      ->check(tools::number_in(0, 64))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-lead-in-strength", o.infill_options.lead_in_strength,
                 "With --infill-lead-in: a logit bias on the notes outside that range")
      ->check(tools::number_in(0, 100))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-prefix-tokens", o.infill_prefix_tokens,
                 "With --infill (both sides): read this many of the last tokens before the gap (0: a third of "
                 "the checkpoint's seq_len, as many as of the suffix)")
      ->check(tools::whole_in(0, 100000))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-candidates", o.infill_options.candidates,
                 "With --infill (both sides): compose this many middles and keep the one after which the "
                 "network, reading on plainly, finds the music after the gap likeliest")
      ->check(tools::whole_in(1, 64))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-scored-tokens", o.infill_options.scored_tokens,
                 "With --infill-candidates: how many of the tokens after the gap are scored")
      ->check(tools::whole_in(1, 10000))
      ->needs("--infill")
      ->capture_default_str();
}

// How --infill guides the timing of its middle by the piece's own (docs/infill.md, "Resting before the
// bars after", "Keeping to the piece's grid").
void add_infill_timing_options(CLI::App& app, Options& o) {
  app.add_option("--infill-end-rest", o.infill_end_rest,
                 "With --infill of bars: steer how long the new notes rest before the gap's end toward how long "
                 "the piece rests before its bar lines: off, around (all its bars outside the gap, as intervals "
                 "to the first note after the gap) or before (its bars before the gap alone); by default around, "
                 "before with --infill-sees before, off with --density")
      ->check(CLI::IsMember({"off", "around", "before"}))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-end-rest-strength", o.infill_options.end_rest_strength,
                 "With --infill-end-rest: 0 leaves the network's own choice, 1 takes the piece's")
      ->check(tools::number_in(0, 1))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-grid", o.infill_grid,
                 "With --infill: strike the new notes only on positions in the beat where the piece strikes "
                 "(at least 1% of its notes): off, around (all its music outside the gap) or before (its music "
                 "before the gap alone); by default around, before with --infill-sees before, off with --density")
      ->check(CLI::IsMember({"off", "around", "before"}))
      ->needs("--infill")
      ->capture_default_str();
  app.add_option("--infill-grid-strength", o.infill_options.grid_strength,
                 "With --infill-grid: the share of a time step's probability taken where it lands off those "
                 "positions (0: none, 1: all but a millionth)")
      ->check(tools::number_in(0, 1))
      ->needs("--infill")
      ->capture_default_str();
}

// --key, --density and --style: control tokens for a checkpoint trained with them (model/controls.h).
void add_control_options(CLI::App& app, Options& o) {
  auto* key = app.add_option("--key", o.controls.key,
                             "Compose in this key, e.g. \"D minor\", \"Bb major\" (a checkpoint trained with "
                             "--controls key; default: drawn from the corpus); with --infill, the new bars' key");
  auto* density = app.add_option("--density", o.controls.density,
                                 "Notes per beat in the corpus's lower, middle or upper third: low, mid or high "
                                 "(--controls density; default: drawn from the corpus); with --infill, the new bars'");
  auto* style = app.add_option("--style", o.controls.style,
                               "The style of a top-level folder of the training data (--style-from-folders; "
                               "default: drawn from the corpus); its pieces keep to the style's pitch range and "
                               "length (the checkpoint's profile) unless --pitch-range, --seconds, --bars or "
                               "--length say otherwise");
  key->excludes("--primer")->excludes("--primer-tokens");  // a primer brings its own key
  for (CLI::Option* control : {key, density, style}) control->excludes("--listen");
  app.add_option("--key-strength", o.controls.key_strength,
                 "How hard sampling keeps to --key's scale and its tonic triad: a logit bias (0: the control "
                 "tokens alone; docs/controls.md)")
      ->capture_default_str();
  app.add_option("--density-strength", o.controls.density_strength,
                 "How hard sampling steers the notes per beat toward --density's third: a logit bias (0: the "
                 "control tokens alone)")
      ->capture_default_str();
  app.add_option("--pitch-range", o.pitch_range,
                 "Keep the pitched notes within LO-HI (MIDI note numbers, e.g. 36-72: a style's range; "
                 "docs/controls.md); with --infill, the new ones")
      ->excludes("--listen");
  app.add_option("--range-strength", o.controls.range_strength,
                 "How hard sampling keeps to --pitch-range: a logit bias on the notes outside it (0: none)")
      ->capture_default_str();
  app.add_option("--style-key-strength", o.controls.style_key_strength,
                 "With --style and no --key: how hard sampling keeps to the key drawn with the style, as "
                 "--key-strength (0: its token alone)")
      ->capture_default_str();
}

// --listen and its options (docs/live.md): call and response with a player at a MIDI keyboard.
void add_listen_options(CLI::App& app, Options& o) {
  auto* listen = app.add_option("--listen", o.live.input_port,
                                "Listen to a MIDI input port and answer the player (call and response; output on "
                                "--play's port): the port's index or (part of) its name from `miditool ports`; "
                                "alone, the first input")
                     ->expected(0, 1)
                     ->excludes("--evaluate");
  app.add_option("--mode", o.listen_mode,
                 "With --listen: answer (up to --answer-bars after each silence), continue (until the player plays "
                 "again) or accompany (a part under the player's lowest note, from the first silence on)")
      ->check(CLI::IsMember({"answer", "continue", "accompany"}))
      ->needs(listen)
      ->capture_default_str();
  app.add_option("--answer-after", o.live.session.answer_after, "With --listen: beats of silence before answering")
      ->check(tools::number_in(0.25, 64))
      ->needs(listen)
      ->capture_default_str();
  app.add_option("--answer-bars", o.live.session.answer_bars, "With --listen: bars of 4/4 in an answer")
      ->check(tools::number_in(0.25, 1000))
      ->needs(listen)
      ->capture_default_str();
  app.add_flag("--follow-tempo", o.live.session.follow_tempo,
               "With --listen: follow the tempo the player's onsets imply (from --tempo at first)")
      ->needs(listen);
}

// How tokens are drawn: --length and the sampling rules.
void add_sampling_options(CLI::App& app, Options& o) {
  app.add_option("--length", o.length, "Tokens to generate")->check(tools::whole_in(1, 1000000))->capture_default_str();
  app.add_option("--temperature", o.sampling.temperature, "Sampling temperature")
      ->check(tools::positive("; for the likeliest token every time use --greedy"))
      ->capture_default_str();
  app.add_option("--top-k", o.sampling.top_k, "Sample among the K likeliest tokens (0: all)")
      ->check(tools::whole_in(0, 1e9))
      ->capture_default_str();
  app.add_option("--top-p", o.sampling.top_p, "Nucleus sampling: the smallest set with this probability (1: all)")
      ->check(tools::number_in(0, 1, true))
      ->capture_default_str();
  app.add_flag("--greedy", o.sampling.greedy, "Always take the likeliest token (the seed's argmax)");
  app.add_option("--grid-strength", o.grid_strength,
                 "Keep the new notes to the positions in the beat where the piece (its primer too) has struck "
                 "so far and to its beat's sixteenths and triplets, from its 16th note on: the share of a time "
                 "step's probability taken where it lands elsewhere (0: none, 1: all but a millionth); off with "
                 "--key or --density unless given")
      ->check(tools::number_in(0, 1))
      ->capture_default_str();
}

// Where the piece goes: files, the comparison, --evaluate instead, and --play (returned: its count
// says whether it was given, with or without a port).
CLI::Option* add_output_options(CLI::App& app, Options& o) {
  app.add_option("--out", o.out, "Output MIDI file")->capture_default_str();
  app.add_option("--tokens-out", o.tokens_out, "Also write the tokens (primer, then generated) to this file");
  app.add_option("--evaluate", o.evaluate,
                 "Instead of composing: loss, perplexity and accuracy on these MIDI files/folders");
  app.add_option("--against", o.compare_with,
                 "After composing, compare the pieces with this corpus: MIDI files/folders (MGEval's overlapped area "
                 "per feature and the mean OA, as `miditool compare PIECES --against CORPUS`; use with --num-outputs)")
      ->check(tools::existing_path());
  app.add_option("--wav", o.wav_out, "Also render the piece to this WAV file with FluidSynth");
  app.add_option("--soundfont", o.soundfont,
                 "General MIDI soundfont for --wav (default: FluidR3_GM.sf2, else TimGM6mb.sf2)")
      ->check(tools::existing_file());
  app.add_option("--svg", o.svg_out, "Also draw the piece as an SVG piano roll");
  return app
      .add_option("--play", o.play_port,
                  "Play the notes on a MIDI output port while they are generated: the port's index or "
                  "(part of) its name from `miditool ports`; alone, the first port")
      ->expected(0, 1);
}

// Returns -1 to go on, or the exit code (0 after --help, 2 after a bad command line).
int parse_options(int argc, char** argv, Options& o) {
  CLI::App app{"Compose music from a trained checkpoint (or --evaluate it on MIDI files).", "composer"};
  app.add_option("--checkpoint", o.checkpoint,
                 "A .safetensors checkpoint from trainer (e.g. out/train/best.safetensors)")
      ->required();
  add_sampling_options(app, o);
  auto* seed_opt = app.add_option("--seed", o.seed,
                                  "Random seed (default: a new one each run; the summary line prints it, and --seed "
                                  "with it composes the same piece again)");
  auto* pf =
      app.add_option("--primer", o.primer_file, "Start from this MIDI file's tokens")->check(tools::existing_file());
  app.add_option("--primer-tokens", o.primer_tokens,
                 "Start from these tokens (space separated, in the checkpoint's scheme: `miditool tokens` writes them; "
                 "its whole line will do)")
      ->excludes(pf);
  app.add_flag("--no-primer-in-output", o.no_primer_in_output,
               "Leave the --primer / --primer-tokens notes out of the MIDI file (default: the piece starts with them)");
  app.add_option("--instruments", o.instruments,
                 "The ensemble, e.g. \"piano, acoustic bass, drums\" (General MIDI names or program numbers; "
                 "default: a training piece's, drawn at random)")
      ->excludes(pf)
      ->excludes("--primer-tokens");
  auto* bars = app.add_option("--bars", o.bars_text,
                              "Compose this many bars of 4/4 instead of --length tokens; with --infill, the bars "
                              "to compose anew, FIRST-LAST (from 1, both included)")
                   ->check(bars_or_range())
                   ->excludes("--length");
  app.add_option(
         "--infill", o.infill,
         "Compose the --bars (or --beats) of this MIDI file anew, keeping the rest of the file as it was: "
         "its other notes, tracks, names and controllers (a checkpoint trained with --infill-rate; docs/infill.md)")
      ->check(tools::existing_file())
      ->excludes(pf)
      ->excludes("--primer-tokens")
      ->excludes("--instruments");
  app.add_option("--beats", o.beats_text, "With --infill: the beats (quarter notes) to compose anew, FIRST-LAST")
      ->excludes(bars);
  app.add_option("--seconds", o.seconds, "Compose this many seconds (at --tempo) instead of --length tokens")
      ->check(tools::number_in(0.5, 1e6))
      ->excludes("--length")
      ->excludes(bars);
  app.add_option("--num-outputs", o.num_outputs, "Pieces to write (FILE_1.mid, FILE_2.mid, ... when more than 1)")
      ->check(tools::whole_in(1, 1000))
      ->capture_default_str();
  app.add_flag("--one-part", o.one_part, "Write the piano as one track (default: right and left hand in two)");
  app.add_option("--tempo", o.tempo, "Tempo of the output in beats per minute (default: 120)")
      ->check(tools::number_in(1.0, 1000.0));
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--precision", o.precision,
                 "Matrix products in fp32; tf32 on the GPU's tensor cores; or bf16 with fp32 accumulation (CPUs)")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}))
      ->capture_default_str();
  CLI::Option* play_opt = add_output_options(app, o);
  add_listen_options(app, o);
  add_control_options(app, o);
  add_infill_options(app, o);
  add_infill_guidance_options(app, o);
  add_infill_timing_options(app, o);
  app.get_option("--listen")->excludes("--infill");  // a live answer, or a file's gap filled
  if (const int code = tools::parse_command_line(app, argc, argv, {{"--compare-with", "--against"}}); code >= 0)
    return code;
  o.play = play_opt->count() > 0;
  o.length_given = app.get_option("--length")->count() > 0;
  o.lead_in_given = app.get_option("--infill-lead-in")->count() > 0;
  o.classes_given = app.get_option("--infill-pitch-classes")->count() > 0;
  o.end_rest_given = app.get_option("--infill-end-rest")->count() > 0;
  o.grid_given = app.get_option("--infill-grid")->count() > 0;
  o.grid_strength_given = app.get_option("--grid-strength")->count() > 0;
  if (const int code = check_infill_options(o); code >= 0) return code;
  o.listen = app.get_option("--listen")->count() > 0;
  o.live.output_port = o.play_port;
  o.live.session.tempo = o.tempo > 0 ? o.tempo : 120;
  o.live.session.sampling = o.sampling;
  o.live.session.mode = o.listen_mode == "continue"    ? live::Mode::Continue
                        : o.listen_mode == "accompany" ? live::Mode::Accompany
                                                       : live::Mode::Answer;
  if (seed_opt->count() == 0) o.seed = std::random_device{}() % 1000000;  // short enough to type again
  o.live.session.seed = o.seed, o.live.session.grid_strength = o.grid_strength;
  return -1;
}

// What this build or machine cannot do is said before any input is read: returns -1 to go on, or
// the exit code.
int refuse_missing_features(const Options& o) {
  if (o.listen && tools::listen_missing()) {
    std::cerr << "composer: " << tools::listen_missing() << "\n";
    return tools::kUsageError;
  }
  if (o.play && LivePlayer::missing()) {
    std::cerr << "composer: " << LivePlayer::missing() << "\n";
    return tools::kUsageError;
  }
#ifndef LEGATO_HAVE_FLUIDSYNTH
  if (!o.wav_out.empty()) {
    std::cerr << "composer: this build has no audio rendering (install libfluidsynth-dev and rebuild)\n";
    return tools::kUsageError;
  }
#endif
  if (const std::string problem = tools::device_problem(o.device); !problem.empty()) {
    std::cerr << "composer: " << problem << "\n";
    return tools::kUsageError;
  }
  if (const std::string problem = tools::precision_flag_problem(o.precision, tools::parse_device(o.device));
      !problem.empty()) {
    std::cerr << "composer: " << problem << "\n";
    return tools::kUsageError;
  }
  return -1;
}

// The checkpoint's model on --device.
model::LoadedCheckpoint load_model(const Options& o) {
  if (const std::string problem = model::checkpoint_problem(o.checkpoint); !problem.empty())
    throw model::InputError("--checkpoint " + o.checkpoint + ": " + problem);
  model::LoadedCheckpoint ck;
  try {
    ck = model::load_checkpoint(o.checkpoint);
  } catch (const std::runtime_error& e) {  // missing, truncated or not ours: the user's input
    throw model::InputError(e.what());
  }
  ck.net->to(tools::parse_device(o.device));
  ck.net->set_precision(tools::precision_of(o.precision));  // checked with the other flags
  return ck;
}

// --evaluate: loss, perplexity and accuracy of the checkpoint on the given MIDI files.
int evaluate_model(const model::LoadedCheckpoint& ck, const Options& o) {
  const model::CheckpointMeta& meta = ck.meta;
  std::vector<std::filesystem::path> paths(o.evaluate.begin(), o.evaluate.end());
  for (const auto& p : paths)
    if (!std::filesystem::exists(p)) throw model::InputError("--evaluate " + p.string() + ": no such file or folder");
  std::ostringstream log;  // what was read: shown unless nothing was, which the error line then says
  const auto pieces = model::encode_files(paths, meta.scheme, meta.vocab, log, !meta.keys.empty());
  if (pieces.empty()) {
    std::string read = log.str();
    std::replace(read.begin(), read.end(), '\n', ' ');
    throw model::InputError("--evaluate: no MIDI file could be read (" +
                            read.substr(0, read.find_last_not_of(' ') + 1) + ")");
  }
  std::cerr << log.str();
  std::cout << tools::runs_on(tools::parse_device(o.device), tools::precision_of(o.precision))
            << std::endl;  // the input is known good now
  const model::EvalResult r = model::evaluate(*ck.net, pieces, meta.seq_len, 64, 1 << 30);
  if (r.predictions == 0)
    throw model::InputError("--evaluate: no piece is longer than one window of " + std::to_string(meta.seq_len + 1) +
                            " tokens; give longer pieces");
  std::printf("evaluated %lld predictions: loss %.4f, perplexity %.2f, accuracy %.1f%%\n",
              static_cast<long long>(r.predictions), r.loss, r.perplexity, 100 * r.accuracy);
  return 0;
}

// What the music starts from (model::Primer): --primer-tokens, --primer's music, or without either
// the pipeline's default (a checkpoint window or BOS).
model::Primer primer_of(const Options& o, const model::CheckpointMeta& meta) {
  model::Primer primer;
  try {
    if (!o.primer_tokens.empty()) primer = model::tokens_primer_of_line(o.primer_tokens, meta);
  } catch (const std::invalid_argument& e) {
    throw model::InputError(std::string("--primer-tokens: ") + e.what());
  }
  if (o.primer_tokens.empty() && !o.primer_file.empty()) {
    primer = model::music_primer_of_file(o.primer_file, meta, std::cerr);
    if (primer.tokens.empty())
      throw model::InputError("--primer " + o.primer_file + ": no notes read (is it a MIDI file with notes?)");
  }
  primer.in_output = !o.no_primer_in_output;
  return primer;
}

// The primer, then the generated tokens, on one line.
void write_tokens(const std::filesystem::path& path, const Piece& piece, const std::vector<std::string>& vocab) {
  std::ofstream tf(path);
  tf << model::tokens_line({piece.primer, piece.generated}, vocab) << "\n";
  if (!tf) throw std::runtime_error("cannot write " + path.string());
}

// Piece k of the run as a MIDI file, and its tokens, SVG and WAV where asked; returns the MIDI file,
// and in `rendered` a line for each SVG and WAV (as `miditool roll` and `render` say them).
// mid_bytes: the .mid's own bytes when the score is not to be written anew (render::PieceFiles).
std::filesystem::path write_piece(const Options& o, int k, const Piece& piece, const midi::Score& score,
                                  const std::vector<std::string>& vocab, std::vector<std::string>& rendered,
                                  std::vector<uint8_t> mid_bytes = {}) {
  render::PieceFiles files;
  files.mid_bytes = std::move(mid_bytes);
  files.mid = numbered(o.out, k, o.num_outputs);
  files.title = files.mid.filename().string();
  if (!o.svg_out.empty()) files.svg = numbered(o.svg_out, k, o.num_outputs);
  if (!o.wav_out.empty()) files.wav = numbered(o.wav_out, k, o.num_outputs);
  files.soundfont = o.soundfont;
  rendered = render::write_piece_files(score, files);
  if (!o.tokens_out.empty()) write_tokens(numbered(o.tokens_out, k, o.num_outputs), piece, vocab);
  return files.mid;
}

void print_summary(const std::filesystem::path& path, const Piece& piece, const midi::Score& score, double seconds,
                   uint64_t seed) {
  const std::set<int32_t> distinct(piece.generated.begin(), piece.generated.end());
  std::printf("%s: %zu tokens, %zu notes, %zu distinct tokens, longest run %lld, %.3f s, seed %llu\n", path.c_str(),
              piece.generated.size(), score.notes.size(), distinct.size(),
              static_cast<long long>(model::longest_run(piece.generated)), seconds,
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
}

// --against: the corpus's features, read before composing so that a bad path costs no time.
std::vector<eval::NamedFeatures> corpus_features(const std::vector<std::string>& corpus_paths) {
  std::vector<std::filesystem::path> paths(corpus_paths.begin(), corpus_paths.end());
  for (const auto& p : paths)
    if (!std::filesystem::exists(p)) throw model::InputError("no such file or folder: " + p.string());
  std::vector<eval::NamedFeatures> corpus = eval::features_of_files(paths, std::cerr);
  if (corpus.size() < 2)
    throw model::InputError("--against: " + std::to_string(corpus.size()) +
                            " readable piece(s); the comparison needs at least 2");
  return corpus;
}

// --instruments as the ensemble's header tokens (empty without it); refused for a scheme without
// ensembles and for an instrument the checkpoint never learned.
std::vector<int32_t> chosen_ensemble(const Options& o, const model::CheckpointMeta& meta) {
  if (o.instruments.empty()) return {};
  if (meta.scheme != "event")
    throw model::InputError("--instruments needs a checkpoint of the event scheme with ensembles (this one's is " +
                            meta.scheme + ")");
  try {
    return model::ensemble_tokens(meta, render::parse_instruments(o.instruments));
  } catch (const std::invalid_argument& e) {
    throw model::InputError(e.what());
  }
}

// --length tokens, or --bars / --seconds of music (event scheme only: the seed scheme has no time).
// Without any of them, a --style's pieces last as long as its training pieces (its profile).
model::PieceLength piece_length(const Options& o, const model::CheckpointMeta& meta) {
  const bool none_given = o.bars <= 0 && o.seconds <= 0 && !o.length_given;
  if (const auto seconds = model::style_seconds(meta, o.controls); none_given && seconds)
    return {1000000, model::steps_of_seconds(*seconds, o.tempo)};
  if (o.bars <= 0 && o.seconds <= 0) return {o.length, 0};
  if (meta.scheme == "seed") throw model::InputError("--bars and --seconds need a checkpoint of the event scheme");
  return {1000000, o.bars > 0 ? model::steps_of_bars(o.bars) : model::steps_of_seconds(o.seconds, o.tempo)};
}

// What --style took from the checkpoint's profile of the style (model::StyleProfile), said once:
// "style openmsx's profile: pitch range 34-73 (at --range-strength 8), 118.2 s".
void print_style_defaults(const Options& o, const model::CheckpointMeta& meta) {
  const model::StyleProfile* profile =
      o.controls.style.empty() ? nullptr : model::style_profile(meta, o.controls.style);
  if (!profile) return;
  char text[160] = "";
  if (o.pitch_range.empty() && profile->has_range())
    std::snprintf(text, sizeof text, "pitch range %d-%d (at --range-strength %g)", profile->pitch_lo, profile->pitch_hi,
                  o.controls.range_strength);
  const auto seconds = model::style_seconds(meta, o.controls);
  if (seconds && o.bars <= 0 && o.seconds <= 0 && !o.length_given)
    std::snprintf(text + std::strlen(text), sizeof text - std::strlen(text), "%s%.1f s", *text ? ", " : "", *seconds);
  if (*text) std::cout << "style " << o.controls.style << "'s profile: " << text << std::endl;
}

// The command line as the pipeline's request; model::InputError for what the checkpoint cannot do.
model::CompositionRequest request_of(const Options& o, const model::CheckpointMeta& meta) {
  model::CompositionRequest request;
  request.primer = primer_of(o, meta);
  if (const std::string problem = model::composition_problem(meta, request); !problem.empty())
    throw model::InputError(request.primer.source == model::PrimerSource::Tokens ? "--primer-tokens: " + problem
                            : request.primer.source == model::PrimerSource::Music
                                ? "--primer " + o.primer_file + ": " + problem
                                : problem + ": give --primer or --primer-tokens");
  request.ensemble = chosen_ensemble(o, meta);
  request.length = piece_length(o, meta);
  request.controls = o.controls;
  try {
    if (!o.pitch_range.empty()) request.controls.pitch_range = model::parse_pitch_range(o.pitch_range, "--pitch-range");
    model::check_controls(meta, request.controls);
  } catch (const std::invalid_argument& e) {
    throw model::InputError(e.what());
  }
  request.with_controls = true;
  request.grid_strength = o.grid_strength_given ? o.grid_strength : model::grid_strength_for(request.controls);
  request.count = o.num_outputs;
  request.seed = o.seed;
  request.sampling = o.sampling;
  request.tempo = o.tempo;
  request.two_hands = !o.one_part;
  return request;
}

// A composed piece written, and said on stdout; its features kept for --against.
void write_composed(const Options& o, const model::CheckpointMeta& meta, model::ComposedPiece& composed,
                    std::vector<eval::NamedFeatures>& measured) {
  render::name_parts(composed.score);  // one named track per instrument
  const Piece piece{composed.primer, composed.generated};
  std::vector<std::string> rendered;
  const std::filesystem::path path = write_piece(o, composed.index, piece, composed.score, meta.vocab, rendered);
  print_summary(path, piece, composed.score, composed.seconds, o.seed);
  if (meta.scheme == "event")
    std::cout << "  ensemble: " << render::ensemble_names(model::ensemble_of(meta, composed.all())) << std::endl;
  if (!composed.controls.empty())
    std::cout << "  controls: " << model::describe_controls(meta, composed.controls, composed.shift) << std::endl;
  for (const std::string& line : rendered) std::printf("%s\n", line.c_str());
  if (!o.compare_with.empty()) measured.push_back({path.string(), eval::features_of(composed.score)});
}

// --num-outputs pieces from one primer (model::compose_pieces), each written (and played with
// --play) as it is done. Returns the exit code: 130 when a signal stopped the playback.
int compose_to_files(const model::LoadedCheckpoint& ck, const Options& o) {
  const model::CheckpointMeta& meta = ck.meta;
  const model::CompositionRequest request = request_of(o, meta);
  int shift = 0;  // semitones from the network's key to the piece's (a network trained in C's)
  LivePlayer live([&](const std::vector<int32_t>& generated) {
    // Played as one part: the hands sound the same, and notes never change channel while they sound.
    return model::score_of(meta.scheme, meta.vocab, generated, o.tempo, shift, false);
  });
  const std::vector<eval::NamedFeatures> corpus =
      o.compare_with.empty() ? std::vector<eval::NamedFeatures>{} : corpus_features(o.compare_with);
  std::cout << tools::runs_on(tools::parse_device(o.device), tools::precision_of(o.precision))
            << std::endl;  // the input is known good now
  print_style_defaults(o, meta);
  // On the GPU: one launch per piece when the network fits on chip, else stepped (and why).
  if (ck.net->device() == legato::Device::CUDA)
    std::cout << "generation: " << model::generation_of(*ck.net, meta) << std::endl;
  if (o.play)
    if (const int code = live.open(o.play_port); code >= 0) return code;
  std::vector<eval::NamedFeatures> measured;
  model::CompositionHooks hooks;
  hooks.start = [&](int, int piece_shift) {
    shift = piece_shift;
    return live.start_piece();
  };
  hooks.done = [&](model::ComposedPiece& piece) {
    live.end_generation(piece.generated);
    write_composed(o, meta, piece, measured);
    live.finish_piece();
    return !live.stopped();
  };
  if (!live.stopped()) model::compose_pieces(*ck.net, meta, request, hooks);
  if (live.stopped()) return 130;
  if (!corpus.empty()) std::fputs(eval::comparison_table(eval::compare_sets(measured, corpus)).c_str(), stdout);
  return 0;
}

// --infill: the file with its --bars or --beats composed anew, --num-outputs times.
int infill_pieces(const model::LoadedCheckpoint& ck, const Options& o) {
  const model::CheckpointMeta& meta = ck.meta;
  midi::Score original;
  std::vector<uint8_t> bytes;
  try {
    bytes = midi::midi_file_bytes(o.infill);
    original = midi::read_midi(bytes, o.infill);  // the event scheme's note pairing (pretty_midi's), as training's
  } catch (const std::exception& e) {
    throw model::InputError("--infill " + o.infill + ": " + e.what());
  }
  model::InfillContext context;
  model::InfillOptions infill_options = o.infill_options;
  try {
    const bool bars = !o.bars_text.empty();
    const auto [first, last] = model::parse_range(bars ? o.bars_text : o.beats_text, bars ? "--bars" : "--beats");
    context = model::infill_context(
        meta, original, bars ? model::gap_of_bars(original, first, last) : model::gap_of_beats(first, last),
        o.infill_sees == "before" ? model::InfillSees::Before : model::InfillSees::Both, o.infill_prefix_tokens);
    model::ControlRequest asked = o.controls;
    if (!o.pitch_range.empty()) asked.pitch_range = model::parse_pitch_range(o.pitch_range, "--pitch-range");
    infill_options.asked = model::infill_guidance(meta, asked);
  } catch (const std::invalid_argument& e) {
    throw model::InputError(e.what());
  }
  const std::vector<eval::NamedFeatures> corpus =
      o.compare_with.empty() ? std::vector<eval::NamedFeatures>{} : corpus_features(o.compare_with);
  std::cout << tools::runs_on(tools::parse_device(o.device), tools::precision_of(o.precision))
            << std::endl;  // the input is known good now
  // The output is the file itself with the gap's notes replaced (midi::with_notes), unless the
  // reader had to repair it: then it is written anew from what was read.
  std::string why = "the reader repaired it";
  const bool edited = original.warnings.empty() && midi::with_notes(bytes, midi::NoteEdit{}, why);
  if (!edited)
    std::cout << "  " << o.infill << " is written anew, one track per instrument, without its controllers, names "
              << "and other events (" << why << ")" << std::endl;
  std::mt19937_64 rng(o.seed);
  std::vector<eval::NamedFeatures> measured;
  for (int k = 0; k < o.num_outputs; ++k) {
    const auto started = std::chrono::steady_clock::now();
    const Piece piece{context.prompt,
                      model::compose_best_middle(*ck.net, meta, context, o.sampling, rng, infill_options)};
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    midi::Score score;
    std::vector<uint8_t> file;
    if (edited) {
      const midi::NoteEdit edit{
          [&](int, int, int, int64_t tick) { return model::starts_inside(tick, original, context.gap); },
          model::middle_notes(original, meta, context, piece.generated)};
      file = *midi::with_notes(bytes, edit, why);
      score = midi::read_midi(file, o.out);  // as the file reads back, for the summary, the roll and the sound
    } else {
      score = model::with_middle(original, meta, context, piece.generated);
    }
    std::vector<std::string> rendered;
    const std::filesystem::path path = write_piece(o, k, piece, score, meta.vocab, rendered, std::move(file));
    print_summary(path, piece, score, seconds, o.seed);
    std::printf("  infilled grid steps %lld-%lld: %zu notes replaced by %zu\n",
                static_cast<long long>(context.gap.from), static_cast<long long>(context.gap.to), context.replaced,
                score.notes.size() + context.replaced - original.notes.size());
    for (const std::string& line : rendered) std::printf("%s\n", line.c_str());
    if (!o.compare_with.empty()) measured.push_back({path.string(), eval::features_of(score)});
  }
  if (!corpus.empty()) std::fputs(eval::comparison_table(eval::compare_sets(measured, corpus)).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  legato::tools::shorten_openmp_waits(argv);  // before any OpenMP work (tools/openmp_waits.h)
  Options o;
  if (const int code = parse_options(argc, argv, o); code >= 0) return code;
  if (const int code = refuse_missing_features(o); code >= 0) return code;
  if (o.evaluate.empty()) {  // every output can be written, before the checkpoint is read
    tools::OutputCheck check{"composer"};
    check.file("--out", o.out, "composed.mid");
    check.file("--tokens-out", o.tokens_out, "tokens.txt");
    check.file("--svg", o.svg_out, "roll.svg");
    check.file("--wav", o.wav_out, "piece.wav");
    if (check.code >= 0) return check.code;
  }
  try {
    const model::LoadedCheckpoint ck = load_model(o);
    if (o.listen) return tools::listen_and_answer(ck, o.live);
    if (!o.infill.empty()) return infill_pieces(ck, o);
    return o.evaluate.empty() ? compose_to_files(ck, o) : evaluate_model(ck, o);
  } catch (const model::InputError& e) {
    std::cerr << "composer: " << e.what() << "\n";
    return tools::kUsageError;
#ifdef LEGATO_HAVE_FLUIDSYNTH
  } catch (const render::AudioError& e) {  // no soundfont: the user's setup
    std::cerr << "composer: " << e.what() << "\n";
    return tools::kUsageError;
#endif
  } catch (const std::exception& e) {
    std::cerr << "composer: " << tools::describe(e) << "\n";
    return 1;
  }
}
