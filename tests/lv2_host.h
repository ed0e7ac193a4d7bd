#pragma once
// A small LV2 host on lilv for the plugin's tests: it loads the built bundle, instantiates the
// plugin with URID map, worker and log, feeds its input port block by block (MIDI, patch:Set,
// time:Position) and collects its output. The worker runs between blocks on the host's thread,
// as a non-threaded jalv does; its replies reach the plugin before the next run(), in the audio
// thread's place, where allocations are counted as run()'s are.
#include <lilv/lilv.h>
#include <lv2/atom/forge.h>
#include <lv2/log/log.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace legato::testing {

struct MidiEvent {
  int64_t frame;  // from the start of the run
  std::array<uint8_t, 3> bytes;
  bool operator==(const MidiEvent&) const = default;
};

class Lv2Host {
 public:
  static constexpr double kRate = 48000;
  static constexpr uint32_t kBlock = 256;

  explicit Lv2Host(double beats_per_minute = 120);
  ~Lv2Host();
  Lv2Host(const Lv2Host&) = delete;
  Lv2Host& operator=(const Lv2Host&) = delete;

  void set_path(const std::string& key, const std::string& path);  // patch:Set of an atom:Path
  void set_float(const std::string& key, float value);
  void set_int(const std::string& key, int32_t value);
  void ask_settings();  // patch:Get, as a host's UI asks when it opens
  // The host's transport: stopped, its position stays where it stopped.
  void set_rolling(bool rolling);
  // The host's tempo from the next block on (its beat goes on from where it is).
  void set_tempo(double beats_per_minute) { beats_per_minute_ = beats_per_minute; }
  double beat() const { return beat_; }  // the transport's position at the next block's start
  // Runs blocks until `frames` have passed, the MIDI of `input` (by frame) fed at its frames.
  void play(const std::vector<MidiEvent>& input, int64_t frames);

  std::string save_state();  // the plugin's state as Turtle
  // The plugin's state saved as a host saves it: `dir`/state.ttl and its manifest (jalv -l DIR).
  // A file the state names belongs inside `dir` (lilv replaces one outside it by a link there).
  void save_state_dir(const std::string& dir);
  void restore_state(const std::string& turtle);

  int64_t now() const { return now_; }
  const std::vector<MidiEvent>& output() const { return output_; }
  // The patch:Set messages the plugin sent (its parameters told to the host): the property's URI
  // fragment after '#' and the value as text ("0.75", "2", a path).
  const std::vector<std::pair<std::string, std::string>>& announced() const { return announced_; }
  const std::vector<std::string>& log() const { return log_; }
  std::vector<double> run_seconds() const { return run_seconds_; }
  int64_t run_allocations() const { return allocations_; }
  LV2_URID map(const std::string& uri);
  const char* unmap(LV2_URID urid) const;

 private:
  void begin_block();
  void run_block(uint32_t frames);
  void collect(const LV2_Atom_Event& event);
  void do_work();
  void patch_set(const std::string& key, LV2_URID type, const void* body, uint32_t size);
  friend struct Lv2HostCallbacks;

  LilvWorld* world_ = nullptr;
  const LilvPlugin* plugin_ = nullptr;
  LilvInstance* instance_ = nullptr;
  const LV2_Worker_Interface* worker_ = nullptr;
  std::map<std::string, LV2_URID> ids_;
  std::vector<std::string> uris_;
  LV2_URID_Map map_{};
  LV2_URID_Unmap unmap_{};
  LV2_Worker_Schedule schedule_{};
  LV2_Log_Log log_feature_{};
  LV2_Feature features_[4]{};
  const LV2_Feature* feature_list_[5]{};
  LV2_Atom_Forge forge_{};
  LV2_Atom_Forge_Frame sequence_{};
  std::vector<uint64_t> in_, out_;       // the ports' buffers, 8-byte aligned as atoms need
  std::array<uint8_t, 1 << 16> jobs_{};  // what run() schedules: copied, never allocated
  size_t jobs_used_ = 0;
  std::vector<std::vector<uint8_t>> replies_;
  double beats_per_minute_;
  int64_t now_ = 0;  // frames since the start
  bool rolling_ = true;
  double beat_ = 0;  // the transport's position at the block's start
  std::vector<MidiEvent> output_;
  std::vector<std::pair<std::string, std::string>> announced_;
  std::vector<std::string> log_;
  std::vector<double> run_seconds_;
  int64_t allocations_ = 0;
};

}  // namespace legato::testing
