#pragma once
// composer --play: the notes go to a MIDI output port while they are generated. The one place that
// knows whether the build has rtmidi; without it --play is refused before any input is read.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "midi/score.h"
#include "render/midi_out.h"  // declarations only: used where the build has rtmidi
#include "render/performance.h"
#include "render/player.h"

namespace legato::tools {

// A port that does not exist is bad input: exit code 2, as tools/cli_errors.h's kUsageError.
constexpr int kUnknownPortExit = 2;

// The score of the tokens generated so far (the composer knows the tokenizer and the tempo).
using ScoreOf = std::function<midi::Score(const std::vector<int32_t>& generated)>;

#ifdef LEGATO_HAVE_RTMIDI
inline std::atomic<bool> g_play_stop{false};  // set by SIGINT and SIGTERM once the port is open

extern "C" inline void on_play_signal(int) { g_play_stop = true; }

// After each token the tokens so far become a score, and every note that starts before its latest
// onset is final (time only moves forward in both schemes; notes at the latest onset may still get
// duration tokens or chord partners), so it is scheduled.
class LivePlayer {
 public:
  explicit LivePlayer(ScoreOf score_of) : score_of_(std::move(score_of)) {}
  LivePlayer(const LivePlayer&) = delete;  // the performer and the listener point into it
  LivePlayer& operator=(const LivePlayer&) = delete;

  // Why --play cannot work in this build (null: it can).
  static const char* missing() { return nullptr; }

  // Opens the port before generating, so that a wrong port is said at once; from then on SIGINT
  // and SIGTERM stop the music and the run. Returns -1, or the exit code after saying why not.
  int open(const std::string& port) {
    try {
      out_ = std::make_unique<render::MidiOutput>(port, "composer");
    } catch (const render::PlaybackError& e) {
      std::cerr << "composer: " << e.what() << "\n";
      return e.kind == render::PlaybackError::Kind::kUnknownPort ? kUnknownPortExit : 1;
    }
    std::cerr << "composer: playing on " << out_->port().name << " as the notes are generated\n";
    // The performer's timing needs a core of its own: generation, far faster than the music,
    // leaves one free (on 2 cores, both generating threads made the notes 10-15 ms late).
    omp_set_num_threads(std::max(1, omp_get_max_threads() - 1));
    std::signal(SIGINT, on_play_signal);
    std::signal(SIGTERM, on_play_signal);
    return -1;
  }

  bool stopped() const { return g_play_stop.load(); }

  // A piece begins: what to call after each generated token (empty when not playing); it returns
  // false when a signal stopped the music.
  std::function<bool(const std::vector<int32_t>& generated)> start_piece() {
    if (!out_) return {};
    player_.emplace(*out_, &g_play_stop, 0.2);
    performer_.reset();
    scheduled_ = 0;
    return [this](const std::vector<int32_t>& generated) {
      schedule(generated, false);
      return !g_play_stop.load();
    };
  }

  // The piece is generated: the notes at its last onset are final now.
  void end_generation(const std::vector<int32_t>& generated) {
    if (player_) schedule(generated, true);
  }

  // The piece is written: returns when its music has finished.
  void finish_piece() {
    if (!player_) return;
    const render::PlayStats stats = player_->finish();
    if (stats.shifted_seconds > 0.05)
      std::fprintf(stderr, "composer: generation fell behind the music; it waited %.2f s in all\n",
                   stats.shifted_seconds);
    // Said so that late notes are not taken for the player's own timing.
    if (stats.late_wakeup_seconds > 0.001)
      std::fprintf(stderr, "composer: the system woke the player up to %.1f ms late\n",
                   stats.late_wakeup_seconds * 1e3);
    player_.reset();
  }

 private:
  void schedule(const std::vector<int32_t>& generated, bool last) {
    const midi::Score score = score_of_(generated);
    if (score.notes.empty()) return;
    if (!performer_) {
      timing_.ticks_per_quarter = score.ticks_per_quarter;
      timing_.tempo_map = score.tempo_map;
      performer_.emplace(timing_);
    }
    size_t final_count = score.notes.size();
    if (!last) {
      int64_t latest = 0;
      for (const midi::Note& n : score.notes) latest = std::max(latest, n.start_tick);
      final_count = 0;
      while (final_count < score.notes.size() && score.notes[final_count].start_tick < latest) ++final_count;
    }
    if (final_count <= scheduled_) return;
    std::vector<render::TimedMessage> messages;
    performer_->add(std::span(score.notes).subspan(scheduled_, final_count - scheduled_), messages);
    render::sort_messages(messages);
    player_->schedule(std::move(messages));
    scheduled_ = final_count;
  }

  ScoreOf score_of_;
  std::unique_ptr<render::MidiOutput> out_;  // null: not playing
  std::optional<render::Player> player_;     // the piece being played
  midi::Score timing_;                       // tempo map and division of the piece: turns ticks into seconds
  std::optional<render::Performer> performer_;
  size_t scheduled_ = 0;  // notes of the piece already scheduled
};
#else
class LivePlayer {
 public:
  explicit LivePlayer(ScoreOf) {}
  static const char* missing() { return "this build has no live MIDI playback (install librtmidi-dev and rebuild)"; }
  int open(const std::string&) {
    std::cerr << "composer: " << missing() << "\n";
    return kUnknownPortExit;
  }
  bool stopped() const { return false; }
  std::function<bool(const std::vector<int32_t>& generated)> start_piece() { return {}; }
  void end_generation(const std::vector<int32_t>&) {}
  void finish_piece() {}
};
#endif

}  // namespace legato::tools
