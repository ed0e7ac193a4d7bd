#pragma once
// Infilling (composer --infill FILE --bars A-B, docs/infill.md): the notes of a stretch of a file
// replaced by new ones that a network trained with --infill-rate writes after reading what follows
// the stretch and what precedes it (midi/infill.h), while the rest of the file stays note for note.
//
// Edges, as stated in docs/infill.md: a note belongs to the gap when its onset, on the event
// scheme's grid, falls inside it. A note that starts before the gap and sounds into it is kept as
// it is (it is the music before the gap, and the network hears it in the prefix). A new note that
// would sound past the gap's end is cut there, so that nothing after the gap changes.
#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "midi/score.h"
#include "model/bar_rests.h"
#include "model/checkpoint.h"
#include "model/control_guide.h"
#include "model/controls.h"
#include "model/generator.h"
#include "model/onset_grid.h"

namespace legato::model {

// A stretch of a piece in grid steps of the event scheme: [from, to).
struct Gap {
  int64_t from = 0, to = 0;
};

// "9-12" as {9, 12}: whole numbers from 1, the first no later than the second; otherwise
// std::invalid_argument with one line that names `flag`.
std::pair<int64_t, int64_t> parse_range(const std::string& text, const std::string& flag);
// Bars first..last of `score` (from 1, both included), by its time signatures (4/4 without one).
Gap gap_of_bars(const midi::Score& score, int64_t first, int64_t last);
// Beats (quarter notes) first..last, from 1, both included.
Gap gap_of_beats(int64_t first, int64_t last);

// What the network reads before it writes the gap: both sides in the infilling layout, or only
// the music before the gap as a plain continuation (the baseline infilling is measured against,
// bench/infill_quality.py), held to the same end.
enum class InfillSees { Both, Before };

// What an infilling starts from.
struct InfillContext {
  Gap gap;
  InfillSees sees = InfillSees::Both;
  int shift = 0;                // semitones the file was moved by into the network's key (0 unless trained in C)
  std::vector<int32_t> prompt;  // SUFFIX suffix PREFIX prefix MIDDLE (Before: the prefix's last seq_len tokens)
  std::vector<int32_t> prefix;  // the whole prefix from BOS, ending at the gap: what the grammar reads
  std::vector<int32_t> suffix;  // Both: what follows the gap, from its end on (its instrument named first)
  size_t replaced = 0;          // the file's notes inside the gap
  // The pitched notes' lowest and highest pitch (in the network's key) of the gap's length before
  // it, and of that before and after it together: what range guidance keeps the middle to.
  std::optional<PitchRange> range_before, range_around;
  // Both: the pitched notes' range (in the network's key) of the first beat of music after the gap,
  // from its first pitched onset at or after the gap's end: what the middle's last beats lead into.
  std::optional<PitchRange> range_after_start;
  // Each pitch class's share of the pitched notes there (before, and before and after together): what
  // pitch-class guidance keeps the middle to; nullopt where those bars have no pitched note.
  std::optional<std::array<double, 12>> classes_before, classes_around;
  // The notes per beat there (every note, drums too, as guidance counts them): what density guidance
  // aims the middle at; 0 where those bars are empty.
  double density_before = 0, density_around = 0;
  // Whether the gap ends on a bar line (a gap of bars does): where end-rest guidance acts.
  bool ends_on_bar_line = false;
  // Counts of the rests before the piece's bar lines (rest_counts), of its bars before the gap, and of
  // all its bars outside the gap; and (Both) what the rest before the gap's end must be for the
  // notes after it to come at the intervals those lines show (rest_counts with the first pitched
  // onset after the gap's end; empty without one within a bar).
  RestCounts rests_before, rests_around, rests_into_after;
  // Per position in the beat, the share of the piece's onsets there (onset_positions): of its music
  // before the gap, and of all of it outside the gap; empty with too few notes to tell.
  std::vector<double> grid_before, grid_around;
  std::vector<int32_t>
      lead_in;  // Before: the token of the instrument in force at the gap (a continuation need not name it)
};

// The file's tokens cut at `gap`: the suffix's first seq_len / 3 tokens and the prefix's last
// seq_len / 3; with `sees` Before, the prefix's last seq_len tokens alone, as composer --primer
// reads a primer. std::invalid_argument when the checkpoint was not trained for infilling, or the
// gap starts after the file's last note.
// `prefix_tokens` > 0 reads that many of the prefix's last tokens instead of seq_len / 3 (Both only).
InfillContext infill_context(const CheckpointMeta& meta, const midi::Score& score, const Gap& gap,
                             InfillSees sees = InfillSees::Both, int64_t prefix_tokens = 0);

// What a musician asks of the new notes besides the file around them (composer --infill with --key,
// --density, --pitch-range; docs/infill.md, "Asking for more of the new bars"): guidance of the middle's sampling
// (ControlGuide), in the file's own key. No control token is read: training's arranged windows
// carry none, and a gap's key and density are asked of these bars, not of the piece.
struct InfillGuidance {
  std::optional<midi::Key> key;           // the middle's pitches kept to this key's scale and tonic triad
  int density_class = -1;                 // 0 low, 1 mid, 2 high (the corpus's thirds); -1 not asked
  std::optional<PitchRange> pitch_range;  // MIDI note numbers of the file, both included
  double key_strength = kDefaultKeyStrength, density_strength = kDefaultDensityStrength,
         range_strength = kDefaultRangeStrength;
};

// `request`'s key, density and pitch range (with their strengths) as guidance of a middle;
// std::invalid_argument with one line for a style (the file's own stands), a key that is not one, or
// a density that check_controls refuses (the corpus's thirds are a checkpoint's trained with
// --controls density).
InfillGuidance infill_guidance(const CheckpointMeta& meta, const ControlRequest& request);

// The default of composer --infill-lead-in, in beats (bench/results/quality.md, session 12: the
// seam after the gap measured with 1, 2 and 4).
inline constexpr double kDefaultLeadInBeats = 1;
// The narrowest range the last beats are kept to: an octave, so that a single note after the gap
// does not leave the new bars one pitch to play.
inline constexpr int kLeadInSemitones = 12;

// The default of composer --infill-pitch-classes-strength (bench/results/quality.md, session 13).
inline constexpr double kDefaultInfillClassesStrength = 4;
// The default of composer --infill-end-rest-strength (bench/results/quality.md, session 14).
inline constexpr double kDefaultInfillEndRestStrength = 1;
// The default of composer --infill-grid-strength (bench/results/quality.md, session 15).
inline constexpr double kDefaultInfillGridStrength = 1;

// How composer writes a middle (docs/infill.md, "Choosing the middle"; the defaults measured in
// bench/results/quality.md, 2026-12-07 "the seam after the gap" and session 12).
struct InfillOptions {
  // What the network gives the shifts that would pass the gap's end goes to the shift that lands
  // on it (midi::EventGrammar::set_rest_to_end); false spreads it over notes and shorter shifts.
  bool rest_to_end = true;
  // Both sides read: this many middles are composed and the one kept under which the network, read
  // left to right as a plain continuation (the prefix, the middle, the suffix), gives the suffix's
  // first `scored_tokens` tokens the highest likelihood. 1: the first middle, nothing scored.
  int candidates = 1;
  int scored_tokens = 32;
  // Guidance of the middle's pitches toward the range of the bars beside the gap (as many grid steps
  // as the gap on each side; ControlGuide's range bias): off, both sides, or the bars before alone
  // (the fair counterpart for a continuation, which must not read the suffix).
  enum class Range { Off, Around, Before };
  Range range = Range::Off;
  double range_strength = kDefaultRangeStrength;
  // Guidance of the middle's notes per beat toward the bars beside the gap (the same bars as the
  // range's; ControlGuide::aim_density): off, both sides, or the bars before alone.
  Range density = Range::Off;
  double density_strength = kDefaultDensityStrength;
  // Guidance of the middle's pitch classes toward those of the same bars (class_bias: the classes they
  // seldom or never play held back): off, both sides, or the bars before alone. A key asked stands
  // instead; the lead-in's beats (below) lift it, so that they keep to what follows the gap alone
  // (bench/results/quality.md, session 13: with it the seam after the gap loosened). composer's
  // default: Around where both sides are read, Before for a continuation.
  Range classes = Range::Off;
  double classes_strength = kDefaultInfillClassesStrength;
  // Guidance of the rest before the gap's end, where it is a bar line, toward the rests before the
  // piece's own bar lines (RestGuide): off, those of all its bars outside the gap (aimed at the
  // intervals across them, from the middle's last onset to the first after the gap), or those of its
  // bars before the gap alone. Only the end: steering the bar lines inside the gap as well took the
  // bars' rhythms apart (bench/results/quality.md, session 14: groove consistency -0.075). composer's
  // default: Around where both sides are read, Before for a continuation, Off where a density is
  // asked (a longer rest took notes from gaps that were to be dense).
  Range end_rest = Range::Off;
  double end_rest_strength = kDefaultInfillEndRestStrength;
  // Guidance of the middle's onsets to the positions in the beat where the piece strikes (GridGuide):
  // off, those of all its music outside the gap, or of its music before the gap alone. composer's
  // default: Around where both sides are read, Before for a continuation, Off where a density is asked.
  Range grid = Range::Off;
  double grid_strength = kDefaultInfillGridStrength;
  // Both sides read: the middle's last `lead_in_beats` beats keep their pitched notes to the range
  // of the first beat after the gap (InfillContext::range_after_start, widened about its middle to
  // kLeadInSemitones) at `lead_in_strength`, so that the new bars lead into what follows them: the
  // network itself hardly reads the suffix (docs/infill.md, "Leading into the bars after"). 0: off;
  // a pitch range asked (InfillGuidance) stands instead.
  double lead_in_beats = kDefaultLeadInBeats;
  double lead_in_strength = kDefaultRangeStrength;
  // The musician's own asks; a pitch range asked replaces `range`'s.
  InfillGuidance asked;
};

// One middle: sampled under the event grammar with its time held inside the gap (no shift past its
// end), ending exactly at it. A network that has not reached the end after 16 tokens per grid
// step of the gap (and 64 more) is ended there with rests. With InfillSees::Before the middle goes
// on in the prefix's instrument instead of naming its own first.
std::vector<int32_t> compose_middle(const MusicLSTM& net, const CheckpointMeta& meta, const InfillContext& context,
                                    const SamplingOptions& sampling, std::mt19937_64& rng,
                                    const InfillOptions& options = {});

// The log-likelihood (natural log) of the suffix's first `scored_tokens` tokens when the network
// reads the prefix's last seq_len tokens, `middle` and the suffix left to right as one plain piece;
// suffix tokens the grammar forbids there (an instrument named again while in force) are skipped
// unscored, and so are the middle's. Needs a context that saw both sides.
double suffix_log_likelihood(const MusicLSTM& net, const CheckpointMeta& meta, const InfillContext& context,
                             const std::vector<int32_t>& middle, int scored_tokens);

// options.candidates middles composed one after another from `rng`; the one whose suffix is likeliest
// (suffix_log_likelihood; the first on a tie) is returned. One candidate: compose_middle's alone.
std::vector<int32_t> compose_best_middle(const MusicLSTM& net, const CheckpointMeta& meta, const InfillContext& context,
                                         const SamplingOptions& sampling, std::mt19937_64& rng,
                                         const InfillOptions& options);

// The middle's notes as notes of `score`'s file: on its ticks, moved back into its key, each on
// the channel, track and program of the first note of its instrument in one of the file's tracks
// (of an instrument in several, the track whose notes' mean pitch is nearest its own), with the
// mean velocity of that instrument's notes there beside the gap (as many grid steps as the gap on
// each side; all of them where none is), cut at the gap's end; a new note struck while a
// note of the file outside the gap holds its key (track, channel, pitch) is left out.
std::vector<midi::Note> middle_notes(const midi::Score& score, const CheckpointMeta& meta, const InfillContext& context,
                                     const std::vector<int32_t>& middle);

// `score` with the notes inside the gap replaced by middle_notes'.
midi::Score with_middle(const midi::Score& score, const CheckpointMeta& meta, const InfillContext& context,
                        const std::vector<int32_t>& middle);

// Whether a note of `score` starting at `start_tick` is inside the gap (its onset on the grid falls
// in it): the notes that with_middle replaces.
bool starts_inside(int64_t start_tick, const midi::Score& score, const Gap& gap);

}  // namespace legato::model
