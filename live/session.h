#pragma once
// Call and response: a player plays, Legato listens, and when the player falls silent it answers.
// Two sides. The real-time side (a MIDI callback and a sending thread in the program; run() in
// an LV2 plugin) calls midi_in() with what arrives and tick() to send what is due: no locks, no
// allocation, no waiting on the network. The engine's own thread turns the notes played into
// tokens as they are played, feeds them through the network so that its state follows the
// player, notices the silence and writes the answer token by token into the timed queue, a
// second or so ahead of the music. The core knows no MIDI system: bytes in, MidiSink out, and
// time as the real-time side reports it (seconds on any steady clock).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "live/event_vocab.h"
#include "live/midi_parser.h"
#include "live/midi_sink.h"
#include "live/output_queue.h"
#include "live/phrase_tokenizer.h"
#include "live/spsc_ring.h"
#include "live/token_notes.h"
#include "midi/grammar.h"
#include "model/checkpoint.h"
#include "model/generator.h"
#include "model/onset_grid.h"

namespace legato::live {

// answer: up to answer_bars bars after each silence. continue: goes on where the player stopped
// until the player plays again. accompany: from the first silence on, a part under the player
// that never stops: its notes stay below the lowest note the player holds (a left hand under the
// melody), and the player's notes shape only that register, not the network's state.
enum class Mode { Answer, Continue, Accompany };

struct SessionOptions {
  Mode mode = Mode::Answer;
  double tempo = 120;         // beats per minute: the grid of the player's notes and of the answer
  bool follow_tempo = false;  // the tempo the player's onsets imply instead
  double answer_after = 2;    // beats of silence (no key down, no note-on or note-off) before Legato answers
  double answer_bars = 4;     // bars of 4/4 in an answer (answer mode)
  model::SamplingOptions sampling;
  uint64_t seed = 1;
  double lookahead = 1.0;  // seconds the engine writes ahead of the music (continue, accompany)
  // The answer kept to the positions in the beat struck so far (the player's and its own) and to the
  // beat's sixteenths and triplets, as composer's pieces are (model/onset_grid.h, RunningGrid); 0: off.
  double grid_strength = model::kDefaultGridStrength;
  // false: no thread of the session's own; the caller steps the engine with step() (an LV2
  // plugin, from its host's worker thread).
  bool own_thread = true;
};

// What happened, for the program's log and the benchmark.
struct SessionStats {
  std::atomic<uint64_t> phrases{0}, answers{0}, notes_scheduled{0}, tokens_fed{0}, queue_full{0};
  // Answers composed during a silence that the player broke by playing again: dropped unheard.
  std::atomic<uint64_t> answers_dropped{0};
  // Where an answer's first note waits on the engine: the tokens it steps from the silence's time
  // shifts to the first onset complete, and the engine's time for them, summed over first onsets.
  std::atomic<uint64_t> first_onsets{0}, first_onset_tokens{0}, first_onset_microseconds{0};
  // Written before `answers` counts the answer (read `answers` first):
  std::atomic<double> last_silence_end{-1};   // when the latest answer's silence ended
  std::atomic<double> last_answer_start{-1};  // when its first note was scheduled to sound (-1: not yet)
};

class Session {
 public:
  // `meta` must be of the event scheme (std::invalid_argument otherwise); `net` must outlive the
  // session and not change. The engine's thread starts at once.
  Session(const model::MusicLSTM& net, const model::CheckpointMeta& meta, const SessionOptions& options);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Real-time side. `bytes`: raw MIDI as it arrived (running status, SysEx and real-time bytes
  // allowed), `now`: when, in seconds on the caller's steady clock.
  void midi_in(const uint8_t* bytes, size_t size, double now);
  // Real-time side: sends every answered note due by `now`; also tells the engine the time.
  void tick(double now, MidiSink& out);
  // Real-time side, once at the end: note-offs for every sounding note, then the engine stops.
  void silence(double now, MidiSink& out);
  double next_due() const { return output_.next_due(); }
  // Real-time side, for a host with a transport (the LV2 plugin). Its tempo, in beats per minute,
  // replaces options.tempo (not while following the player's tempo); `seconds` is when its beat 0
  // falls, so that an answer's notes fall on the host's grid of steps rather than where the
  // silence happened to end; cut() stops the answer sounding (the transport stopped) and the
  // engine listens again, as when the player plays.
  void set_tempo(double beats_per_minute) { tempo_.store(beats_per_minute, std::memory_order_release); }
  void set_beat_origin(double seconds) { beat_origin_.store(seconds, std::memory_order_release); }
  void cut();

  // Engine side, without a thread of the session's own (options.own_thread false): does what is
  // due at the time tick() last reported; false when nothing was. The caller repeats it until
  // false, and again soon (an LV2 plugin once a block). A failure stops it, as it stops the thread.
  bool step();

  const SessionStats& stats() const { return stats_; }
  // Why the engine's thread stopped (empty while it runs or after a clean stop).
  std::string failure() const;

 private:
  struct NoteEvent {
    double seconds = 0;
    bool on = false;
    uint8_t channel = 0, pitch = 0, velocity = 0;
  };

  void run();   // the engine's thread (session_engine.cpp from here on)
  bool turn();  // one pass of the engine: true when it did anything
  void follow_host_tempo();
  double on_host_grid(double seconds) const;
  void begin_stream();
  bool take_input();  // true when anything arrived
  void on_note(const NoteEvent& e);
  void feed(int32_t token);
  void feed_played();
  bool check_silence(double now);
  void start_answer(double silence_end, bool tentative);
  void commit_answer();  // the silence ended with the player silent: the answer is heard
  void drop_answer();    // the player played before the silence ended: back to before the answer
  void save_before();
  void stop_answer(double now);
  bool write_answer(double now);  // true when it wrote a token
  int32_t sample();
  void schedule(const LiveNote& note);
  void start_clock();  // the answer's first onset is complete: it sounds from now
  void send_note(const LiveNote& note);
  double step_seconds() const { return tokenizer_.step_seconds(); }

  const model::MusicLSTM& net_;
  SessionOptions options_;
  EventVocab vocab_;
  midi::EventGrammar grammar_;
  model::RunningGrid grid_;  // the positions in the beat of every note fed
  model::Generator generator_;
  PhraseTokenizer tokenizer_;
  TokenNotes notes_;
  std::mt19937_64 rng_;
  std::vector<int32_t> banned_, tokens_;
  std::vector<float> logits_;

  // Shared between the sides.
  SpscRing<NoteEvent, 1024> input_;
  OutputQueue output_;
  std::atomic<double> now_{0};
  std::atomic<uint32_t> answer_{0};  // the latest answer begun (0: none yet)
  std::atomic<bool> stop_{false};
  std::atomic<double> tempo_{0};             // the host's tempo (0: none told)
  std::atomic<double> beat_origin_{-1e300};  // when the host's beat 0 falls (-1e300: no host grid)
  std::atomic<uint32_t> cut_request_{0};     // cut(): the latest answer to stop
  // The end of the silence an answer composed ahead of it waits for (-1e300: none waits): a note
  // played before then drops that answer on the real-time side, note-on or note-off.
  std::atomic<double> tentative_until_{-1e300};
  SessionStats stats_;
  MidiParser parser_;  // the real-time side's

  // The engine's own.
  bool answering_ = false, accompanying_ = false;
  int64_t phrase_notes_ = 0;       // notes of the phrase being played
  double last_event_ = 0;          // the player's last note-on or note-off
  int64_t answer_start_ = 0;       // grid step where the answer began
  int64_t answer_end_ = 0;         // grid step where it ends (answer mode)
  int64_t first_onset_ = -1;       // the answer's first onset, in grid steps (-1: not complete yet)
  std::vector<LiveNote> waiting_;  // the notes at that onset until it is complete
  double origin_ = 0;              // when that note sounds
  double silence_end_ = 0;
  uint64_t tokens_at_silence_ = 0;                       // tokens fed when the silence's shifts began
  std::chrono::steady_clock::time_point silence_noted_;  // when the engine began them (bench_live)
  int ceiling_ = 128;                                    // accompany: answered pitches stay below this
  double ceiling_until_ = 0;                             // ...until then (a beat after the player's lowest note ends)
  // The answer is composed while the silence lasts, from the state its end will leave if the
  // player stays silent (the player's tokens and the silence's time shifts), and its first notes
  // wait in the queue for the silence's end: it starts on time, not after its first onset has
  // been written. Until then it is tentative, and the engine keeps what to go back to if the
  // player plays first, so that an answer is the same however many tries came before it.
  bool tentative_ = false;
  struct Before {
    model::Generator::State network;
    midi::EventGrammar grammar;
    model::RunningGrid grid;
    PhraseTokenizer tokenizer;
    TokenNotes notes;
    std::mt19937_64 rng;
    int64_t phrase_notes;
    bool accompanying;
    int ceiling;
    double ceiling_until;
  } before_;
  std::string failure_;
  std::atomic<bool> failed_{false};
  std::thread thread_;
};

}  // namespace legato::live
