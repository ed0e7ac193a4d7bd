#include "lv2_host.h"

#include <lv2/atom/util.h>
#include <lv2/midi/midi.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/time/time.h>

#include <chrono>
#include <cstdarg>
#include <cstring>
#include <stdexcept>

#include "alloc_counter.h"

namespace legato::testing {

// The C callbacks the plugin calls, each handed the host through its `handle`.
struct Lv2HostCallbacks {
  static LV2_URID map(LV2_URID_Map_Handle handle, const char* uri) { return static_cast<Lv2Host*>(handle)->map(uri); }
  static const char* unmap(LV2_URID_Unmap_Handle handle, LV2_URID urid) {
    return static_cast<Lv2Host*>(handle)->unmap(urid);
  }
  // From run(): the job is copied into a fixed buffer, as a host's lock-free ring would.
  static LV2_Worker_Status schedule(LV2_Worker_Schedule_Handle handle, uint32_t size, const void* data) {
    auto& host = *static_cast<Lv2Host*>(handle);
    if (host.jobs_used_ + sizeof size + size > host.jobs_.size()) return LV2_WORKER_ERR_NO_SPACE;
    std::memcpy(host.jobs_.data() + host.jobs_used_, &size, sizeof size);
    std::memcpy(host.jobs_.data() + host.jobs_used_ + sizeof size, data, size);
    host.jobs_used_ += sizeof size + size;
    return LV2_WORKER_SUCCESS;
  }
  static LV2_Worker_Status respond(LV2_Worker_Respond_Handle handle, uint32_t size, const void* data) {
    const auto* bytes = static_cast<const uint8_t*>(data);
    static_cast<Lv2Host*>(handle)->replies_.emplace_back(bytes, bytes + size);
    return LV2_WORKER_SUCCESS;
  }
  static int vprintf(LV2_Log_Handle handle, LV2_URID, const char* format, va_list args) {
    char line[1024];
    const int n = std::vsnprintf(line, sizeof line, format, args);
    static_cast<Lv2Host*>(handle)->log_.emplace_back(line);
    return n;
  }
  static int printf(LV2_Log_Handle handle, LV2_URID type, const char* format, ...) {
    va_list args;
    va_start(args, format);
    const int n = vprintf(handle, type, format, args);
    va_end(args);
    return n;
  }
  static const void* no_port_value(const char*, void*, uint32_t* size, uint32_t* type) {
    *size = *type = 0;
    return nullptr;  // the plugin has no control ports: all it keeps is its own state
  }
};

Lv2Host::Lv2Host(double beats_per_minute) : in_(1 << 13), out_(1 << 13), beats_per_minute_(beats_per_minute) {
  using C = Lv2HostCallbacks;
  map_ = {this, C::map};
  unmap_ = {this, C::unmap};
  schedule_ = {this, C::schedule};
  log_feature_ = {this, C::printf, C::vprintf};
  features_[0] = {LV2_URID__map, &map_};
  features_[1] = {LV2_URID__unmap, &unmap_};
  features_[2] = {LV2_WORKER__schedule, &schedule_};
  features_[3] = {LV2_LOG__log, &log_feature_};
  for (int k = 0; k < 4; ++k) feature_list_[k] = &features_[k];
  world_ = lilv_world_new();
  LilvNode* bundle = lilv_new_file_uri(world_, nullptr, LEGATO_LV2_BUNDLE "/");
  lilv_world_load_specifications(world_);
  lilv_world_load_bundle(world_, bundle);
  lilv_node_free(bundle);
  LilvNode* uri = lilv_new_uri(world_, "urn:legato:lv2");
  plugin_ = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(world_), uri);
  lilv_node_free(uri);
  if (!plugin_) throw std::runtime_error("lv2 host: urn:legato:lv2 not found in " LEGATO_LV2_BUNDLE);
  instance_ = lilv_plugin_instantiate(plugin_, kRate, feature_list_);
  if (!instance_) throw std::runtime_error("lv2 host: the plugin did not instantiate");
  worker_ =
      static_cast<const LV2_Worker_Interface*>(lilv_instance_get_extension_data(instance_, LV2_WORKER__interface));
  lilv_instance_connect_port(instance_, 0, in_.data());
  lilv_instance_connect_port(instance_, 1, out_.data());
  lv2_atom_forge_init(&forge_, &map_);
  lilv_instance_activate(instance_);
}

Lv2Host::~Lv2Host() {
  lilv_instance_deactivate(instance_);
  lilv_instance_free(instance_);
  lilv_world_free(world_);
}

LV2_URID Lv2Host::map(const std::string& uri) {
  const auto [at, added] = ids_.try_emplace(uri, static_cast<LV2_URID>(uris_.size() + 1));
  if (added) uris_.push_back(uri);
  return at->second;
}

const char* Lv2Host::unmap(LV2_URID urid) const {
  return urid >= 1 && urid <= uris_.size() ? uris_[urid - 1].c_str() : nullptr;
}

// The input sequence of the next block, opened with the host's transport position at its frame 0.
void Lv2Host::begin_block() {
  auto* buffer = reinterpret_cast<uint8_t*>(in_.data());
  lv2_atom_forge_set_buffer(&forge_, buffer, in_.size() * sizeof(uint64_t));
  lv2_atom_forge_sequence_head(&forge_, &sequence_, 0);
  lv2_atom_forge_frame_time(&forge_, 0);
  LV2_Atom_Forge_Frame object;
  lv2_atom_forge_object(&forge_, &object, 0, map(LV2_TIME__Position));
  lv2_atom_forge_key(&forge_, map(LV2_TIME__frame));
  lv2_atom_forge_long(&forge_, now_);
  lv2_atom_forge_key(&forge_, map(LV2_TIME__speed));
  lv2_atom_forge_float(&forge_, rolling_ ? 1 : 0);
  lv2_atom_forge_key(&forge_, map(LV2_TIME__beatsPerMinute));
  lv2_atom_forge_float(&forge_, static_cast<float>(beats_per_minute_));
  lv2_atom_forge_key(&forge_, map(LV2_TIME__beat));
  lv2_atom_forge_double(&forge_, beat_);
  lv2_atom_forge_pop(&forge_, &object);
}

void Lv2Host::patch_set(const std::string& key, LV2_URID type, const void* body, uint32_t size) {
  begin_block();
  lv2_atom_forge_frame_time(&forge_, 0);
  LV2_Atom_Forge_Frame object;
  lv2_atom_forge_object(&forge_, &object, 0, map(LV2_PATCH__Set));
  lv2_atom_forge_key(&forge_, map(LV2_PATCH__property));
  lv2_atom_forge_urid(&forge_, map("urn:legato:lv2#" + key));
  lv2_atom_forge_key(&forge_, map(LV2_PATCH__value));
  lv2_atom_forge_atom(&forge_, size, type);
  lv2_atom_forge_write(&forge_, body, size);
  lv2_atom_forge_pop(&forge_, &object);
  run_block(kBlock);
}

void Lv2Host::set_path(const std::string& key, const std::string& path) {
  patch_set(key, map(LV2_ATOM__Path), path.c_str(), static_cast<uint32_t>(path.size() + 1));
}
void Lv2Host::set_float(const std::string& key, float value) {
  patch_set(key, map(LV2_ATOM__Float), &value, sizeof value);
}
void Lv2Host::set_int(const std::string& key, int32_t value) {
  patch_set(key, map(LV2_ATOM__Int), &value, sizeof value);
}

void Lv2Host::ask_settings() {
  begin_block();
  lv2_atom_forge_frame_time(&forge_, 0);
  LV2_Atom_Forge_Frame object;
  lv2_atom_forge_object(&forge_, &object, 0, map(LV2_PATCH__Get));
  lv2_atom_forge_pop(&forge_, &object);
  run_block(kBlock);
}

void Lv2Host::set_rolling(bool rolling) { rolling_ = rolling; }

void Lv2Host::play(const std::vector<MidiEvent>& input, int64_t frames) {
  const int64_t end = now_ + frames;
  size_t next = 0;
  while (next < input.size() && input[next].frame < now_) ++next;
  while (now_ < end) {
    const auto block = static_cast<uint32_t>(std::min<int64_t>(kBlock, end - now_));
    begin_block();
    for (; next < input.size() && input[next].frame < now_ + block; ++next) {
      lv2_atom_forge_frame_time(&forge_, input[next].frame - now_);
      lv2_atom_forge_atom(&forge_, 3, map(LV2_MIDI__MidiEvent));
      lv2_atom_forge_write(&forge_, input[next].bytes.data(), 3);
    }
    run_block(block);
  }
}

// The worker's replies, then run(), both in the audio thread's place: timed and counted.
void Lv2Host::run_block(uint32_t frames) {
  lv2_atom_forge_pop(&forge_, &sequence_);
  auto* out = reinterpret_cast<LV2_Atom_Sequence*>(out_.data());
  out->atom.type = 0;
  out->atom.size = static_cast<uint32_t>(out_.size() * sizeof(uint64_t) - sizeof(LV2_Atom));
  count_allocations(true);
  const int64_t before = allocations_counted();
  const auto start = std::chrono::steady_clock::now();
  for (const auto& reply : replies_)
    worker_->work_response(lilv_instance_get_handle(instance_), static_cast<uint32_t>(reply.size()), reply.data());
  lilv_instance_run(instance_, frames);
  const auto stop = std::chrono::steady_clock::now();
  allocations_ += allocations_counted() - before;
  count_allocations(false);
  replies_.clear();
  run_seconds_.push_back(std::chrono::duration<double>(stop - start).count());
  LV2_ATOM_SEQUENCE_FOREACH(out, event) collect(*event);
  now_ += frames;
  if (rolling_) beat_ += frames / kRate * beats_per_minute_ / 60;
  do_work();
}

// An output event: a 3-byte MIDI message, or a patch:Set the plugin tells the host.
void Lv2Host::collect(const LV2_Atom_Event& event) {
  if (event.body.type == map(LV2_MIDI__MidiEvent) && event.body.size == 3) {
    const auto* bytes = static_cast<const uint8_t*>(LV2_ATOM_BODY_CONST(&event.body));
    output_.push_back({now_ + event.time.frames, {bytes[0], bytes[1], bytes[2]}});
    return;
  }
  if (event.body.type != map(LV2_ATOM__Object)) return;
  const auto* object = reinterpret_cast<const LV2_Atom_Object*>(&event.body);
  const LV2_Atom *property = nullptr, *value = nullptr;
  lv2_atom_object_get(object, map(LV2_PATCH__property), &property, map(LV2_PATCH__value), &value, 0);
  if (object->body.otype != map(LV2_PATCH__Set) || !property || !value) return;
  const std::string key = unmap(reinterpret_cast<const LV2_Atom_URID*>(property)->body);
  std::string text;
  if (value->type == map(LV2_ATOM__Path)) text = static_cast<const char*>(LV2_ATOM_BODY_CONST(value));
  if (value->type == map(LV2_ATOM__Float)) text = std::to_string(reinterpret_cast<const LV2_Atom_Float*>(value)->body);
  if (value->type == map(LV2_ATOM__Int)) text = std::to_string(reinterpret_cast<const LV2_Atom_Int*>(value)->body);
  announced_.emplace_back(key.substr(key.find('#') + 1), text);
}

void Lv2Host::do_work() {
  for (size_t at = 0; at < jobs_used_;) {
    uint32_t size = 0;
    std::memcpy(&size, jobs_.data() + at, sizeof size);
    worker_->work(lilv_instance_get_handle(instance_), Lv2HostCallbacks::respond, this, size,
                  jobs_.data() + at + sizeof size);
    at += sizeof size + size;
  }
  jobs_used_ = 0;
}

std::string Lv2Host::save_state() {
  LilvState* state = lilv_state_new_from_instance(plugin_, instance_, &map_, nullptr, nullptr, nullptr, nullptr,
                                                  Lv2HostCallbacks::no_port_value, nullptr, 0, feature_list_);
  char* turtle = lilv_state_to_string(world_, &map_, &unmap_, state, "urn:legato:test-state", nullptr);
  std::string text = turtle;
  lilv_free(turtle);
  lilv_state_free(state);
  return text;
}

void Lv2Host::save_state_dir(const std::string& dir) {
  LilvState* state = lilv_state_new_from_instance(plugin_, instance_, &map_, nullptr, nullptr, nullptr, dir.c_str(),
                                                  Lv2HostCallbacks::no_port_value, nullptr, 0, feature_list_);
  const int failed = lilv_state_save(world_, &map_, &unmap_, state, nullptr, dir.c_str(), "state.ttl");
  lilv_state_free(state);
  if (failed) throw std::runtime_error("lv2 host: cannot save the state into " + dir);
}

void Lv2Host::restore_state(const std::string& turtle) {
  LilvState* state = lilv_state_new_from_string(world_, &map_, turtle.c_str());
  if (!state) throw std::runtime_error("lv2 host: the saved state does not parse");
  lilv_state_restore(state, instance_, nullptr, nullptr, 0, feature_list_);
  lilv_state_free(state);
}

}  // namespace legato::testing
