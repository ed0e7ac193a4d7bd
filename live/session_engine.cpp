// The engine's thread: the player's notes into the network, the silence noticed, the answer
// written into the timed queue (live/session.h).
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "live/session.h"
#include "midi/tokenizer.h"

namespace legato::live {

namespace {
// An answer written after its silence ended (the engine was late, or a held key ended it) sounds
// this long after its first onset is written: the real-time side's clock, as the engine last heard
// it, may be a tick old.
constexpr double kLead = 0.002;
// Idle, the engine looks for input this often: the delay it adds to noticing a silence.
constexpr auto kIdle = std::chrono::microseconds(500);
constexpr int kLowestCeiling = 36;  // accompany: the part keeps at least the two lowest octaves
// A key held this many beats with nothing else played is taken for a lost note-off, and the
// silence begins after all.
constexpr double kHungBeats = 16;
}  // namespace

void Session::run() {
  // Real-time priority where the system allows it, below the sending thread's: a busy machine then
  // cannot hold the first answered note back. The thread sleeps whenever it is a second ahead.
  sched_param priority{};
  priority.sched_priority = std::min(1, sched_get_priority_max(SCHED_FIFO));
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &priority);  // without the right it stays normal
  while (!stop_.load() && !failed_.load())
    if (!step()) std::this_thread::sleep_for(kIdle);
}

bool Session::step() {
  if (failed_.load()) return false;
  try {
    return turn();
  } catch (const std::exception& e) {
    failure_ = e.what();
    failed_ = true;
    return false;
  }
}

bool Session::turn() {
  const double now = now_.load(std::memory_order_acquire);
  follow_host_tempo();
  bool busy = take_input();
  if (tentative_ && now >= silence_end_) commit_answer();
  if (answering_ && cut_request_.load(std::memory_order_acquire) >= answer_.load()) {
    // The host's transport stopped. An answer still waiting for its silence is tried again: as
    // before this engine composed ahead, the silence's end still brings an answer.
    tentative_ ? drop_answer() : stop_answer(now);
    busy = true;
  }
  if (!answering_) busy |= check_silence(now);
  if (answering_) busy |= write_answer(now);
  return busy;
}

// A tempo the host changed: an answer under way goes on from the step written so far, at the new
// tempo (the notes already in the queue keep their times).
void Session::follow_host_tempo() {
  const double tempo = tempo_.load(std::memory_order_acquire);
  if (tempo <= 0 || options_.follow_tempo || std::abs(60.0 / tempo - tokenizer_.beat_seconds()) < 1e-12) return;
  const double old_step = step_seconds();
  tokenizer_.set_beat_seconds(60.0 / tempo);
  if (answering_ && first_onset_ >= 0) origin_ += double(notes_.now() - first_onset_) * (old_step - step_seconds());
}

// The first step of the host's grid at or after `seconds` (`seconds` itself without a host grid).
double Session::on_host_grid(double seconds) const {
  const double origin = beat_origin_.load(std::memory_order_acquire), step = step_seconds();
  if (origin < -1e299) return seconds;
  return origin + std::ceil((seconds - origin) / step - 1e-9) * step;
}

// BOS and, in version 2, an ensemble of the player's instrument alone: the answer stays in it.
void Session::begin_stream() {
  feed(vocab_.bos());
  if (const int32_t header = vocab_.header(vocab_.voice()); header >= 0 && grammar_.ensemble().empty()) {
    feed(header);
    grammar_.close_header();
  }
}

void Session::feed(int32_t token) {
  if (token < 0) return;
  generator_.feed(token);
  grammar_.feed(token);
  grid_.feed(token, grammar_);
  LiveNote note;
  if (notes_.feed(token, note) && answering_ && note.onset >= answer_start_) schedule(note);
  if (answering_ && first_onset_ < 0 && !waiting_.empty() && notes_.now() > waiting_.front().onset) start_clock();
  stats_.tokens_fed.fetch_add(1, std::memory_order_relaxed);
}

void Session::feed_played() {
  tokens_.clear();
  tokenizer_.take_tokens(tokens_);
  if (accompanying_) return;  // the accompaniment's state follows its own part
  for (int32_t t : tokens_) feed(t);
}

bool Session::take_input() {
  NoteEvent e;
  bool any = false;
  while (input_.pop(e)) {
    on_note(e);
    any = true;
  }
  if (any) feed_played();
  return any;
}

void Session::on_note(const NoteEvent& e) {
  if (tentative_ && e.seconds < silence_end_)
    drop_answer();  // the silence did not end
  else if (tentative_)
    commit_answer();  // it did, just before this note
  last_event_ = e.seconds;
  if (!e.on) {
    tokenizer_.note_off(e.channel, e.pitch, e.seconds);
    return;
  }
  if (answering_ && !accompanying_) stop_answer(e.seconds);
  tokenizer_.note_on(e.channel, e.pitch, e.velocity, e.seconds);
  if (phrase_notes_++ == 0) stats_.phrases.fetch_add(1);
}

bool Session::check_silence(double now) {
  if (phrase_notes_ == 0) return false;
  const bool held = tokenizer_.sounding();
  const double silence_end =
      last_event_ + (options_.answer_after + (held ? kHungBeats : 0)) * tokenizer_.beat_seconds();
  // With no key down, where the silence ends is known now: the answer is composed at once (and
  // dropped if the player plays first). A held key's end, and so the silence's, is not known.
  if (now < silence_end && held) return false;
  const bool tentative = now < silence_end;
  if (tentative) save_before();
  tokens_at_silence_ = stats_.tokens_fed.load(std::memory_order_relaxed);
  silence_noted_ = std::chrono::steady_clock::now();
  tokenizer_.release_all(silence_end);  // a key still down is taken to have ended with the silence
  feed_played();
  tokens_.clear();
  tokenizer_.rest_until(silence_end, tokens_);
  for (int32_t t : tokens_) feed(t);
  start_answer(silence_end, tentative);
  return true;
}

void Session::save_before() {
  generator_.save(before_.network);
  before_.grammar = grammar_;
  before_.grid = grid_;
  before_.tokenizer = tokenizer_;
  before_.notes = notes_;
  before_.rng = rng_;
  before_.phrase_notes = phrase_notes_;
  before_.accompanying = accompanying_;
  before_.ceiling = ceiling_;
  before_.ceiling_until = ceiling_until_;
}

void Session::drop_answer() {
  output_.cut(answer_.load());  // the real-time side did, unless the note came as it began
  tentative_until_.store(-1e300, std::memory_order_release);
  tentative_ = answering_ = false;
  waiting_.clear();
  generator_.restore(before_.network);
  grammar_ = before_.grammar;
  grid_ = before_.grid;
  tokenizer_ = before_.tokenizer;
  notes_ = before_.notes;
  rng_ = before_.rng;
  phrase_notes_ = before_.phrase_notes;
  accompanying_ = before_.accompanying;
  ceiling_ = before_.ceiling;
  ceiling_until_ = before_.ceiling_until;
  stats_.answers_dropped.fetch_add(1);
}

void Session::commit_answer() {
  tentative_ = false;
  tentative_until_.store(-1e300, std::memory_order_release);
  stats_.last_silence_end = silence_end_;
  stats_.last_answer_start = first_onset_ >= 0 ? origin_ : -1;
  stats_.answers.fetch_add(1);
}

void Session::start_answer(double silence_end, bool tentative) {
  answering_ = true;
  accompanying_ = options_.mode == Mode::Accompany;
  phrase_notes_ = 0;
  silence_end_ = silence_end;
  answer_start_ = notes_.now();
  const auto steps = std::llround(options_.answer_bars * 4 * midi::EventOptions{}.steps_per_quarter);
  answer_end_ = options_.mode == Mode::Answer ? answer_start_ + std::max<int64_t>(1, steps) : INT64_MAX;
  first_onset_ = -1;
  waiting_.clear();
  answer_.fetch_add(1, std::memory_order_acq_rel);
  tentative_ = tentative;
  if (tentative)  // after the answer's number, which the real-time side then reads as new
    tentative_until_.store(silence_end, std::memory_order_release);
  else
    commit_answer();
}

void Session::stop_answer(double now) {
  output_.cut(answer_.load());
  answering_ = false;
  tokenizer_.sync(notes_.now(), now);  // the player's note comes right after what was written
}

bool Session::write_answer(double now) {
  const double step = step_seconds();
  if (notes_.now() >= answer_end_) {  // long enough: the last note is final, and Legato listens
    if (tentative_) return false;     // ...once the silence has ended: until then it may be dropped
    LiveNote last;
    if (notes_.flush(last) && last.onset >= answer_start_) schedule(last);
    if (first_onset_ < 0 && !waiting_.empty()) start_clock();
    answering_ = false;
    tokenizer_.sync(notes_.now(), first_onset_ >= 0 ? origin_ + double(notes_.now() - first_onset_) * step : now);
    return true;
  }
  // Far enough ahead of the music; an accompaniment only a beat, so that it follows the player soon.
  const double ahead = accompanying_ ? std::min(options_.lookahead, tokenizer_.beat_seconds()) : options_.lookahead;
  if (first_onset_ >= 0 && origin_ + double(notes_.now() - first_onset_) * step > now + ahead) return false;
  if (accompanying_) {  // the register follows the player's lowest held note, and a beat after it
    const int held = tokenizer_.lowest_held_pitch();
    if (held < 128)
      ceiling_ = std::max(held, kLowestCeiling), ceiling_until_ = now + tokenizer_.beat_seconds();
    else if (now > ceiling_until_)
      ceiling_ = 128;
  }
  feed(sample());
  return true;
}

int32_t Session::sample() {
  Tensor logits = generator_.logits();
  const float* z = logits.data<float>();
  std::copy(z, z + logits_.size(), logits_.begin());
  for (int32_t b : banned_) logits_[static_cast<size_t>(b)] = -1e30f;
  grid_.bias(logits_.data(), int64_t(logits_.size()), grammar_);
  grammar_.mask(logits_.data());
  for (int pitch = ceiling_; pitch < 128 && accompanying_; ++pitch)
    if (vocab_.note(pitch) >= 0) logits_[static_cast<size_t>(vocab_.note(pitch))] = -1e30f;
  return model::sample_token(logits_.data(), int64_t(logits_.size()), options_.sampling, rng_);
}

// Notes at the answer's first onset wait until it is complete (a time shift follows them): a chord
// then starts together, on time, rather than its first note at once and the others late.
void Session::schedule(const LiveNote& note) {
  if (first_onset_ < 0)
    waiting_.push_back(note);
  else
    send_note(note);
}

void Session::start_clock() {
  first_onset_ = waiting_.front().onset;
  // At the silence's end when written ahead of it; else as soon as the real-time side can send it.
  origin_ = on_host_grid(std::max(now_.load() + kLead, silence_end_));
  if (!tentative_) stats_.last_answer_start = origin_;
  const auto spent = std::chrono::steady_clock::now() - silence_noted_;
  stats_.first_onset_tokens.fetch_add(stats_.tokens_fed.load(std::memory_order_relaxed) - tokens_at_silence_);
  stats_.first_onset_microseconds.fetch_add(
      uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(spent).count()));
  stats_.first_onsets.fetch_add(1);
  for (const LiveNote& n : waiting_) send_note(n);
  waiting_.clear();
}

void Session::send_note(const LiveNote& note) {
  const double step = step_seconds();
  const double on = origin_ + double(note.onset - first_onset_) * step;
  double off = on + double(std::max<int64_t>(1, note.duration)) * step;
  // An answer lasts its bars: a note held past their end (a longest duration repeated) is released
  // there, so that nothing of it sounds on while Legato listens again.
  if (answer_end_ != INT64_MAX)
    off = std::min(off, std::max(on + step, origin_ + double(answer_end_ - first_onset_) * step));
  const uint8_t channel = note.instrument < 0 ? 9 : 0;
  const uint32_t answer = answer_.load();
  const TimedNote note_on{on, answer, {uint8_t(0x90 | channel), uint8_t(note.pitch), uint8_t(note.velocity)}};
  const TimedNote note_off{off, answer, {uint8_t(0x80 | channel), uint8_t(note.pitch), 0}};
  if (!output_.schedule(note_on) || !output_.schedule(note_off)) stats_.queue_full.fetch_add(1);
  stats_.notes_scheduled.fetch_add(1);
}

}  // namespace legato::live
