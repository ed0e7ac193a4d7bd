#pragma once
// The plugin instance and what its two files share: plugin.cpp (run, the worker, the descriptor)
// and state.cpp (what a host's session keeps).
#include <lv2/atom/forge.h>
#include <lv2/log/logger.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <memory>
#include <mutex>
#include <string>

#include "plugin/answerer.h"
#include "plugin/performer.h"

namespace legato::plugin {

constexpr const char* kUri = "urn:legato:lv2";

struct Uris {
  LV2_URID midi_event, object, path, number_float, number_int, number_double, number_long;
  LV2_URID patch_set, patch_property, patch_value, time_position, time_bpm, time_speed, time_beat;
  LV2_URID checkpoint, temperature, top_p, bars, seed, mode;
};

Uris map_uris(LV2_URID_Map* map);

struct Settings {
  float temperature = 1, top_p = 1;
  int32_t bars = 4, seed = 1, mode = 0;  // mode 0: answer, 1: continue
};

enum class Job : uint32_t { load, compose };
constexpr size_t kMaxPath = 2048;
struct LoadJob {
  Job type = Job::load;
  char path[kMaxPath];
};
struct LoadDone {
  Job type = Job::load;
  bool ok = false;
};
struct ComposeJob {
  Job type = Job::compose;
  Settings settings;
  PhraseRequest request;
};
struct ComposeDone {
  Job type = Job::compose;
  AnswerReply reply;
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
  Settings settings;
  bool model_ready = false;  // false: MIDI passes through unanswered
  Performer performer;
  ComposeJob job;    // built in run(), copied by the host into its queue
  ComposeDone done;  // a reply copied out of the host's queue (which need not align it)
  LoadJob load;
  // Touched only by the worker, save() and restore(), never by run().
  std::mutex worker_mutex;
  std::unique_ptr<Answerer> answerer;
  std::string checkpoint_path;
};

// On the worker thread or in restore(): the answerer of `path`, or none and the log says why.
bool load_checkpoint(Plugin& p, const std::string& path);
void log_error(Plugin& p, const std::string& message);

LV2_State_Status save(LV2_Handle handle, LV2_State_Store_Function store, LV2_State_Handle state, uint32_t flags,
                      const LV2_Feature* const* features);
LV2_State_Status restore(LV2_Handle handle, LV2_State_Retrieve_Function retrieve, LV2_State_Handle state,
                         uint32_t flags, const LV2_Feature* const* features);

}  // namespace legato::plugin
