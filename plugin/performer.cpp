#include "plugin/performer.h"

#include <algorithm>
#include <cmath>

namespace legato::plugin {

void Performer::set_tempo(double beats_per_minute, double sample_rate) {
  if (beats_per_minute > 0 && sample_rate > 0)
    steps_per_frame_ = beats_per_minute / 60 * steps_per_quarter_ / sample_rate;
}

void Performer::set_transport(bool rolling, double beat, uint32_t frame, MidiSink& out) {
  if (rolling_ && !rolling) stop_answer(frame, out);
  rolling_ = rolling;
  // Stopped, the clock runs on at the last tempo, so that a player is answered without the transport.
  if (rolling) step_ = beat * steps_per_quarter_;
}

void Performer::advance(uint32_t from, uint32_t to, MidiSink& out) {
  while (next_event_ < event_count_) {
    const Event& e = events_[static_cast<size_t>(next_event_)];
    // The first frame at or after the event's step; 1e-6 absorbs the rounding of the step sum.
    const double ahead = std::ceil((e.step - step_) / steps_per_frame_ - 1e-6);
    const double frame = std::max<double>(from, from + ahead);  // a late reply plays at once
    if (frame >= to) break;
    out.send(static_cast<uint32_t>(frame), static_cast<uint8_t>(e.status | channel_), e.pitch, e.velocity);
    sounding_[e.pitch] = e.status == 0x90;
    ++next_event_;
  }
  step_ += (to - from) * steps_per_frame_;
  check_silence();
}

void Performer::heard(const uint8_t* message, uint32_t size, uint32_t frame, MidiSink& out) {
  if (size < 3) return;
  const uint8_t kind = message[0] & 0xF0;
  if (kind == 0x90 && message[2] > 0) {
    stop_answer(frame, out);
    channel_ = message[0] & 0x0F;
    note_on(message[1] & 0x7F, message[2]);
  } else if (kind == 0x80 || kind == 0x90) {
    note_off(message[1] & 0x7F);
  }
}

void Performer::stop_answer(uint32_t frame, MidiSink& out) {
  for (uint8_t pitch = 0; pitch < 128; ++pitch)
    if (sounding_[pitch]) out.send(frame, static_cast<uint8_t>(0x80 | channel_), pitch, 0);
  sounding_.fill(false);
  event_count_ = next_event_ = 0;
  request_ready_ = false;
  ++generation_;  // a reply still on its way belongs to the phrase before
}

void Performer::note_on(uint8_t pitch, uint8_t velocity) {
  if (!phrase_open_) phrase_count_ = 0;  // a new phrase
  phrase_open_ = true;
  if (phrase_count_ == kMaxPhraseNotes) {  // the oldest note falls out
    std::move(phrase_.begin() + 1, phrase_.end(), phrase_.begin());
    --phrase_count_;
  }
  phrase_[static_cast<size_t>(phrase_count_++)] = {step_, step_, pitch, velocity, true};
}

void Performer::note_off(uint8_t pitch) {
  for (int32_t k = 0; k < phrase_count_; ++k) {
    Heard& note = phrase_[static_cast<size_t>(k)];
    if (note.sounding && note.pitch == pitch) note = {note.onset, step_, pitch, note.velocity, false};
  }
}

// A phrase ends when nothing has sounded for kAnswerAfterBeats; its answer starts on the first
// beat at least one beat later, the worker's time to compose it.
void Performer::check_silence() {
  if (!phrase_open_ || phrase_count_ == 0) return;
  double last_end = 0;
  for (int32_t k = 0; k < phrase_count_; ++k) {
    const Heard& note = phrase_[static_cast<size_t>(k)];
    if (note.sounding) return;
    last_end = std::max(last_end, note.end);
  }
  if (step_ < last_end + kAnswerAfterBeats * steps_per_quarter_) return;
  phrase_open_ = false;
  request_ = {};
  request_.generation = generation_;
  const double origin = phrase_[0].onset;
  request_.at = (std::floor(step_ / steps_per_quarter_) + 2) * steps_per_quarter_;
  request_.start = std::llround(request_.at - origin);
  request_.count = phrase_count_;
  for (int32_t k = 0; k < phrase_count_; ++k) {
    const Heard& note = phrase_[static_cast<size_t>(k)];
    request_.notes[static_cast<size_t>(k)] = {static_cast<float>(note.onset - origin),
                                              static_cast<float>(note.end - note.onset), note.pitch, note.velocity};
  }
  request_ready_ = true;
}

bool Performer::take_request(PhraseRequest& request) {
  if (!request_ready_) return false;
  request = request_;
  request_ready_ = false;
  return true;
}

void Performer::accept(const AnswerReply& reply) {
  if (reply.generation != generation_) return;
  // The events already sent make room; a continuing answer's are still playing.
  std::move(events_.begin() + next_event_, events_.begin() + event_count_, events_.begin());
  event_count_ -= next_event_;
  next_event_ = 0;
  for (int32_t k = 0; k < reply.count && event_count_ + 2 <= static_cast<int32_t>(events_.size()); ++k) {
    const GridNote& note = reply.notes[static_cast<size_t>(k)];
    events_[static_cast<size_t>(event_count_++)] = {reply.start + note.onset, 0x90, note.pitch, note.velocity};
    events_[static_cast<size_t>(event_count_++)] = {reply.start + note.onset + note.duration, 0x80, note.pitch, 0};
  }
  // By step; at one step a note-off first, so that a repeated pitch ends before it sounds again.
  std::sort(events_.begin(), events_.begin() + event_count_,
            [](const Event& a, const Event& b) { return a.step != b.step ? a.step < b.step : a.status < b.status; });
  if (continue_) schedule_next(reply.start + static_cast<double>(reply.length));
}

// Continue mode: the next answer is asked for as soon as this one is in, to be ready when it ends.
void Performer::schedule_next(double start) {
  request_ = {};
  request_.generation = generation_;
  request_.more = true;
  request_.at = start;
  request_ready_ = true;
}

}  // namespace legato::plugin
