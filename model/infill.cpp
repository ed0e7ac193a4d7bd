#include "model/infill.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>

#include "base/whole_range.h"
#include "engine/ops.h"
#include "midi/infill.h"
#include "midi/tokenizer_event.h"
#include "model/composition.h"
#include "model/encoding.h"

namespace legato::model {
namespace {

const midi::EventTokenizer kGrid;  // the event scheme's grid: what a grid step is in ticks

}  // namespace

bool starts_inside(int64_t start_tick, const midi::Score& score, const Gap& gap) {
  const int64_t step = kGrid.to_steps(start_tick, score.ticks_per_quarter);
  return step >= gap.from && step < gap.to;
}

namespace {

int64_t step_of(const midi::Note& n, const midi::Score& score) {
  return kGrid.to_steps(n.start_tick, score.ticks_per_quarter);
}

bool inside(const midi::Note& n, const midi::Score& score, const Gap& gap) {
  return starts_inside(n.start_tick, score, gap);
}

// The file's notes that stay: those whose onsets lie outside the gap.
std::vector<midi::Note> notes_outside(const midi::Score& score, const Gap& gap) {
  std::vector<midi::Note> kept;
  for (const midi::Note& n : score.notes)
    if (!inside(n, score, gap)) kept.push_back(n);
  return kept;
}

// Grid steps as ticks of the file (exact when its resolution is a multiple of the grid's).
int64_t ticks_of(int64_t steps, const midi::Score& score) {
  const int64_t per_quarter = midi::EventOptions{}.steps_per_quarter;
  return (steps * score.ticks_per_quarter + per_quarter / 2) / per_quarter;
}

// What a new note of an instrument (program, -1 for drums) takes from the file: the channel, track
// and program of the first note of that instrument in one of the file's tracks, and the mean
// velocity of the instrument's notes there beside the gap (as many grid steps as the gap on each
// side), else of all of them, so that a gap in a quiet passage of a loud piece is filled quietly.
// An instrument in several tracks (a piano's two hands, each in a track of its own) has a voice per
// track, and a new note goes to the one whose notes' mean pitch is nearest its own.
struct Voice {
  midi::Note like;
  int64_t velocity_sum = 0, pitch_sum = 0, count = 0, near_velocity_sum = 0, near_count = 0;
  double mean_pitch() const { return double(pitch_sum) / double(count); }
  int velocity() const { return static_cast<int>(near_count ? near_velocity_sum / near_count : velocity_sum / count); }
};
std::map<int, std::vector<Voice>> voices_of(const midi::Score& score, const Gap& gap) {
  const int64_t length = gap.to - gap.from;
  std::map<int, std::vector<Voice>> voices;
  for (const midi::Note& n : score.notes) {
    std::vector<Voice>& of_instrument = voices[n.is_drum() ? -1 : n.program];
    auto v = std::find_if(of_instrument.begin(), of_instrument.end(),
                          [&](const Voice& voice) { return voice.like.track == n.track; });
    if (v == of_instrument.end()) v = of_instrument.insert(of_instrument.end(), Voice{n});
    v->velocity_sum += n.velocity;
    v->pitch_sum += n.pitch;
    ++v->count;
    const int64_t step = step_of(n, score);
    if (!inside(n, score, gap) && step >= gap.from - length && step < gap.to + length) {
      v->near_velocity_sum += n.velocity;
      ++v->near_count;
    }
  }
  return voices;
}
const Voice* nearest_voice(const std::vector<Voice>& voices, int pitch) {
  const Voice* best = nullptr;
  for (const Voice& v : voices)
    if (!best || std::abs(v.mean_pitch() - pitch) < std::abs(best->mean_pitch() - pitch)) best = &v;
  return best;
}

// The token of the instrument a note after `prefix` plays (empty when none is named yet).
std::vector<int32_t> instrument_after(const CheckpointMeta& meta, const std::vector<int32_t>& prefix) {
  midi::EventGrammar grammar = *grammar_for(meta);
  for (const int32_t t : prefix) grammar.feed(t);
  if (grammar.instrument() == midi::EventGrammar::kNoInstrument) return {};
  const std::string name = midi::instrument_token(grammar.instrument());
  const auto at = std::find(meta.vocab.begin(), meta.vocab.end(), name);
  if (at == meta.vocab.end()) return {};
  return {static_cast<int32_t>(at - meta.vocab.begin())};
}

// The lowest and highest pitch of the pitched notes with onsets in [from, to), moved by `shift`.
std::optional<PitchRange> range_between(const midi::Score& score, int64_t from, int64_t to, int shift) {
  std::optional<PitchRange> range;
  for (const midi::Note& n : score.notes) {
    const int64_t step = step_of(n, score);
    if (n.is_drum() || step < from || step >= to) continue;
    if (!range) range = PitchRange{n.pitch, n.pitch};
    range->lo = std::min(range->lo, n.pitch), range->hi = std::max(range->hi, n.pitch);
  }
  if (range) range = range->moved(shift);
  return range;
}

// Each pitch class's count among the pitched notes with onsets in [from, to), moved by `shift`.
std::array<double, 12> classes_between(const midi::Score& score, int64_t from, int64_t to, int shift) {
  std::array<double, 12> counts{};
  for (const midi::Note& n : score.notes)
    if (const int64_t step = step_of(n, score); !n.is_drum() && step >= from && step < to)
      counts[static_cast<size_t>(((n.pitch + shift) % 12 + 12) % 12)] += 1;
  return counts;
}

// `counts` (and `more`) as shares summing to 1; nullopt when they count nothing.
std::optional<std::array<double, 12>> shares_of(std::array<double, 12> counts,
                                                const std::array<double, 12>& more = {}) {
  double total = 0;
  for (size_t pc = 0; pc < 12; ++pc) total += counts[pc] += more[pc];
  if (total <= 0) return std::nullopt;
  for (double& c : counts) c /= total;
  return counts;
}

// The pitch range of the beat of music from the first pitched onset at or after grid step `from`,
// moved by `shift`, widened about its middle to kLeadInSemitones; nullopt when no pitched note follows.
// The grid step of the first pitched onset at or after grid step `from` (-1: none).
int64_t first_pitched_onset(const midi::Score& score, int64_t from) {
  int64_t first = -1;
  for (const midi::Note& n : score.notes)
    if (const int64_t step = step_of(n, score); !n.is_drum() && step >= from && (first < 0 || step < first))
      first = step;
  return first;
}

std::optional<PitchRange> range_of_next_beat(const midi::Score& score, int64_t from, int shift) {
  const int64_t first = first_pitched_onset(score, from);
  if (first < 0) return std::nullopt;
  PitchRange r = *range_between(score, first, first + midi::EventOptions{}.steps_per_quarter, shift);
  if (const int short_by = kLeadInSemitones - (r.hi - r.lo); short_by > 0)
    r.lo -= short_by / 2, r.hi += short_by - short_by / 2;
  return r;
}

// The notes (drums too) with onsets in [from, to) and the beats that span holds, clipped to the piece
// (from its start to its last note's end).
std::pair<int64_t, double> notes_between(const midi::Score& score, int64_t from, int64_t to) {
  int64_t end = 0, notes = 0;
  for (const midi::Note& n : score.notes) {
    end = std::max(end, kGrid.to_steps(n.start_tick + n.duration_ticks, score.ticks_per_quarter));
    const int64_t step = step_of(n, score);
    notes += step >= from && step < to ? 1 : 0;
  }
  const int64_t span = std::max<int64_t>(0, std::min(to, end) - std::max<int64_t>(from, 0));
  return {notes, static_cast<double>(span) / midi::EventOptions{}.steps_per_quarter};
}

double per_beat(std::pair<int64_t, double> a, std::pair<int64_t, double> b = {0, 0.0}) {
  const double beats = a.second + b.second;
  return beats > 0 ? static_cast<double>(a.first + b.first) / beats : 0.0;
}

// Whether the gap ends on a bar line, and the rests before the piece's bar lines around it.
void read_rests(const midi::Score& score, const Gap& gap, int64_t last_onset, InfillContext& c) {
  const int64_t past = std::max(last_onset, gap.to) + 16 * midi::EventOptions{}.steps_per_quarter;
  const std::vector<int64_t> lines = bar_lines(score, past);
  c.ends_on_bar_line = std::binary_search(lines.begin(), lines.end(), gap.to);
  c.rests_before = rest_counts(line_rests(score, lines, 0, gap.from, gap.from, gap.to));
  const std::vector<LineRest> around = line_rests(score, lines, 0, past, gap.from, gap.to);
  c.rests_around = rest_counts(around);
  const auto after = std::upper_bound(lines.begin(), lines.end(), gap.to);  // the bar line after the gap's end
  // The first pitched onset after the gap, if within the bar after it.
  if (const int64_t first = first_pitched_onset(score, gap.to); first >= 0 && (after == lines.end() || first < *after))
    c.rests_into_after = rest_counts(around, first - gap.to);
}

std::optional<PitchRange> joined(std::optional<PitchRange> a, std::optional<PitchRange> b) {
  if (!a || !b) return a ? a : b;
  return PitchRange{std::min(a->lo, b->lo), std::max(a->hi, b->hi)};
}

}  // namespace

std::pair<int64_t, int64_t> parse_range(const std::string& text, const std::string& flag) {
  const auto range = base::whole_range(text);
  if (!range) throw std::invalid_argument(flag + " " + text + ": give a range FIRST-LAST of whole numbers, e.g. 9-12");
  const auto [first, last] = *range;
  if (first < 1 || last < first)
    throw std::invalid_argument(flag + " " + text +
                                ": the range counts from 1 and its first number is at most its last");
  if (last > 100000) throw std::invalid_argument(flag + " " + text + ": at most 100000");
  return {first, last};
}

Gap gap_of_bars(const midi::Score& score, int64_t first, int64_t last) {
  const std::vector<int64_t> lines = bar_lines(score, INT64_MAX, static_cast<size_t>(last) + 1);
  return {lines[static_cast<size_t>(first) - 1], lines[static_cast<size_t>(last)]};
}

Gap gap_of_beats(int64_t first, int64_t last) {
  const int64_t per_quarter = midi::EventOptions{}.steps_per_quarter;
  return {(first - 1) * per_quarter, last * per_quarter};
}

InfillContext infill_context(const CheckpointMeta& meta, const midi::Score& score, const Gap& gap, InfillSees sees,
                             int64_t prefix_tokens) {
  if (meta.scheme != "event" || meta.infill_rate <= 0)
    throw std::invalid_argument(
        "--infill needs a checkpoint trained for infilling (trainer --infill-rate, event scheme); this one was not");
  int64_t last_onset = -1;
  for (const midi::Note& n : score.notes) last_onset = std::max(last_onset, step_of(n, score));
  if (gap.from > last_onset)
    throw std::invalid_argument("the gap starts after the file's last note: choose bars or beats inside the music");
  InfillContext c;
  c.gap = gap;
  c.sees = sees;
  for (const midi::Note& n : score.notes) c.replaced += inside(n, score, gap) ? 1 : 0;
  const std::vector<int32_t> ids = encode_score(score, meta.scheme, meta.vocab, !meta.keys.empty(), &c.shift);
  const int64_t width = gap.to - gap.from;
  c.range_before = range_between(score, gap.from - width, gap.from, c.shift);
  c.range_around = joined(c.range_before, range_between(score, gap.to, gap.to + width, c.shift));
  c.range_after_start = range_of_next_beat(score, gap.to, c.shift);
  const std::array<double, 12> classes = classes_between(score, gap.from - width, gap.from, c.shift);
  c.classes_before = shares_of(classes);
  c.classes_around = shares_of(classes, classes_between(score, gap.to, gap.to + width, c.shift));
  const auto before = notes_between(score, gap.from - width, gap.from);
  c.density_before = per_beat(before);
  c.density_around = per_beat(before, notes_between(score, gap.to, gap.to + width));
  read_rests(score, gap, last_onset, c);
  c.grid_before = onset_positions(score, 0, gap.from, gap.from, gap.to);
  c.grid_around = onset_positions(score, 0, INT64_MAX, gap.from, gap.to);
  const midi::InfillLayout layout(meta.vocab);
  midi::InfillLayout::Parts parts = layout.split(ids, gap.from, gap.to);
  c.prefix = parts.prefix;
  if (sees == InfillSees::Before) {  // as compose_piece reads a primer: its last seq_len tokens
    const auto window = static_cast<size_t>(std::max<int64_t>(1, meta.seq_len));
    c.prompt.assign(parts.prefix.end() - static_cast<std::ptrdiff_t>(std::min(window, parts.prefix.size())),
                    parts.prefix.end());
    c.lead_in = instrument_after(meta, parts.prefix);
    return c;
  }
  const auto budget = static_cast<size_t>(std::max<int64_t>(1, meta.seq_len / 3));
  const auto prefix_budget = prefix_tokens > 0 ? static_cast<size_t>(prefix_tokens) : budget;
  if (parts.prefix.size() > prefix_budget)
    parts.prefix.erase(parts.prefix.begin(), parts.prefix.end() - static_cast<std::ptrdiff_t>(prefix_budget));
  c.suffix = parts.suffix;
  if (parts.suffix.size() > budget) parts.suffix.resize(budget);
  parts.middle.clear();
  c.prompt = layout.arrange(parts);
  return c;
}

InfillGuidance infill_guidance(const CheckpointMeta& meta, const ControlRequest& request) {
  if (!request.style.empty())
    throw std::invalid_argument("--style " + request.style +
                                " does not go with --infill: the new bars keep the style of the file around them");
  check_strengths(request);
  InfillGuidance g;
  if (!request.key.empty()) {
    g.key = midi::parse_key(request.key);
    if (!g.key)
      throw std::invalid_argument("--key " + request.key + ": not a key (e.g. \"D minor\", \"F# major\", \"Bbm\")");
  }
  if (!request.density.empty()) {  // the thirds a class names are those of a corpus trained with the control
    ControlRequest density;
    density.density = request.density;
    check_controls(meta, density);
    g.density_class = density_class(request.density);
  }
  g.pitch_range = request.pitch_range;
  g.key_strength = request.key_strength, g.density_strength = request.density_strength;
  g.range_strength = request.range_strength;
  return g;
}

namespace {

// The guidance of one middle: the range of --infill-range, or the one asked, and the key and
// density asked, moved into the network's key as the file's notes were (context.shift); the
// density measured over the gap.
ControlGuide middle_guide(const CheckpointMeta& meta, const InfillContext& context, const InfillOptions& options) {
  using Range = InfillOptions::Range;
  const InfillGuidance& asked = options.asked;
  std::optional<PitchRange> range = options.range == Range::Around   ? context.range_around
                                    : options.range == Range::Before ? context.range_before
                                                                     : std::nullopt;
  double range_strength = options.range_strength;
  if (asked.pitch_range) range = asked.pitch_range->moved(context.shift), range_strength = asked.range_strength;
  std::optional<midi::Key> key;
  if (asked.key) key = asked.key->moved(context.shift);
  ControlGuide guide(key, asked.density_class, meta.density_bounds, asked.key_strength, asked.density_strength, range,
                     range ? range_strength : 0);
  if (asked.density_class < 0 && options.density != Range::Off)
    guide.aim_density(options.density == Range::Around ? context.density_around : context.density_before,
                      options.density_strength);
  const auto classes = options.classes == Range::Around   ? context.classes_around
                       : options.classes == Range::Before ? context.classes_before
                                                          : std::nullopt;
  if (classes && !asked.key) guide.keep_to_classes(class_bias(*classes, options.classes_strength));
  guide.measure_density_from(context.gap.from);
  return guide;
}

// The guidance of the middle's rest before the gap's end (InfillOptions::end_rest).
RestGuide middle_rest(const InfillContext& context, const InfillOptions& options) {
  using Range = InfillOptions::Range;
  if (options.end_rest == Range::Off || !context.ends_on_bar_line) return {};
  const bool around = options.end_rest == Range::Around;
  const RestCounts& counts = !around                             ? context.rests_before
                             : !context.rests_into_after.empty() ? context.rests_into_after
                                                                 : context.rests_around;
  return {{{context.gap.to, counts}}, options.end_rest_strength};
}

// The guidance of the middle's onsets to the piece's positions in the beat (InfillOptions::grid).
GridGuide middle_grid(const InfillContext& context, const InfillOptions& options) {
  using Range = InfillOptions::Range;
  if (options.grid == Range::Off) return {};
  return {options.grid == Range::Around ? context.grid_around : context.grid_before, context.gap.to,
          options.grid_strength};
}

}  // namespace

std::vector<int32_t> compose_middle(const MusicLSTM& net, const CheckpointMeta& meta, const InfillContext& context,
                                    const SamplingOptions& sampling, std::mt19937_64& rng,
                                    const InfillOptions& options) {
  midi::EventGrammar grammar = *grammar_for(meta);
  for (const int32_t t : context.prefix) grammar.feed(t);
  grammar.begin_middle(context.gap.to, context.sees == InfillSees::Both);
  grammar.set_rest_to_end(options.rest_to_end);
  ControlGuide guide = middle_guide(meta, context, options);
  const RestGuide rest = middle_rest(context, options);
  const GridGuide grid = middle_grid(context, options);
  int64_t last_onset = -1;  // the grid step of the middle's latest pitched note
  // Where the middle's last beats begin to lead into the music after the gap (never: -1).
  const bool lead_in = options.lead_in_beats > 0 && context.sees == InfillSees::Both && context.range_after_start &&
                       !options.asked.pitch_range;
  int64_t lead_from =
      lead_in ? context.gap.to - std::llround(options.lead_in_beats * grammar.options().steps_per_quarter) : -1;
  Generator gen(net);
  for (const int32_t t : context.prompt) gen.feed(t);
  const std::vector<int32_t> banned = banned_tokens(meta.vocab);
  const auto cap = static_cast<size_t>(64 + 16 * (context.gap.to - context.gap.from));
  std::vector<int32_t> middle;
  while (!grammar.finished() && middle.size() < cap) {
    Tensor logits = gen.logits();
    float* z = logits.data<float>();
    for (const int32_t b : banned) z[b] = -1e30f;
    if (lead_from >= 0 && grammar.now() >= lead_from) {  // the last beats keep to what follows the gap alone
      guide.keep_to(*context.range_after_start, options.lead_in_strength);
      guide.keep_to_classes({});
      lead_from = -1;
    }
    if (guide.active()) guide.bias(z, logits.numel(), grammar);
    grid.bias(z, logits.numel(), grammar);
    rest.bias(z, logits.numel(), grammar, last_onset);
    grammar.mask(z);
    const int32_t next = sample_token(z, logits.numel(), sampling, rng);
    middle.push_back(next);
    gen.feed(next);
    grammar.feed(next);
    if (grammar.pitch_of(next) >= 0 && grammar.instrument() != -1) last_onset = grammar.now();
    guide.feed(next, grammar);  // the density counts the middle's own notes
  }
  // Capped before the end: rests up to it (a note left without a duration lasts one step).
  const midi::InfillLayout layout(meta.vocab);
  const int64_t longest = midi::EventOptions{}.max_shift_steps;
  for (int64_t now = grammar.now(); now < context.gap.to; now += std::min(longest, context.gap.to - now))
    middle.push_back(layout.shift_token(std::min(longest, context.gap.to - now)));
  return middle;
}

double suffix_log_likelihood(const MusicLSTM& net, const CheckpointMeta& meta, const InfillContext& context,
                             const std::vector<int32_t>& middle, int scored_tokens) {
  if (context.sees != InfillSees::Both) throw std::invalid_argument("suffix_log_likelihood: the context saw no suffix");
  midi::EventGrammar grammar = *grammar_for(meta);  // what a plain piece may say next
  for (const int32_t t : context.prefix) grammar.feed(t);
  Generator gen(net);
  const auto window = static_cast<size_t>(std::max<int64_t>(1, meta.seq_len));
  const size_t tail = std::min(window, context.prefix.size());
  for (auto t = context.prefix.end() - static_cast<std::ptrdiff_t>(tail); t != context.prefix.end(); ++t) gen.feed(*t);
  for (const int32_t t : middle)
    if (grammar.allows(t)) gen.feed(t), grammar.feed(t);
  double sum = 0;
  int scored = 0;
  for (size_t k = 0; k < context.suffix.size() && scored < scored_tokens; ++k) {
    const int32_t t = context.suffix[k];
    if (!grammar.allows(t)) continue;
    sum += ops::log_softmax(gen.logits()).data<float>()[t];  // logits [1, V], host
    ++scored;
    gen.feed(t);
    grammar.feed(t);
  }
  return sum;
}

std::vector<int32_t> compose_best_middle(const MusicLSTM& net, const CheckpointMeta& meta, const InfillContext& context,
                                         const SamplingOptions& sampling, std::mt19937_64& rng,
                                         const InfillOptions& options) {
  std::vector<int32_t> best = compose_middle(net, meta, context, sampling, rng, options);
  if (options.candidates <= 1) return best;
  double best_score = suffix_log_likelihood(net, meta, context, best, options.scored_tokens);
  for (int k = 1; k < options.candidates; ++k) {
    std::vector<int32_t> middle = compose_middle(net, meta, context, sampling, rng, options);
    const double score = suffix_log_likelihood(net, meta, context, middle, options.scored_tokens);
    if (score > best_score) best_score = score, best = std::move(middle);
  }
  return best;
}

namespace {

// Whether new note n starts while one of the `kept` notes (the file's, outside the gap) holds its
// key (track, channel and pitch): it is left out then, since its note-off would end the held note
// too when the file is read back (pretty_midi's pairing), and the file's notes stay as they are.
bool struck_while_held(const midi::Note& n, const std::vector<midi::Note>& kept) {
  for (const midi::Note& held : kept) {
    if (held.pitch == n.pitch && held.channel == n.channel && held.track == n.track && held.start_tick < n.start_tick &&
        n.start_tick < held.end_tick())
      return true;
  }
  return false;
}

}  // namespace

std::vector<midi::Note> middle_notes(const midi::Score& score, const CheckpointMeta& meta, const InfillContext& context,
                                     const std::vector<int32_t>& middle) {
  std::vector<std::string> text;
  for (const int32_t t : context.lead_in) text.push_back(meta.vocab[static_cast<size_t>(t)]);
  for (const int32_t t : middle) text.push_back(meta.vocab[static_cast<size_t>(t)]);
  const midi::Score fresh = kGrid.detokenize(text);  // from step 0 = the gap's start
  const int64_t ticks_per_step = fresh.ticks_per_quarter / midi::EventOptions{}.steps_per_quarter;
  const std::map<int, std::vector<Voice>> voices = voices_of(score, context.gap);
  const std::vector<midi::Note> kept = notes_outside(score, context.gap);
  std::vector<midi::Note> notes;
  for (const midi::Note& f : fresh.notes) {
    int pitch = f.pitch;
    if (!f.is_drum() && context.shift != 0) {  // back into the file's key, an octave nearer where it must
      pitch -= context.shift;
      pitch += pitch < 0 ? 12 : pitch > 127 ? -12 : 0;
    }
    const auto of_instrument = voices.find(f.is_drum() ? -1 : f.program);
    const Voice* voice = of_instrument != voices.end() ? nearest_voice(of_instrument->second, pitch) : nullptr;
    midi::Note n = voice ? voice->like : f;
    if (voice) n.velocity = voice->velocity();
    n.pitch = pitch;
    const int64_t onset = context.gap.from + f.start_tick / ticks_per_step;
    const int64_t end = std::min(context.gap.to, onset + std::max<int64_t>(1, f.duration_ticks / ticks_per_step));
    n.start_tick = ticks_of(onset, score);
    n.duration_ticks = std::max<int64_t>(1, ticks_of(end, score) - n.start_tick);
    if (!struck_while_held(n, kept)) notes.push_back(n);
  }
  return notes;
}

midi::Score with_middle(const midi::Score& score, const CheckpointMeta& meta, const InfillContext& context,
                        const std::vector<int32_t>& middle) {
  midi::Score out = score;
  out.notes = notes_outside(score, context.gap);
  for (const midi::Note& n : middle_notes(score, meta, context, middle)) out.notes.push_back(n);
  std::stable_sort(out.notes.begin(), out.notes.end(),
                   [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
  out.update_times();
  return out;
}

}  // namespace legato::model
