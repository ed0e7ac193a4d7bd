// kill -9 at random moments of a real trainer process: with --checkpoint-every, --resume goes on
// from the middle of an epoch and still ends with the uninterrupted run's weights, bit for bit.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/safetensors.h"
#include "small_corpus.h"
#include "small_training.h"
#include "test_render_process.h"
#include "train/trainer.h"

extern char** environ;

using namespace legato;
using legato::testing::temp_dir;

namespace {

// Starts build/bin/trainer with its output in `log`; returns the process id.
pid_t start_trainer(std::vector<std::string> args, const std::filesystem::path& log) {
  args.insert(args.begin(), std::string(LEGATO_BIN_DIR) + "/trainer");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE_MESSAGE(error == 0, "cannot start " << argv[0]);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Kills `pid` with SIGKILL as soon as its state file says it stands inside an epoch; returns how
// the process ended (-SIGKILL, or its exit code when it finished first).
int kill_inside_epoch(pid_t pid, const std::filesystem::path& out) {
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (testing::saved_batch(out) > 0) break;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  return wait_for(pid);
}

}  // namespace

TEST_CASE("trainer: kill -9 at random moments, then --resume: the uninterrupted run's weights bit for bit") {
  const auto data = testing::write_small_corpus("kill_corpus");
  const auto work = temp_dir("kill");
  // A run of about a second with a checkpoint every 30 ms: most kills land mid-epoch.
  const std::vector<std::string> run = {"--preset",
                                        "tiny",
                                        "--data",
                                        data.string(),
                                        "--hidden",
                                        "16",
                                        "--layers",
                                        "2",
                                        "--embedding",
                                        "4",
                                        "--seq-len",
                                        "12",
                                        "--batch",
                                        "2",
                                        "--epochs",
                                        "5",
                                        "--val-split",
                                        "0.34",
                                        "--checkpoint-every",
                                        "0.0005",
                                        "--eval-pieces",  // the music measured at epoch ends would take
                                        "0"};             // most of the run: kills must land in training
  auto with_out = [&](const std::filesystem::path& out, bool resume, bool often = false) {
    std::vector<std::string> args = run;
    args.insert(args.end(), {"--out", out.string()});
    if (resume) args.push_back("--resume");
    // A checkpoint between almost any two batches (1.2 ms): slow (their writes take most of the
    // run) but sure to leave one inside an epoch, however fast the machine.
    if (often) *(std::find(args.begin(), args.end(), "--checkpoint-every") + 1) = "0.00002";
    return args;
  };

  const auto straight = work / "straight";
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE(wait_for(start_trainer(with_out(straight, false), work / "straight.log")) == 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto expected = testing::weights_of(straight / "last.safetensors");

  std::mt19937 rng(16);
  // 3 kills at random moments; then, until one lands mid-epoch (up to 10 kills in all), runs that
  // checkpoint between almost every two batches, killed as soon as a checkpoint inside an epoch is
  // on disk. Where a random kill lands depends on the machine (a fast one can finish its epochs
  // between two 30 ms checkpoints: CI once saw 10 random kills and no mid-epoch resume), so the
  // mid-epoch case is made to happen rather than hoped for.
  int mid_epoch_resumes = 0, attempt = 0;
  for (; attempt < 10 && (attempt < 3 || mid_epoch_resumes == 0); ++attempt) {
    const auto out = work / ("killed" + std::to_string(attempt));
    const auto log = work / ("killed" + std::to_string(attempt) + ".log");
    const bool targeted = attempt >= 3;
    const pid_t pid = start_trainer(with_out(out, false, targeted), log);
    int killed = 0;
    if (!targeted) {
      const double kill_at = std::uniform_real_distribution<double>(0.15, 0.85)(rng) * seconds;
      CAPTURE(kill_at);
      std::this_thread::sleep_for(std::chrono::duration<double>(kill_at));
      ::kill(pid, SIGKILL);
      killed = wait_for(pid);
    } else {
      killed = kill_inside_epoch(pid, out);
    }
    // Killed before its first checkpoint, a run starts again as a user would start it.
    const bool has_state = std::filesystem::exists(model::train_state_file(out));
    std::vector<std::string> again = with_out(out, has_state, targeted);
    // Without a state file the killed run may still have left its settings and cache: a fresh run
    // into that folder is refused unless told to replace it, as the trainer tells the user.
    if (!has_state) again.push_back("--overwrite");
    REQUIRE(wait_for(start_trainer(again, log)) == 0);
    const std::string said = testing::slurp(log);
    CAPTURE(said);
    if (killed == -SIGKILL && said.find("resuming at epoch") != std::string::npos &&
        said.find(", batch 0\n") == std::string::npos)
      ++mid_epoch_resumes;
    CHECK(testing::weights_of(out / "last.safetensors") == expected);
    CHECK(testing::weights_of(out / "best.safetensors") == testing::weights_of(straight / "best.safetensors"));
  }
  // The periodic checkpoints are what made these resumes start inside an epoch.
  INFO(attempt << " kills");
  CHECK(mid_epoch_resumes >= 1);
  for (const auto& dir : {data, work}) std::filesystem::remove_all(dir);
}
