// The LV2 glue of legato.lv2: ports, the host's messages (MIDI, patch:Set, patch:Get,
// time:Position) and run(), the real-time side of live/'s Session (plugin/instance.h). run()
// allocates nothing, takes no lock and touches no file: what is slow goes to the worker
// (worker.cpp) through the host's lock-free queue.
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/core/lv2.h>
#include <lv2/log/logger.h>
#include <lv2/midi/midi.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/time/time.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>

#include "plugin/instance.h"

namespace legato::plugin {

Uris map_uris(LV2_URID_Map* map) {
  auto m = [map](const std::string& uri) { return map->map(map->handle, uri.c_str()); };
  const std::string own = std::string(kUri) + "#";
  return {m(LV2_MIDI__MidiEvent),   m(LV2_ATOM__Object),
          m(LV2_ATOM__Path),        m(LV2_ATOM__Float),
          m(LV2_ATOM__Int),         m(LV2_ATOM__Double),
          m(LV2_ATOM__Long),        m(LV2_ATOM__URID),
          m(LV2_PATCH__Set),        m(LV2_PATCH__Get),
          m(LV2_PATCH__property),   m(LV2_PATCH__value),
          m(LV2_TIME__Position),    m(LV2_TIME__beatsPerMinute),
          m(LV2_TIME__speed),       m(LV2_TIME__beat),
          m(LV2_TIME__bar),         m(LV2_TIME__barBeat),
          m(LV2_TIME__beatsPerBar), m(own + "checkpoint"),
          m(own + "temperature"),   m(own + "top_p"),
          m(own + "bars"),          m(own + "seed"),
          m(own + "mode")};
}

namespace {

double seconds_at(const Plugin& p, uint32_t frame) { return double(p.frame + frame) / p.sample_rate; }

// The session's messages into the block's output, each at the first frame at or after the moment
// it is due (1e-6: the rounding of the seconds' sums), and never before an event already written.
struct ForgeSink final : live::MidiSink {
  Plugin& p;
  uint32_t frames;
  ForgeSink(Plugin& plugin, uint32_t block) : p(plugin), frames(block) {}
  void send(const uint8_t* bytes, size_t size, double due_seconds) override {
    const double at = std::ceil(due_seconds * p.sample_rate - 1e-6) - double(p.frame);
    const auto frame = static_cast<uint32_t>(std::clamp<double>(at, p.last_frame, std::max(p.last_frame, frames - 1)));
    p.last_frame = frame;
    lv2_atom_forge_frame_time(&p.forge, frame);
    lv2_atom_forge_atom(&p.forge, static_cast<uint32_t>(size), p.uris.midi_event);
    lv2_atom_forge_write(&p.forge, bytes, static_cast<uint32_t>(size));
  }
};

// Sends what is due before `frame` of the block (the frame's own events go after its input).
void tick_until(Plugin& p, uint32_t frame, ForgeSink& sink) {
  if (p.engine && frame > 0) p.engine->session->tick((double(p.frame + frame - 1) + 1e-6) / p.sample_rate, sink);
}

double number(const Uris& u, const LV2_Atom* atom) {
  if (atom->type == u.number_float) return reinterpret_cast<const LV2_Atom_Float*>(atom)->body;
  if (atom->type == u.number_double) return reinterpret_cast<const LV2_Atom_Double*>(atom)->body;
  if (atom->type == u.number_int) return reinterpret_cast<const LV2_Atom_Int*>(atom)->body;
  if (atom->type == u.number_long) return static_cast<double>(reinterpret_cast<const LV2_Atom_Long*>(atom)->body);
  return 0;
}

bool is_number(const Uris& u, const LV2_Atom* atom) {
  return atom->type == u.number_float || atom->type == u.number_int || atom->type == u.number_double ||
         atom->type == u.number_long;
}

// A setting from patch:Set; the worker builds the engine it asks for (a path: loads it first).
void set_property(Plugin& p, LV2_URID key, const LV2_Atom* value) {
  const Uris& u = p.uris;
  if (key == u.checkpoint && value->type == u.path && value->size < kMaxPath) {
    std::memcpy(p.build.path, LV2_ATOM_BODY_CONST(value), value->size);
    p.build.path[value->size] = '\0';
    p.build.reload = p.engine_wanted = true;
    return;
  }
  if (!is_number(u, value)) return;
  const double x = number(u, value);
  Settings& s = p.settings;
  if (key == u.temperature) s.temperature = static_cast<float>(std::clamp(x, 0.05, 2.0));
  if (key == u.top_p) s.top_p = static_cast<float>(std::clamp(x, 0.05, 1.0));
  if (key == u.bars) s.bars = static_cast<int32_t>(std::clamp(x, 1.0, 16.0));
  if (key == u.seed) s.seed = static_cast<int32_t>(std::clamp(x, 0.0, 1e6));
  if (key == u.mode) s.mode = static_cast<int32_t>(std::clamp(std::round(x), 0.0, 2.0));
  p.engine_wanted = true;
}

// time:Position: the tempo, the transport, and where the host's beats fall (time:beat, or the
// bar and the beat in it, as jalv sends them).
void set_position(Plugin& p, const LV2_Atom_Object* object, uint32_t frame) {
  const Uris& u = p.uris;
  const LV2_Atom *bpm = nullptr, *speed = nullptr, *beat = nullptr, *bar = nullptr, *bar_beat = nullptr,
                 *per_bar = nullptr;
  lv2_atom_object_get(object, u.time_bpm, &bpm, u.time_speed, &speed, u.time_beat, &beat, u.time_bar, &bar,
                      u.time_bar_beat, &bar_beat, u.time_beats_per_bar, &per_bar, 0);
  if (bpm && is_number(u, bpm) && number(u, bpm) > 0) p.tempo = number(u, bpm);
  const bool rolling = speed && is_number(u, speed) && number(u, speed) != 0;
  if (speed && p.rolling && !rolling && p.engine) p.engine->session->cut();  // the transport stopped
  if (speed) p.rolling = rolling;
  double beats = -1;
  if (beat && is_number(u, beat)) beats = number(u, beat);
  if (!beat && bar && bar_beat && per_bar) beats = number(u, bar) * number(u, per_bar) + number(u, bar_beat);
  if (beats >= 0) p.beat_origin = seconds_at(p, frame) - beats * 60 / p.tempo;
  if (!p.engine) return;
  p.engine->session->set_tempo(p.tempo);
  p.engine->session->set_beat_origin(p.beat_origin);
}

void announce_one(Plugin& p, uint32_t frame, LV2_URID key, LV2_URID type, const void* body, uint32_t size) {
  LV2_Atom_Forge_Frame object;
  lv2_atom_forge_frame_time(&p.forge, frame);
  lv2_atom_forge_object(&p.forge, &object, 0, p.uris.patch_set);
  lv2_atom_forge_key(&p.forge, p.uris.patch_property);
  lv2_atom_forge_urid(&p.forge, key);
  lv2_atom_forge_key(&p.forge, p.uris.patch_value);
  lv2_atom_forge_atom(&p.forge, size, type);
  lv2_atom_forge_write(&p.forge, body, size);
  lv2_atom_forge_pop(&p.forge, &object);
}

// patch:Set of every parameter on the output (a notify port: lv2:control), so that the host shows
// what the plugin holds: at the first run() after restore(), and whenever asked by patch:Get.
void announce(Plugin& p, uint32_t frame) {
  const Uris& u = p.uris;
  const Settings& s = p.settings;
  if (p.build.path[0] != '\0')
    announce_one(p, frame, u.checkpoint, u.path, p.build.path, static_cast<uint32_t>(std::strlen(p.build.path) + 1));
  announce_one(p, frame, u.temperature, u.number_float, &s.temperature, sizeof s.temperature);
  announce_one(p, frame, u.top_p, u.number_float, &s.top_p, sizeof s.top_p);
  announce_one(p, frame, u.bars, u.number_int, &s.bars, sizeof s.bars);
  announce_one(p, frame, u.seed, u.number_int, &s.seed, sizeof s.seed);
  announce_one(p, frame, u.mode, u.number_int, &s.mode, sizeof s.mode);
  p.announce = false;
}

void on_object(Plugin& p, const LV2_Atom_Object* object, uint32_t frame) {
  const Uris& u = p.uris;
  if (object->body.otype == u.patch_set) {
    const LV2_Atom *property = nullptr, *value = nullptr;
    lv2_atom_object_get(object, u.patch_property, &property, u.patch_value, &value, 0);
    if (property && value && property->type == u.urid)
      set_property(p, reinterpret_cast<const LV2_Atom_URID*>(property)->body, value);
  } else if (object->body.otype == u.patch_get) {
    announce(p, frame);  // a host's UI asks for the values
  } else if (object->body.otype == u.time_position) {
    set_position(p, object, frame);
  }
}

// After the block: a replaced engine to free, the next engine to build, the engine to step.
void ask_worker(Plugin& p) {
  auto ask = [&p](const void* job, size_t size) {
    return p.schedule->schedule_work(p.schedule->handle, static_cast<uint32_t>(size), job) == LV2_WORKER_SUCCESS;
  };
  if (const EngineJob job{Job::free, p.retiring}; p.retiring && ask(&job, sizeof job)) p.retiring = nullptr;
  if (p.engine_wanted && !p.building && !p.retiring) {
    p.build.settings = p.settings;
    p.build.tempo = p.tempo;
    // Only the path's bytes travel.
    p.building = ask(&p.build, offsetof(BuildJob, path) + std::strlen(p.build.path) + 1);
    if (p.building) p.engine_wanted = p.build.reload = false;
  }
  if (const EngineJob job{Job::step, p.engine}; p.engine && !p.stepping) p.stepping = ask(&job, sizeof job);
}

void run(LV2_Handle handle, uint32_t frames) {
  Plugin& p = *static_cast<Plugin*>(handle);
  lv2_atom_forge_set_buffer(&p.forge, reinterpret_cast<uint8_t*>(p.out), p.out->atom.size);
  LV2_Atom_Forge_Frame sequence;
  lv2_atom_forge_sequence_head(&p.forge, &sequence, 0);
  ForgeSink sink(p, frames);
  p.last_frame = 0;
  if (p.announce) announce(p, 0);
  if (p.retiring) p.retiring->session->silence(seconds_at(p, 0), sink);  // note-offs for what it left sounding
  const uint32_t last = frames > 0 ? frames - 1 : 0;
  LV2_ATOM_SEQUENCE_FOREACH(p.in, event) {
    const auto frame = static_cast<uint32_t>(std::clamp<int64_t>(event->time.frames, p.last_frame, last));
    tick_until(p, frame, sink);
    p.last_frame = frame;
    if (event->body.type == p.uris.midi_event) {
      lv2_atom_forge_frame_time(&p.forge, frame);  // the player's MIDI passes through unchanged
      lv2_atom_forge_write(&p.forge, &event->body, sizeof(LV2_Atom) + event->body.size);
      if (p.engine)
        p.engine->session->midi_in(static_cast<const uint8_t*>(LV2_ATOM_BODY_CONST(&event->body)), event->body.size,
                                   seconds_at(p, frame));
    } else if (event->body.type == p.uris.object) {
      on_object(p, reinterpret_cast<const LV2_Atom_Object*>(&event->body), frame);
    }
    tick_until(p, frame + 1, sink);  // an answer cut by this event ends at its frame
  }
  tick_until(p, frames, sink);
  lv2_atom_forge_pop(&p.forge, &sequence);
  p.frame += frames;
  ask_worker(p);
}

LV2_Handle instantiate(const LV2_Descriptor*, double sample_rate, const char*, const LV2_Feature* const* features) {
  auto p = std::make_unique<Plugin>();
  LV2_Log_Log* log = nullptr;
  for (int k = 0; features && features[k]; ++k) {
    const std::string uri = features[k]->URI;
    if (uri == LV2_URID__map) p->map = static_cast<LV2_URID_Map*>(features[k]->data);
    if (uri == LV2_WORKER__schedule) p->schedule = static_cast<LV2_Worker_Schedule*>(features[k]->data);
    if (uri == LV2_LOG__log) log = static_cast<LV2_Log_Log*>(features[k]->data);
  }
  if (!p->map || !p->schedule) return nullptr;  // both are lv2:requiredFeature in legato.ttl
  lv2_log_logger_init(&p->logger, p->map, log);
  p->uris = map_uris(p->map);
  lv2_atom_forge_init(&p->forge, p->map);
  p->sample_rate = sample_rate;
  return p.release();
}

void connect_port(LV2_Handle handle, uint32_t port, void* data) {
  Plugin& p = *static_cast<Plugin*>(handle);
  if (port == 0) p.in = static_cast<const LV2_Atom_Sequence*>(data);
  if (port == 1) p.out = static_cast<LV2_Atom_Sequence*>(data);
}

// Jobs still with the worker are the host's to finish first; what is left here is ours.
void cleanup(LV2_Handle handle) {
  Plugin* p = static_cast<Plugin*>(handle);
  delete p->engine;
  delete p->retiring;
  delete p;
}

const void* extension_data(const char* uri) {
  static const LV2_Worker_Interface worker{work, work_response, nullptr};
  static const LV2_State_Interface state{save, restore};
  if (std::strcmp(uri, LV2_WORKER__interface) == 0) return &worker;
  if (std::strcmp(uri, LV2_STATE__interface) == 0) return &state;
  return nullptr;
}

}  // namespace
}  // namespace legato::plugin

extern "C" LV2_SYMBOL_EXPORT const LV2_Descriptor* lv2_descriptor(uint32_t index) {
  using namespace legato::plugin;
  static const LV2_Descriptor descriptor{kUri, instantiate, connect_port, nullptr,
                                         run,  nullptr,     cleanup,      extension_data};
  return index == 0 ? &descriptor : nullptr;
}
