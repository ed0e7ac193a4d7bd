#pragma once
// The plugin instance and what its three files share: plugin.cpp (run() and the descriptor),
// worker.cpp (the host's worker thread: checkpoints loaded, engines built and stepped) and
// state.cpp (what a host's session keeps).
//
// The engine is live/'s Session, the one composer --listen runs. run() is its real-time side
// (midi_in, tick); the worker is its engine side (step), once per block, so that the network never
// runs in the audio thread. A new checkpoint or setting means a new Session, built by the worker and
// handed to run() through the host's queue; the one it replaces is silenced in run() and handed
// back to the worker to be freed.
#include <lv2/atom/forge.h>
#include <lv2/log/logger.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <memory>
#include <mutex>
#include <string>

#include "live/session.h"
#include "model/checkpoint.h"

namespace legato::plugin {

constexpr const char* kUri = "urn:legato:lv2";

struct Uris {
  LV2_URID midi_event, object, path, number_float, number_int, number_double, number_long, urid;
  LV2_URID patch_set, patch_get, patch_property, patch_value, time_position, time_bpm, time_speed, time_beat;
  LV2_URID time_bar, time_bar_beat, time_beats_per_bar;
  LV2_URID checkpoint, temperature, top_p, bars, seed, mode;
};

Uris map_uris(LV2_URID_Map* map);

struct Settings {
  float temperature = 1, top_p = 1;
  int32_t bars = 4, seed = 1, mode = 0;  // mode 0: answer, 1: continue, 2: accompany
};

// A loaded checkpoint and a Session over it. The network is shared with the engine that replaces
// this one when only a setting changed; the session goes first (it refers to the network).
struct Network {
  model::LoadedCheckpoint checkpoint;
};
struct Engine {
  std::shared_ptr<const Network> network;
  std::unique_ptr<live::Session> session;
  bool failure_logged = false;  // the worker's
};

// The messages between run() and the worker, each led by its Job.
enum class Job : uint32_t { build, built, step, stepped, free };
constexpr size_t kMaxPath = 2048;
struct BuildJob {
  Job type = Job::build;
  Settings settings;
  double tempo = 120;   // the host's, for the session's start
  bool reload = false;  // the checkpoint path changed: load it (else the network stays)
  char path[kMaxPath] = {};
};
struct EngineJob {  // built, step, stepped, free: which engine
  Job type;
  Engine* engine;
};

struct Plugin {
  LV2_URID_Map* map = nullptr;
  LV2_Worker_Schedule* schedule = nullptr;
  LV2_Log_Logger logger{};
  Uris uris{};
  LV2_Atom_Forge forge{};
  const LV2_Atom_Sequence* in = nullptr;
  LV2_Atom_Sequence* out = nullptr;
  double sample_rate = 48000;

  // run()'s (and work_response()'s, which the host calls in the audio thread), and restore()'s,
  // which the host never calls during run().
  int64_t frame = 0;  // frames run since instantiation: the session's clock is frame / sample_rate
  double tempo = 120;
  double beat_origin = -1e300;  // when the host's beat 0 fell, in the session's seconds (-1e300: not told)
  bool rolling = false;
  Settings settings;
  BuildJob build;              // the next engine's settings and path, sent to the worker from here
  bool engine_wanted = false;  // a setting or the path changed since the engine was built
  bool building = false;       // a BuildJob is with the worker
  bool stepping = false;       // a step is with the worker
  bool announce = false;       // tell the host every parameter at the next run() (restored, or asked)
  Engine* engine = nullptr;    // null: MIDI passes through unanswered
  Engine* retiring = nullptr;  // replaced: silenced at the next run(), then freed by the worker
  uint32_t last_frame = 0;     // of the block's output so far: its events stay in time order

  // The worker's (and save()'s, restore()'s): the network loaded and the path the user chose.
  std::mutex worker_mutex;
  std::shared_ptr<const Network> network;
  std::string checkpoint_path;
};

void log_error(Plugin& p, const std::string& message);

LV2_Worker_Status work(LV2_Handle handle, LV2_Worker_Respond_Function respond, LV2_Worker_Respond_Handle target,
                       uint32_t size, const void* data);
LV2_Worker_Status work_response(LV2_Handle handle, uint32_t size, const void* data);

LV2_State_Status save(LV2_Handle handle, LV2_State_Store_Function store, LV2_State_Handle state, uint32_t flags,
                      const LV2_Feature* const* features);
LV2_State_Status restore(LV2_Handle handle, LV2_State_Retrieve_Function retrieve, LV2_State_Handle state,
                         uint32_t flags, const LV2_Feature* const* features);

}  // namespace legato::plugin
