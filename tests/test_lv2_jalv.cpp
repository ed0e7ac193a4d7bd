// The plugin in a real host on real JACK: jalv, on a JACK server with the dummy driver
// (tests/jack_clients.h), with a session state (checkpoint, one bar) saved by our lilv host. A test
// client plays a phrase into jalv's MIDI input as a keyboard would, and a receiver hears jalv's
// output: the phrase passed through, then the answer after two beats of silence, every note-on
// with its note-off. ctest runs it as legato_lv2_jalv (skipped, with the reason, where jalv or
// jackd is not installed).
#include <doctest/doctest.h>

#include <jack/jack.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "jack_clients.h"
#include "live_checkpoint.h"
#include "lv2_host.h"
#include "temp_dir.h"

using namespace legato;
using testing::Arrival;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_now() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

// jalv as a person starts it, with the state to load; its stdin a pipe we hold open (jalv's
// console ends at end of input). Ended with SIGTERM, as a session manager ends it.
class Jalv {
 public:
  Jalv(const std::string& client, const std::string& state_dir, const std::filesystem::path& log) {
    REQUIRE(::pipe(stdin_) == 0);
    // Our bundle first, then the specifications Debian installs (jalv needs both).
    // (A folder holding only a link to the bundle: the build folder holds much else.)
    const auto bundles = std::filesystem::path(state_dir).parent_path() / "bundles";
    std::filesystem::create_directories(bundles);
    std::filesystem::create_directory_symlink(LEGATO_LV2_BUNDLE, bundles / "legato.lv2");
    const std::string lv2_path = "LV2_PATH=" + bundles.string() + ":/usr/lib/lv2:/usr/lib/x86_64-linux-gnu/lv2";
    std::vector<std::string> env = {lv2_path};
    for (char** e = environ; *e; ++e)
      if (std::string(*e).rfind("LV2_PATH=", 0) != 0) env.push_back(*e);
    std::vector<std::string> argv = {"jalv", "-x", "-n", client, "-l", state_dir};
    std::vector<char*> args, envp;
    for (auto& a : argv) args.push_back(a.data());
    for (auto& e : env) envp.push_back(e.data());
    args.push_back(nullptr);
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, stdin_[0], 0);
    posix_spawn_file_actions_addclose(&actions, stdin_[1]);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int spawned = posix_spawnp(&pid_, "jalv", &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(stdin_[0]);
    REQUIRE(spawned == 0);
  }
  ~Jalv() {
    testing::end_process(pid_, 3000);
    ::close(stdin_[1]);
  }
  bool running() const {
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = 0;
  int stdin_[2] = {-1, -1};
};

// A JACK client that only connects ports, as a patchbay does.
class Patchbay {
 public:
  Patchbay()
      : client_(
            jack_client_open(("legato_patchbay_" + std::to_string(::getpid())).c_str(), JackNoStartServer, nullptr)) {
    REQUIRE(client_ != nullptr);
  }
  ~Patchbay() { jack_client_close(client_); }
  bool has(const std::string& port) const { return jack_port_by_name(client_, port.c_str()) != nullptr; }
  bool connect(const std::string& from, const std::string& to) {
    return jack_connect(client_, from.c_str(), to.c_str()) == 0;
  }

 private:
  jack_client_t* client_;
};

// A phrase at 120 bpm (pitch, start beat, length in beats), sent on time from now; returns when
// its last message left.
double play(testing::Sender& sender, const std::vector<std::tuple<int, double, double>>& notes) {
  std::multimap<double, std::vector<uint8_t>> events;
  for (const auto& [pitch, start, length] : notes) {
    events.insert({start * 0.5, {0x90, uint8_t(pitch), 100}});
    events.insert({(start + length) * 0.5, {0x80, uint8_t(pitch), 0}});
  }
  const double start = seconds_now() + 0.05;
  double last = start;
  for (const auto& [at, bytes] : events) {
    std::this_thread::sleep_until(
        Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(start + at))));
    last = seconds_now();
    sender.send(bytes);
  }
  return last;
}

}  // namespace

TEST_CASE("lv2 jalv: under jalv on JACK, a phrase passes through and is answered after its silence") {
  REQUIRE_MESSAGE(testing::JackServer::get().running(), testing::JackServer::get().problem());
  const auto dir = testing::temp_dir("lv2_jalv");
  // The session jalv loads, as a host saves it: the checkpoint (a file of the session's own, so
  // that the state names it relative to the session) and answers of one bar.
  const auto state_dir = dir / "session";
  std::filesystem::create_directories(state_dir);
  const auto checkpoint = testing::write_live_checkpoint(state_dir);
  {
    testing::Lv2Host host;
    host.set_path("checkpoint", checkpoint.string());
    host.set_int("bars", 1);
    REQUIRE(host.log().empty());
    host.save_state_dir(state_dir.string());
  }
  const std::string client = "legato_jalv_" + std::to_string(::getpid());
  Jalv jalv(client, state_dir.string(), dir / "jalv.log");
  Patchbay patchbay;
  for (int k = 0; k < 300 && !(patchbay.has(client + ":control") && patchbay.has(client + ":midi_out")); ++k)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  INFO("jalv said: " << testing::slurp(dir / "jalv.log"));
  REQUIRE(jalv.running());
  REQUIRE(patchbay.has(client + ":midi_out"));
  testing::Receiver receiver;
  testing::Sender sender("legato_jalv_keys_" + std::to_string(::getpid()));
  REQUIRE(patchbay.connect(sender.port(), client + ":control"));
  REQUIRE(patchbay.connect(client + ":midi_out", receiver.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the restored engine is built
  receiver.take();

  const double last = play(sender, {{60, 0, 1}, {64, 1, 1}, {67, 2, 0.5}, {72, 2.5, 1.5}});
  // Two beats of silence (1 s), a bar (2 s), its last note (at most 2 beats), and a margin.
  std::this_thread::sleep_for(std::chrono::duration<double>(5.0));
  const std::vector<Arrival> heard = receiver.take();
  int passed = 0, answered = 0;
  double first_answer = 0;
  std::map<int, int> sounding;
  for (const Arrival& a : heard) {
    if (a.bytes.size() != 3) continue;
    const int kind = a.bytes[0] & 0xF0, key = (a.bytes[0] & 15) * 128 + a.bytes[1];
    const bool on = kind == 0x90 && a.bytes[2] > 0;
    if (a.seconds <= last + 0.1) {  // the phrase, passed through as played
      passed += on;
      continue;
    }
    if (on && answered++ == 0) first_answer = a.seconds;
    if (on) ++sounding[key];
    if (kind == 0x80 || (kind == 0x90 && !on)) --sounding[key];
  }
  CHECK(passed == 4);
  REQUIRE(answered > 0);
  MESSAGE("jalv: the answer's first note " << (first_answer - last) * 1e3 << " ms after the phrase's last note-off ("
                                           << answered << " notes)");
  // The silence is two beats at jalv's tempo (120 bpm: JACK's dummy driver has no timebase).
  CHECK(first_answer - last >= 1.0 - 0.02);
  for (const auto& [key, count] : sounding) CHECK_MESSAGE(count == 0, "note " << key % 128 << " left sounding");
  CHECK(jalv.running());
  std::filesystem::remove_all(dir);
}
