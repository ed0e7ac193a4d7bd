// What a host's session keeps of the plugin (LV2 state): every setting and the checkpoint's path,
// which restore() hands to the next run(): the worker loads it, as it loads a path the host sets.
#include <lv2/atom/atom.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "plugin/instance.h"

namespace legato::plugin {

namespace {

const LV2_Feature* feature(const LV2_Feature* const* features, const char* uri) {
  for (int k = 0; features && features[k]; ++k)
    if (std::strcmp(features[k]->URI, uri) == 0) return features[k];
  return nullptr;
}

void store_path(Plugin& p, LV2_State_Store_Function store, LV2_State_Handle state, const LV2_Feature* const* features) {
  std::lock_guard lock(p.worker_mutex);
  if (p.checkpoint_path.empty()) return;
  const LV2_Feature* map_feature = feature(features, LV2_STATE__mapPath);
  const LV2_Feature* free_feature = feature(features, LV2_STATE__freePath);
  auto* map_path = map_feature ? static_cast<LV2_State_Map_Path*>(map_feature->data) : nullptr;
  // The host may store the path relative to its session (state:mapPath), so that sessions move.
  char* abstract = map_path ? map_path->abstract_path(map_path->handle, p.checkpoint_path.c_str()) : nullptr;
  const char* value = abstract ? abstract : p.checkpoint_path.c_str();
  store(state, p.uris.checkpoint, value, std::strlen(value) + 1, p.uris.path, LV2_STATE_IS_POD);
  if (!abstract) return;
  if (free_feature) {
    auto* free_path = static_cast<LV2_State_Free_Path*>(free_feature->data);
    free_path->free_path(free_path->handle, abstract);
  } else {
    std::free(abstract);
  }
}

}  // namespace

LV2_State_Status save(LV2_Handle handle, LV2_State_Store_Function store, LV2_State_Handle state, uint32_t,
                      const LV2_Feature* const* features) {
  Plugin& p = *static_cast<Plugin*>(handle);
  const Uris& u = p.uris;
  const uint32_t flags = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
  store(state, u.temperature, &p.settings.temperature, sizeof(float), u.number_float, flags);
  store(state, u.top_p, &p.settings.top_p, sizeof(float), u.number_float, flags);
  store(state, u.bars, &p.settings.bars, sizeof(int32_t), u.number_int, flags);
  store(state, u.seed, &p.settings.seed, sizeof(int32_t), u.number_int, flags);
  store(state, u.mode, &p.settings.mode, sizeof(int32_t), u.number_int, flags);
  store_path(p, store, state, features);
  return LV2_STATE_SUCCESS;
}

namespace {

template <typename T>
void retrieve_number(LV2_State_Retrieve_Function retrieve, LV2_State_Handle state, LV2_URID key, LV2_URID type,
                     T& into) {
  size_t size = 0;
  uint32_t found_type = 0, flags = 0;
  const void* value = retrieve(state, key, &size, &found_type, &flags);
  if (value && found_type == type && size == sizeof(T)) std::memcpy(&into, value, sizeof(T));
}

}  // namespace

LV2_State_Status restore(LV2_Handle handle, LV2_State_Retrieve_Function retrieve, LV2_State_Handle state, uint32_t,
                         const LV2_Feature* const* features) {
  Plugin& p = *static_cast<Plugin*>(handle);
  const Uris& u = p.uris;
  retrieve_number(retrieve, state, u.temperature, u.number_float, p.settings.temperature);
  retrieve_number(retrieve, state, u.top_p, u.number_float, p.settings.top_p);
  retrieve_number(retrieve, state, u.bars, u.number_int, p.settings.bars);
  retrieve_number(retrieve, state, u.seed, u.number_int, p.settings.seed);
  retrieve_number(retrieve, state, u.mode, u.number_int, p.settings.mode);
  p.engine_wanted = p.announce = true;  // the next run() asks the worker for the engine, and tells the host
  size_t size = 0;
  uint32_t type = 0, flags = 0;
  const auto* path = static_cast<const char*>(retrieve(state, u.checkpoint, &size, &type, &flags));
  if (!path || type != u.path) return LV2_STATE_SUCCESS;
  const LV2_Feature* map_feature = feature(features, LV2_STATE__mapPath);
  auto* map_path = map_feature ? static_cast<LV2_State_Map_Path*>(map_feature->data) : nullptr;
  char* absolute = map_path ? map_path->absolute_path(map_path->handle, path) : nullptr;
  const std::string chosen = absolute ? absolute : path;
  std::free(absolute);
  if (chosen.size() >= kMaxPath) {
    log_error(p, chosen.substr(0, 80) + "...: the checkpoint's path is too long; MIDI passes through unanswered");
    return LV2_STATE_SUCCESS;
  }
  std::memcpy(p.build.path, chosen.c_str(), chosen.size() + 1);
  p.build.reload = true;
  std::lock_guard lock(p.worker_mutex);
  p.checkpoint_path = chosen;  // what save() keeps, before the worker has loaded it
  return LV2_STATE_SUCCESS;
}

}  // namespace legato::plugin
