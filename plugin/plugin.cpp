// The LV2 glue of legato.lv2: ports, the host's messages (MIDI, patch:Set, time:Position), the
// worker that loads checkpoints and composes, and the state a session keeps. run() hands every
// slow thing to the worker through the host's lock-free queue (LV2 worker extension).
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

#include <omp.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "plugin/instance.h"

namespace legato::plugin {

Uris map_uris(LV2_URID_Map* map) {
  auto m = [map](const std::string& uri) { return map->map(map->handle, uri.c_str()); };
  const std::string own = std::string(kUri) + "#";
  return {m(LV2_MIDI__MidiEvent), m(LV2_ATOM__Object), m(LV2_ATOM__Path),     m(LV2_ATOM__Float),
          m(LV2_ATOM__Int),       m(LV2_ATOM__Double), m(LV2_ATOM__Long),     m(LV2_PATCH__Set),
          m(LV2_PATCH__property), m(LV2_PATCH__value), m(LV2_TIME__Position), m(LV2_TIME__beatsPerMinute),
          m(LV2_TIME__speed),     m(LV2_TIME__beat),   m(own + "checkpoint"), m(own + "temperature"),
          m(own + "top_p"),       m(own + "bars"),     m(own + "seed"),       m(own + "mode")};
}

namespace {

struct ForgeSink final : MidiSink {
  LV2_Atom_Forge* forge;
  LV2_URID midi_event;
  ForgeSink(LV2_Atom_Forge* f, LV2_URID m) : forge(f), midi_event(m) {}
  void send(uint32_t frame, uint8_t status, uint8_t data1, uint8_t data2) override {
    const uint8_t bytes[3] = {status, data1, data2};
    lv2_atom_forge_frame_time(forge, frame);
    lv2_atom_forge_atom(forge, 3, midi_event);
    lv2_atom_forge_write(forge, bytes, 3);
  }
};

double number(const Uris& u, const LV2_Atom* atom) {
  if (atom->type == u.number_float) return reinterpret_cast<const LV2_Atom_Float*>(atom)->body;
  if (atom->type == u.number_double) return reinterpret_cast<const LV2_Atom_Double*>(atom)->body;
  if (atom->type == u.number_int) return reinterpret_cast<const LV2_Atom_Int*>(atom)->body;
  if (atom->type == u.number_long) return static_cast<double>(reinterpret_cast<const LV2_Atom_Long*>(atom)->body);
  return 0;
}

// A setting from patch:Set; the checkpoint path goes to the worker to be loaded.
void set_property(Plugin& p, LV2_URID key, const LV2_Atom* value) {
  const Uris& u = p.uris;
  if (key == u.checkpoint && value->type == u.path && value->size < kMaxPath) {
    std::memcpy(p.load.path, LV2_ATOM_BODY_CONST(value), value->size);
    p.load.path[value->size] = '\0';
    p.schedule->schedule_work(p.schedule->handle, static_cast<uint32_t>(sizeof(Job) + value->size + 1), &p.load);
    return;
  }
  if (value->type != u.number_float && value->type != u.number_int && value->type != u.number_double &&
      value->type != u.number_long)
    return;
  const double x = number(u, value);
  if (key == u.temperature) p.settings.temperature = static_cast<float>(std::clamp(x, 0.05, 2.0));
  if (key == u.top_p) p.settings.top_p = static_cast<float>(std::clamp(x, 0.05, 1.0));
  if (key == u.bars) p.settings.bars = static_cast<int32_t>(std::clamp(x, 1.0, 16.0));
  if (key == u.seed) p.settings.seed = static_cast<int32_t>(std::clamp(x, 0.0, 1e6));
  if (key == u.mode) p.settings.mode = x >= 0.5 ? 1 : 0;
  p.performer.set_continue(p.settings.mode == 1);
}

void on_object(Plugin& p, const LV2_Atom_Object* object, uint32_t frame, MidiSink& sink) {
  const Uris& u = p.uris;
  if (object->body.otype == u.patch_set) {
    const LV2_Atom *property = nullptr, *value = nullptr;
    lv2_atom_object_get(object, u.patch_property, &property, u.patch_value, &value, 0);
    if (property && value && property->type == p.forge.URID)
      set_property(p, reinterpret_cast<const LV2_Atom_URID*>(property)->body, value);
  } else if (object->body.otype == u.time_position) {
    const LV2_Atom *bpm = nullptr, *speed = nullptr, *beat = nullptr;
    lv2_atom_object_get(object, u.time_bpm, &bpm, u.time_speed, &speed, u.time_beat, &beat, 0);
    if (bpm) p.performer.set_tempo(number(u, bpm), p.sample_rate);
    if (speed && beat) p.performer.set_transport(number(u, speed) != 0, number(u, beat), frame, sink);
  }
}

void run(LV2_Handle handle, uint32_t frames) {
  Plugin& p = *static_cast<Plugin*>(handle);
  lv2_atom_forge_set_buffer(&p.forge, reinterpret_cast<uint8_t*>(p.out), p.out->atom.size);
  LV2_Atom_Forge_Frame sequence;
  lv2_atom_forge_sequence_head(&p.forge, &sequence, 0);
  ForgeSink sink(&p.forge, p.uris.midi_event);
  uint32_t now = 0;
  LV2_ATOM_SEQUENCE_FOREACH(p.in, event) {
    const auto frame = static_cast<uint32_t>(std::clamp<int64_t>(event->time.frames, now, frames));
    p.performer.advance(now, frame, sink);
    now = frame;
    if (event->body.type == p.uris.midi_event) {
      lv2_atom_forge_frame_time(&p.forge, frame);  // the player's MIDI passes through unchanged
      lv2_atom_forge_write(&p.forge, &event->body, sizeof(LV2_Atom) + event->body.size);
      if (p.model_ready)
        p.performer.heard(static_cast<const uint8_t*>(LV2_ATOM_BODY_CONST(&event->body)), event->body.size, frame,
                          sink);
    } else if (event->body.type == p.uris.object) {
      on_object(p, reinterpret_cast<const LV2_Atom_Object*>(&event->body), frame, sink);
    }
  }
  p.performer.advance(now, frames, sink);
  lv2_atom_forge_pop(&p.forge, &sequence);
  if (p.performer.take_request(p.job.request)) {
    p.job.settings = p.settings;
    p.schedule->schedule_work(p.schedule->handle, sizeof(ComposeJob), &p.job);
  }
}

}  // namespace

void log_error(Plugin& p, const std::string& message) {
  if (p.logger.log) lv2_log_error(&p.logger, "legato: %s\n", message.c_str());
}

bool load_checkpoint(Plugin& p, const std::string& path) {
  std::lock_guard lock(p.worker_mutex);
  p.checkpoint_path = path;  // kept even when bad: the session names the file the user chose
  try {
    p.answerer = std::make_unique<Answerer>(path);
    return true;
  } catch (const std::exception& e) {
    p.answerer.reset();
    log_error(p, std::string(e.what()) + "; MIDI passes through unanswered");
    return false;
  }
}

namespace {

void compose(Plugin& p, const ComposeJob& job, ComposeDone& done) {
  std::lock_guard lock(p.worker_mutex);
  if (!p.answerer) return;
  const AnswerSettings settings{job.settings.temperature, job.settings.top_p, job.settings.bars,
                                static_cast<uint64_t>(job.settings.seed)};
  const PhraseRequest& r = job.request;
  const Answer answer = r.more ? p.answerer->go_on(settings)
                               : p.answerer->answer({r.notes.begin(), r.notes.begin() + r.count}, r.start, settings);
  done.reply.generation = r.generation;
  done.reply.start = r.at;
  done.reply.length = answer.length;
  done.reply.count = static_cast<int32_t>(std::min<size_t>(answer.notes.size(), kMaxAnswerNotes));
  std::copy_n(answer.notes.begin(), done.reply.count, done.reply.notes.begin());
}

LV2_Worker_Status work(LV2_Handle handle, LV2_Worker_Respond_Function respond, LV2_Worker_Respond_Handle target,
                       uint32_t size, const void* data) {
  Plugin& p = *static_cast<Plugin*>(handle);
  // One thread: OpenMP's team would spin on the cores the host's audio threads need, and a
  // network of one step a token gains little from more.
  omp_set_num_threads(1);
  Job type;
  std::memcpy(&type, data, sizeof type);
  try {
    if (type == Job::load) {
      LoadJob job;
      std::memcpy(&job, data, std::min<size_t>(size, sizeof job));
      job.path[kMaxPath - 1] = '\0';
      LoadDone done;
      done.ok = load_checkpoint(p, job.path);
      return respond(target, sizeof done, &done);
    }
    auto job = std::make_unique<ComposeJob>();
    std::memcpy(job.get(), data, std::min<size_t>(size, sizeof(ComposeJob)));
    auto done = std::make_unique<ComposeDone>();
    compose(p, *job, *done);
    // An empty answer is not sent: in continue mode it ends the chain of answers.
    return done->reply.count > 0 ? respond(target, sizeof(ComposeDone), done.get()) : LV2_WORKER_SUCCESS;
  } catch (const std::exception& e) {  // never into the host
    log_error(p, std::string("composing failed: ") + e.what());
    return LV2_WORKER_ERR_UNKNOWN;
  }
}

// In the audio thread, between runs: a reply copied into the plugin's own aligned buffer.
LV2_Worker_Status work_response(LV2_Handle handle, uint32_t size, const void* data) {
  Plugin& p = *static_cast<Plugin*>(handle);
  Job type;
  std::memcpy(&type, data, sizeof type);
  if (type == Job::load) {
    LoadDone done;
    std::memcpy(&done, data, std::min<size_t>(size, sizeof done));
    p.model_ready = done.ok;
  } else {
    std::memcpy(&p.done, data, std::min<size_t>(size, sizeof p.done));
    p.performer.accept(p.done.reply);
  }
  return LV2_WORKER_SUCCESS;
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

void cleanup(LV2_Handle handle) { delete static_cast<Plugin*>(handle); }

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
