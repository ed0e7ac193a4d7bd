#include "live/phrase_tokenizer.h"

#include <algorithm>
#include <cmath>

#include "midi/tokenizer.h"

namespace legato::live {

namespace {
constexpr int kDrumChannel = 9;
constexpr size_t kTempoIntervals = 8;  // onsets the followed tempo looks back over
}  // namespace

PhraseTokenizer::PhraseTokenizer(const EventVocab& vocab, double beat_seconds, bool follow_tempo)
    : vocab_(&vocab),
      beat_(beat_seconds),
      follow_tempo_(follow_tempo),
      steps_per_quarter_(midi::EventOptions{}.steps_per_quarter) {
  pending_.reserve(256);
  intervals_.reserve(kTempoIntervals + 1);
}

int64_t PhraseTokenizer::grid_step(double seconds) const {
  if (anchor_seconds_ < 0) return step_;
  const int64_t after = std::llround((seconds - anchor_seconds_) / step_seconds());
  // A player who comes back after a long pause starts at most a bar later.
  return std::max(step_, anchor_step_ + std::clamp<int64_t>(after, 0, 4 * steps_per_quarter_));
}

void PhraseTokenizer::set_beat_seconds(double beat_seconds) {
  if (!follow_tempo_ && beat_seconds > 0) beat_ = beat_seconds;
}

void PhraseTokenizer::follow(double seconds) {
  const double interval = seconds - last_onset_seconds_;
  if (last_onset_seconds_ >= 0 && interval > 0.08 && interval < 2.0) {  // not a chord, not a pause
    intervals_.push_back(interval);
    if (intervals_.size() > kTempoIntervals) intervals_.erase(intervals_.begin());
  }
  last_onset_seconds_ = seconds;
  if (!follow_tempo_ || intervals_.size() < 3) return;
  std::vector<double> sorted = intervals_;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  // The typical interval is taken for a beat, halved or doubled into 80-160 bpm.
  double beat = sorted[sorted.size() / 2];
  while (beat < 0.375) beat *= 2;
  while (beat >= 0.75) beat /= 2;
  beat_ = beat;
}

void PhraseTokenizer::note_on(int channel, int pitch, int velocity, double seconds) {
  if (channel != kDrumChannel || vocab_->program(-1) < 0) follow(seconds);
  const int instrument = channel == kDrumChannel && vocab_->program(-1) >= 0 ? -1 : vocab_->voice();
  const int64_t onset = grid_step(seconds);
  anchor_step_ = onset;
  anchor_seconds_ = seconds;
  const Pending note{onset, seconds, seconds, instrument, channel, pitch, velocity, false};
  const auto at = std::upper_bound(pending_.begin(), pending_.end(), onset,
                                   [](int64_t o, const Pending& p) { return o < p.onset; });
  pending_.insert(at, note);
}

void PhraseTokenizer::note_off(int channel, int pitch, double seconds) {
  for (Pending& p : pending_)
    if (!p.ended && p.channel == channel && p.pitch == pitch) {
      p.ended = true;
      p.end_seconds = seconds;
      return;
    }
}

void PhraseTokenizer::release_all(double seconds) {
  for (Pending& p : pending_)
    if (!p.ended) p.ended = true, p.end_seconds = seconds;
}

void PhraseTokenizer::take_tokens(std::vector<int32_t>& out) {
  // Notes at the onset of a held note wait for it: they are written together, in token order.
  int64_t blocked = INT64_MAX;
  for (const Pending& p : pending_)
    if (!p.ended) blocked = std::min(blocked, p.onset);
  size_t done = 0;
  while (done < pending_.size() && pending_[done].onset < blocked) ++done;
  std::stable_sort(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done),
                   [](const Pending& a, const Pending& b) {
                     return std::tie(a.onset, a.instrument, a.pitch) < std::tie(b.onset, b.instrument, b.pitch);
                   });
  for (size_t k = 0; k < done; ++k) write(pending_[k], out);
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
}

void PhraseTokenizer::write(const Pending& note, std::vector<int32_t>& out) {
  const int32_t pitch_token = vocab_->note(note.pitch);
  const int32_t program_token = vocab_->program(note.instrument);
  if (pitch_token < 0 || program_token < 0) return;  // a pitch the network never saw
  shift_to(note.onset, out);
  if (note.instrument != instrument_) out.push_back(program_token), instrument_ = note.instrument;
  if (vocab_->velocity_bins() > 0) {
    const int bin = std::clamp(note.velocity, 0, 127) * vocab_->velocity_bins() / 128;
    if (bin != velocity_bin_ && vocab_->velocity(bin) >= 0) out.push_back(vocab_->velocity(bin)), velocity_bin_ = bin;
  }
  out.push_back(pitch_token);
  // A hung note (its note-off lost) is held at most 64 quarters, as the tokenizer holds one.
  int64_t left = std::clamp<int64_t>(std::llround((note.end_seconds - note.start_seconds) / step_seconds()), 1,
                                     64 * steps_per_quarter_);
  while (left > 0) {
    const int32_t d = vocab_->duration_at_most(left);
    if (d < 0) break;
    out.push_back(d);
    left -= vocab_->info(d).value;
  }
}

void PhraseTokenizer::shift_to(int64_t step, std::vector<int32_t>& out) {
  while (step_ < step) {
    const int32_t t = vocab_->shift_at_most(step - step_);
    if (t < 0) break;
    out.push_back(t);
    step_ += vocab_->info(t).value;
  }
}

void PhraseTokenizer::rest_until(double seconds, std::vector<int32_t>& out) {
  const int64_t target = grid_step(seconds);
  shift_to(target, out);
  anchor_step_ = step_;
  anchor_seconds_ = seconds;
}

void PhraseTokenizer::sync(int64_t step, double seconds) {
  step_ = anchor_step_ = step;
  anchor_seconds_ = seconds;
  instrument_ = -2;
  velocity_bin_ = -1;
}

bool PhraseTokenizer::holding() const { return !pending_.empty(); }

bool PhraseTokenizer::sounding() const {
  return std::any_of(pending_.begin(), pending_.end(), [](const Pending& p) { return !p.ended; });
}

int PhraseTokenizer::lowest_held_pitch() const {
  int lowest = 128;
  for (const Pending& p : pending_)
    if (!p.ended && p.instrument >= 0) lowest = std::min(lowest, p.pitch);
  return lowest;
}

}  // namespace legato::live
