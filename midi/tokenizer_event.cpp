#include "midi/tokenizer_event.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <stdexcept>

namespace legato::midi {
namespace {

constexpr int kDrums = -1;  // instrument key of channel 10; programs are 0..127

int instrument_of(const Note& n) { return n.is_drum() ? kDrums : n.program; }

// "N60" -> 60 when the token is the prefix followed by a number in [lo, hi].
std::optional<int> number_after(std::string_view token, std::string_view prefix, int lo, int hi) {
  if (token.size() <= prefix.size() || token.substr(0, prefix.size()) != prefix) return std::nullopt;
  int v = 0;
  const char* begin = token.data() + prefix.size();
  const char* end = token.data() + token.size();
  const auto [ptr, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || ptr != end || v < lo || v > hi) return std::nullopt;
  return v;
}

// "T" and 12 -> "T12". (Not "T" + std::to_string(12): GCC 12 warns falsely about that.)
std::string tagged(char tag, int64_t value) {
  char buf[24];
  buf[0] = tag;
  const auto end = std::to_chars(buf + 1, buf + sizeof buf, value).ptr;
  return std::string(buf, end);
}

}  // namespace

std::string instrument_token(int instrument) { return instrument == kDrums ? "DRUMS" : tagged('P', instrument); }
std::string ensemble_token(int instrument) { return instrument == kDrums ? "IDRUMS" : tagged('I', instrument); }

EventTokenizer::EventTokenizer(EventOptions options) : options_(options) {
  if (options_.steps_per_quarter < 1 || options_.steps_per_quarter > 96 || options_.max_shift_steps < 1 ||
      options_.max_duration_steps < 1 || options_.velocity_bins < 0 || options_.velocity_bins > 127 ||
      options_.max_note_quarters < 1 || options_.version < 1 || options_.version > 2)
    throw std::invalid_argument(
        "event tokenizer: grid 1..96 steps per quarter, positive shift, duration and note-length limits, 0..127 "
        "velocity bins, version 1 or 2");
}

int64_t EventTokenizer::to_steps(int64_t ticks, int tpq) const {
  // Nearest grid step, halfway rounding up: exact in integers.
  return (2 * ticks * options_.steps_per_quarter + tpq) / (2 * int64_t(tpq));
}

std::vector<EventTokenizer::GridNote> EventTokenizer::grid_notes(const Score& score) const {
  std::vector<GridNote> notes;
  notes.reserve(score.notes.size());
  const int64_t longest = int64_t(options_.max_note_quarters) * options_.steps_per_quarter;
  for (const Note& n : score.notes) {
    const int bin = options_.velocity_bins ? std::clamp(n.velocity, 0, 127) * options_.velocity_bins / 128 : 0;
    notes.push_back({to_steps(n.start_tick, score.ticks_per_quarter), instrument_of(n), n.pitch,
                     std::clamp<int64_t>(to_steps(n.duration_ticks, score.ticks_per_quarter), 1, longest), bin});
  }
  std::sort(notes.begin(), notes.end());
  return notes;
}

std::vector<std::string> EventTokenizer::tokenize(const Score& score) const {
  const std::vector<GridNote> events = grid_notes(score);
  std::vector<std::string> tokens;
  tokens.reserve(events.size() * 3 + 2);
  tokens.emplace_back("BOS");
  if (options_.version >= 2) {
    std::vector<int> ensemble;  // sorted: drums (-1) first, then programs ascending
    for (const GridNote& e : events) ensemble.push_back(e.instrument);
    std::sort(ensemble.begin(), ensemble.end());
    ensemble.erase(std::unique(ensemble.begin(), ensemble.end()), ensemble.end());
    for (int i : ensemble) tokens.push_back(ensemble_token(i));
  }
  int64_t now = 0;
  int instrument = kDrums - 1, velocity_bin = -1;  // nothing emitted yet
  for (const GridNote& e : events) {
    for (int64_t gap = e.onset - now; gap > 0; gap -= options_.max_shift_steps)
      tokens.push_back(tagged('T', std::min<int64_t>(gap, options_.max_shift_steps)));
    now = e.onset;
    if (e.instrument != instrument) {
      instrument = e.instrument;
      tokens.push_back(instrument_token(instrument));
    }
    if (options_.velocity_bins && e.velocity_bin != velocity_bin) {
      velocity_bin = e.velocity_bin;
      tokens.push_back(tagged('V', velocity_bin));
    }
    tokens.push_back(tagged('N', e.pitch));
    for (int64_t left = e.duration; left > 0; left -= options_.max_duration_steps)
      tokens.push_back(tagged('D', std::min<int64_t>(left, options_.max_duration_steps)));
  }
  tokens.emplace_back("EOS");
  return tokens;
}

TokenizedScore EventTokenizer::tokenize_for_transposition(const Score& score) const {
  TokenizedScore out;
  out.tokens = tokenize(score);
  out.moves.resize(out.tokens.size());
  bool drums = false;
  for (size_t k = 0; k < out.tokens.size(); ++k) {
    const std::string& t = out.tokens[k];
    if (t == "DRUMS" || t.front() == 'P') drums = t == "DRUMS";
    out.moves[k] = !drums && t.front() == 'N';
  }
  pitched_range(score, out);
  return out;
}

std::optional<std::string> EventTokenizer::transpose_token(std::string_view token, int semitones) const {
  const auto pitch = number_after(token, "N", 0, 127);
  if (!pitch || *pitch + semitones < 0 || *pitch + semitones > 127) return std::nullopt;
  return tagged('N', *pitch + semitones);
}

Score EventTokenizer::detokenize(std::span<const std::string> tokens) const {
  Score score;
  // 40 ticks per step: every grid point is a whole tick.
  const int ticks_per_step = 40;
  score.ticks_per_quarter = options_.steps_per_quarter * ticks_per_step;
  // Drums on channel 10; programs take channels 1..16 (skipping 10) as they first appear.
  std::map<int, int> channel_of{{kDrums, kDrumChannel}};
  int next_channel = 0;
  auto channel_for = [&](int instrument) {
    auto it = channel_of.find(instrument);
    if (it != channel_of.end()) return it->second;
    const int ch = next_channel;
    next_channel = (next_channel + 1) % 16;
    if (next_channel == kDrumChannel) ++next_channel;
    return channel_of[instrument] = ch;
  };
  std::map<int, int> track_of;  // instrument -> track number, in order of first note
  int64_t now = 0;
  int instrument = 0;
  int velocity = options_.velocity_bins ? 64 : 80;
  constexpr size_t kNone = size_t(-1);
  size_t pending = kNone;  // index of the last note, still collecting D tokens
  bool pending_has_duration = false;
  auto finish = [&] {
    if (pending != kNone && !pending_has_duration) score.notes[pending].duration_ticks = ticks_per_step;
    pending = kNone;
  };
  for (const std::string& token : tokens) {
    if (auto d = number_after(token, "D", 1, options_.max_duration_steps)) {
      if (pending != kNone) {
        score.notes[pending].duration_ticks += int64_t(*d) * ticks_per_step;
        pending_has_duration = true;
      }
      continue;
    }
    finish();
    if (token == "EOS") break;
    if (auto t = number_after(token, "T", 1, options_.max_shift_steps)) {
      now += *t;
    } else if (auto p = number_after(token, "P", 0, 127)) {
      instrument = *p;
    } else if (token == "DRUMS") {
      instrument = kDrums;
    } else if (auto v = number_after(token, "V", 0, std::max(0, options_.velocity_bins - 1));
               v && options_.velocity_bins) {
      velocity = std::clamp((2 * *v + 1) * 128 / (2 * options_.velocity_bins), 1, 127);  // bin centre
    } else if (auto n = number_after(token, "N", 0, 127)) {
      Note note;
      note.pitch = *n;
      note.velocity = velocity;
      note.channel = channel_for(instrument);
      note.program = instrument == kDrums ? 0 : instrument;
      note.track = track_of.emplace(instrument, int(track_of.size()) + 1).first->second;
      note.start_tick = now * ticks_per_step;
      note.duration_ticks = 0;
      score.notes.push_back(note);
      pending = score.notes.size() - 1;
      pending_has_duration = false;
    }
    // BOS, UNK and anything unknown carry no note.
  }
  finish();
  std::stable_sort(score.notes.begin(), score.notes.end(),
                   [](const Note& a, const Note& b) { return a.start_tick < b.start_tick; });
  score.track_count = int(track_of.size()) + 1;
  score.track_has_notes.assign(size_t(score.track_count), true);
  score.track_has_notes[0] = false;
  for (const auto& [inst, track] : track_of)
    if (inst != kDrums) score.program_changes.push_back({0, track, channel_for(inst), inst});
  score.update_times();
  return score;
}

}  // namespace legato::midi
