#pragma once
// composer --listen: the program's side of live/listen.h (signals, one-line errors, exit codes).
// The one place besides live_player.h that knows whether the build has rtmidi.
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <iostream>
#include <stdexcept>

#include "cli_errors.h"
#include "live/listen.h"  // declarations only: live::listen is called where the build has rtmidi
#include "model/checkpoint.h"
#include "render/midi_out.h"

namespace legato::tools {

#ifdef LEGATO_HAVE_RTMIDI
inline std::atomic<bool> g_listen_stop{false};
extern "C" inline void on_listen_signal(int) { g_listen_stop = true; }

// Returns the exit code: 130 after Ctrl-C, 2 for a bad port or checkpoint, 1 when the engine failed.
inline int listen_and_answer(const model::LoadedCheckpoint& ck, const live::ListenOptions& options) {
  // The sending thread's timing needs a core of its own, as composer --play's player does.
  omp_set_num_threads(std::max(1, omp_get_max_threads() - 1));
  std::signal(SIGINT, on_listen_signal);
  std::signal(SIGTERM, on_listen_signal);
  try {
    return live::listen(*ck.net, ck.meta, options, g_listen_stop, std::cerr);
  } catch (const render::PlaybackError& e) {
    std::cerr << "composer: " << e.what() << "\n";
    return e.kind == render::PlaybackError::Kind::kUnknownPort ? kUsageError : 1;
  } catch (const std::invalid_argument& e) {  // not an event-scheme checkpoint
    std::cerr << "composer: --listen: " << e.what() << "\n";
    return kUsageError;
  }
}
inline const char* listen_missing() { return nullptr; }
#else
inline int listen_and_answer(const model::LoadedCheckpoint&, const live::ListenOptions&) { return kUsageError; }
inline const char* listen_missing() { return "this build has no live MIDI input (install librtmidi-dev and rebuild)"; }
#endif

}  // namespace legato::tools
