#pragma once
// The real-time half of the plugin, free of LV2 so that it reads as the musical logic: a clock in
// grid steps that follows the host's tempo and transport, the phrase being heard, the silence that
// asks for an answer, and the answer's notes sent at the exact frame they fall on. Nothing here
// allocates, locks or touches a file: every buffer is a fixed array inside the object.
#include <array>
#include <cstdint>

#include "plugin/answerer.h"

namespace legato::plugin {

constexpr int kMaxPhraseNotes = 64;   // the last notes heard; older ones fall out of the phrase
constexpr int kMaxAnswerNotes = 128;  // 4 bars of sixteenths in two voices

struct MidiSink {
  virtual void send(uint32_t frame, uint8_t status, uint8_t data1, uint8_t data2) = 0;
};

// What the worker needs to compose: the phrase (onsets from its first note) and where to start.
struct PhraseRequest {
  uint32_t generation = 0;
  bool more = false;  // continue mode: go on from the last answer, no phrase
  double at = 0;      // the clock's step where the answer begins: on a beat of the host's
  int64_t start = 0;  // steps from the phrase's first onset to `at`, as the tokens count them
  int32_t count = 0;
  std::array<GridNote, kMaxPhraseNotes> notes;
};

struct AnswerReply {
  uint32_t generation = 0;
  double start = 0;  // the clock's step where the answer begins
  int64_t length = 0;
  int32_t count = 0;
  std::array<GridNote, kMaxAnswerNotes> notes;
};

class Performer {
 public:
  static constexpr double kAnswerAfterBeats = 2;  // silence that ends a phrase

  void set_tempo(double beats_per_minute, double sample_rate);
  // The host's transport: while it rolls the clock follows its beat; stopping ends the answer.
  void set_transport(bool rolling, double beat, uint32_t frame, MidiSink& out);
  void set_continue(bool on) { continue_ = on; }
  // Sends the answer's events due before `to` and moves the clock to `to`.
  void advance(uint32_t from, uint32_t to, MidiSink& out);
  // A MIDI message played: note-ons and note-offs make the phrase; playing stops the answer.
  void heard(const uint8_t* message, uint32_t size, uint32_t frame, MidiSink& out);
  bool take_request(PhraseRequest& request);  // true once per ended phrase (or answer, continuing)
  void accept(const AnswerReply& reply);      // a reply to an older phrase is dropped
  double clock() const { return step_; }

 private:
  struct Event {
    double step;
    uint8_t status, pitch, velocity;
  };
  struct Heard {
    double onset, end;
    uint8_t pitch, velocity;
    bool sounding;
  };
  void stop_answer(uint32_t frame, MidiSink& out);
  void note_on(uint8_t pitch, uint8_t velocity);
  void note_off(uint8_t pitch);
  void check_silence();
  void schedule_next(double start);

  int steps_per_quarter_ = Answerer::steps_per_quarter();
  double steps_per_frame_ = 120.0 / 60 * Answerer::steps_per_quarter() / 48000;
  double step_ = 0;
  bool rolling_ = false, continue_ = false;
  uint8_t channel_ = 0;
  uint32_t generation_ = 0;
  std::array<Heard, kMaxPhraseNotes> phrase_{};
  int32_t phrase_count_ = 0;
  bool phrase_open_ = false;  // heard notes not yet asked for an answer
  bool request_ready_ = false;
  PhraseRequest request_;
  std::array<Event, 2 * kMaxAnswerNotes> events_{};
  int32_t event_count_ = 0, next_event_ = 0;
  std::array<bool, 128> sounding_{};  // answer notes on, for their note-offs when it stops
};

}  // namespace legato::plugin
