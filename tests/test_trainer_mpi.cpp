// Data-parallel training (dist/, docs/distributed.md): dropout on a part of a batch, and the real
// trainer under mpirun (ctest's legato_mpi_tests; cases named "mpi: ...", skipped where mpirun is
// missing): two ranks train the weights one process trains, a rank killed with -9 stops the other
// within 30 s and the run resumes with one rank, bad setups are refused on every rank.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/ops.h"
#include "model/safetensors.h"
#include "small_corpus.h"
#include "small_training.h"
#include "test_render_process.h"
#include "train/trainer.h"

extern char** environ;

using namespace legato;
using legato::testing::temp_dir;

namespace {

// mpirun as root on a 2-core machine (more ranks than cores), one OpenMP thread per rank.
// Under the sanitizers the ranks do not look for leaks: Open MPI's components are unloaded at
// MPI_Finalize, so what they keep shows as leaks from unknown modules that no suppression can name.
// Leaks of our own code are looked for by the single-process runs of the same trainer.
#if defined(__SANITIZE_ADDRESS__)
constexpr const char* kRankSanitizer = "-x ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 ";
#else
constexpr const char* kRankSanitizer = "";
#endif
std::string mpirun(int ranks) {
  return std::string("mpirun --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=1 ") + kRankSanitizer + "-np " +
         std::to_string(ranks) + " ";
}

// False, with the reason logged, where mpirun is missing (Debian: openmpi-bin): the case is skipped.
bool mpirun_found() {
  if (std::system("command -v mpirun >/dev/null 2>&1") == 0) return true;
  MESSAGE("skipped: no mpirun (Debian: openmpi-bin)");
  return false;
}

std::string trainer() { return std::string(LEGATO_BIN_DIR) + "/trainer"; }

// The tiny preset shrunk to a test's size: 10 batches of 4 windows per epoch (20 steps in 2).
std::string tiny_run(const std::filesystem::path& data, const std::filesystem::path& out, int epochs = 2) {
  return "--preset tiny --data " + data.string() + " --out " + out.string() + " --epochs " + std::to_string(epochs) +
         " --hidden 16 --embedding 8 --seq-len 25 --batch 4 --val-split 0.34 --eval-pieces 0";
}

struct Shell {
  int status = -1;
  std::string output;  // stdout and stderr together
  double seconds = 0;
};

// `command` through the shell; its status, output and how long it took.
Shell shell(const std::string& command) {
  const auto start = std::chrono::steady_clock::now();
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot run " << command);
  Shell r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) r.output.append(buf, n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

// The lines the trainer printed itself ("trainer: ..."), not mpirun's.
int trainer_lines(const std::string& output) {
  int count = 0;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) count += line.rfind("trainer: ", 0) == 0;
  return count;
}

// The largest difference between two checkpoints' weights, as a share of atol + rtol * |b|.
double worst_ratio(const std::filesystem::path& a, const std::filesystem::path& b, double atol, double rtol) {
  const auto wa = testing::weights_of(a), wb = testing::weights_of(b);
  REQUIRE(wa.size() == wb.size());
  double worst = 0;
  for (size_t t = 0; t < wa.size(); ++t)
    for (size_t k = 0; k < wa[t].size(); ++k)
      worst = std::max(worst, std::abs(wa[t][k] - wb[t][k]) / (atol + rtol * std::abs(wb[t][k])));
  return worst;
}

// The float32 tolerance of two runs whose gradient sums add the same terms in another order
// (docs/distributed.md derives it): 20 Adam steps of lr 0.003 move a weight by at most 0.06, and
// rounding in the summation order changes each step's update by a few float32 ulps of the update,
// amplified where Adam divides by a small second moment.
constexpr double kAtol = 2e-5, kRtol = 1e-4;

// The values of column `name` of a CSV file with a header line (metrics.csv).
std::vector<double> csv_column(const std::filesystem::path& csv, const std::string& name) {
  std::istringstream in(testing::slurp(csv));
  std::string header, field;
  std::getline(in, header);
  std::istringstream names(header);
  int column = 0;
  while (std::getline(names, field, ',') && field != name) ++column;
  REQUIRE_MESSAGE(field == name, csv.string() << " has no column " << name);
  std::vector<double> values;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    for (int k = 0; k <= column; ++k) std::getline(fields, field, ',');
    REQUIRE_MESSAGE(!field.empty(), csv.string() << ": no " << name << " in " << line);
    values.push_back(std::stod(field));
  }
  return values;
}

// Starts `command` through the shell, its output appended to `log`; returns the process id.
pid_t start(const std::string& command, const std::filesystem::path& log) {
  std::string line = "exec " + command;
  std::vector<char*> argv = {const_cast<char*>("/bin/sh"), const_cast<char*>("-c"), line.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(error == 0);
  return pid;
}

// The process among `parent`'s children whose environment says it is MPI rank `rank`; -1 if none.
pid_t rank_process(pid_t parent, int rank) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const size_t paren = line.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(line.substr(paren + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid != parent) continue;
    std::ifstream env(entry.path() / "environ");
    const std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (all.find("OMPI_COMM_WORLD_RANK=" + std::to_string(rank) + '\0') != std::string::npos)
      return static_cast<pid_t>(std::stoi(name));
  }
  return -1;
}

}  // namespace

TEST_CASE("dropout: a part of a batch draws the whole batch's mask at its windows' places") {
  constexpr int64_t T = 3, B = 5, H = 7, first = 2, local = 2;
  constexpr uint64_t seed = 11, offset = 6;  // an offset not a multiple of 4: Philox's lanes split
  const Tensor whole = ops::dropout(Tensor::full({T, B, H}, 1.0, DType::F32), 0.5, true, seed, offset);
  const Tensor part = ops::dropout(Tensor::full({T, local, H}, 1.0, DType::F32), 0.5, true, seed, offset,
                                   ops::BatchSlice{B, first, local});
  // The head's form [T * local, H] draws the same elements.
  const Tensor rows = ops::dropout(Tensor::full({T * local, H}, 1.0, DType::F32), 0.5, true, seed, offset,
                                   ops::BatchSlice{B, first, local});
  int kept = 0;
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < local; ++b)
      for (int64_t h = 0; h < H; ++h) {
        const double expected = whole.at((t * B + first + b) * H + h);
        CHECK(part.at((t * local + b) * H + h) == expected);
        CHECK(rows.at((t * local + b) * H + h) == expected);
        kept += expected != 0;
      }
  CHECK(kept > 0);
  CHECK(kept < T * local * H);  // a mask, not all ones
  CHECK_THROWS_WITH_AS(
      ops::dropout(Tensor::full({T, 3, H}, 1.0, DType::F32), 0.5, true, seed, offset, ops::BatchSlice{B, 4, 3}),
      doctest::Contains("not windows [4, 7) of a batch of 5"), std::invalid_argument);
}

TEST_CASE("mpi: 2 ranks x 1 thread train the weights of 1 process x 1 thread (20 steps of tiny)") {
  if (!mpirun_found()) return;
  const auto data = testing::write_small_corpus("mpi_same_corpus");
  const auto work = temp_dir("mpi_same");
  const Shell one = shell("OMP_NUM_THREADS=1 " + trainer() + " " + tiny_run(data, work / "one"));
  INFO(one.output);
  REQUIRE(one.status == 0);
  CHECK(one.output.find("done: 20 steps") != std::string::npos);
  const Shell two = shell(mpirun(2) + trainer() + " " + tiny_run(data, work / "two"));
  INFO(two.output);
  REQUIRE(two.status == 0);
  CHECK(two.output.find("ranks: 2 (MPI, Open MPI ") != std::string::npos);
  CHECK(two.output.find("rank 0 of 2 on host ") != std::string::npos);
  CHECK(two.output.find("done: 20 steps") != std::string::npos);
  const double ratio = worst_ratio(work / "two" / "last.safetensors", work / "one" / "last.safetensors", kAtol, kRtol);
  MESSAGE("worst difference: " << ratio << " of the tolerance");
  CHECK(ratio <= 1.0);
  CHECK(std::filesystem::exists(work / "two" / "metrics.csv"));
}

// The trainer built against the CUDA emulator (it needs the toolkit's headers and Boost.Context),
// with the emulator's NCCL where nccl.h was found; "" (the reason logged) where it was not built.
std::string emulated_trainer() {
  const std::string path = std::string(LEGATO_BIN_DIR) + "/emulated/trainer";
  if (std::filesystem::exists(path)) return path;
  MESSAGE("skipped: no emulated trainer (it needs the CUDA toolkit's headers and Boost.Context)");
  return "";
}

namespace {

// 2 ranks on 2 emulated GPUs (NCCL's sum) against 1 emulated GPU, 20 steps of tiny with `dropout`
// (" --dropout P"): the same weights within the tolerance, the same validation loss.
void two_emulated_gpus_train_as_one(const std::string& name, const std::string& dropout) {
  if (!mpirun_found()) return;
  const std::string emulated = emulated_trainer();
  if (emulated.empty()) return;
  const auto data = testing::write_small_corpus(name + "_corpus");
  const auto work = temp_dir(name);
  const std::string cuda = " --device cuda" + dropout;
  const Shell one = shell("OMP_NUM_THREADS=1 " + emulated + " " + tiny_run(data, work / "one") + cuda);
  INFO(one.output);
  REQUIRE(one.status == 0);
  CHECK(one.output.find("done: 20 steps") != std::string::npos);
  // Each rank its own emulated GPU, as on a node with two.
  const Shell two =
      shell(mpirun(2) + "-x LEGATO_EMU_DEVICES=2 " + emulated + " " + tiny_run(data, work / "two") + cuda);
  INFO(two.output);
  REQUIRE(two.status == 0);
  CHECK(two.output.find("ranks: 2 (MPI, Open MPI ") != std::string::npos);
  CHECK(two.output.find("gradients summed by NCCL 2.") != std::string::npos);
  CHECK(two.output.find("done: 20 steps") != std::string::npos);
  const double ratio = worst_ratio(work / "two" / "last.safetensors", work / "one" / "last.safetensors", kAtol, kRtol);
  MESSAGE("worst difference: " << ratio << " of the tolerance");
  CHECK(ratio <= 1.0);
  // Rank 0 alone validated (the others waited for its row): the validation loss of one process's.
  const std::vector<double> val_one = csv_column(work / "one" / "metrics.csv", "val_loss"),
                            val_two = csv_column(work / "two" / "metrics.csv", "val_loss");
  REQUIRE(val_one.size() == 2);
  REQUIRE(val_two.size() == 2);
  for (size_t k = 0; k < 2; ++k) CHECK(std::abs(val_two[k] - val_one[k]) <= 1e-4 * std::abs(val_one[k]));
}

}  // namespace

TEST_CASE("mpi: 2 ranks on 2 emulated GPUs (NCCL's sum) train the weights of 1 emulated GPU (20 steps of tiny)") {
  two_emulated_gpus_train_as_one("mpi_nccl", " --dropout 0");
}

// Each rank's GPU draws its windows' dropout masks where they lie in the global batch, between
// the layers (the wavefront) and in the head, so the two ranks drop what the one GPU drops.
TEST_CASE("mpi: 2 ranks on 2 emulated GPUs with dropout train the weights of 1 emulated GPU (20 steps of tiny)") {
  two_emulated_gpus_train_as_one("mpi_nccl_dropout", " --dropout 0.3");
}

namespace {

// How a 2-rank run ended after its rank 1 was killed with -9.
struct LostRank {
  double seconds = 0;  // from the kill to the survivor's end (at most kSurvivorLimit)
  int survivor = -1;   // rank 0's exit status; -1 where it had to be killed
  std::string log;     // mpirun's output and the ranks'
};

// The survivor's time to notice the lost rank and leave (the bound): past it the test
// kills the survivor itself and fails, so a survivor that hangs costs this long, not CI's timeout.
constexpr double kSurvivorLimit = 30;

// Starts `program args` as 2 ranks (`env`: mpirun's -x options), kills rank 1 with -9 once a
// checkpoint mid-epoch is written in `out`, and waits for rank 0. mpirun is told to leave the
// survivor alone (orte_enable_recovery): by default it kills the other ranks itself within about 2 s
// of a death, which would hide whether the survivor leaves on its own; the ranks run inside a shell
// that writes each one's exit status, since mpirun's own is then 0.
LostRank kill_rank_1(const std::string& env, const std::string& program, const std::string& args,
                     const std::filesystem::path& out, const std::filesystem::path& work) {
  const std::string status_file = (work / "rank_status_").string();
  const std::string ranks = "sh -c '\"$0\" \"$@\"; echo $? > " + status_file + "$OMPI_COMM_WORLD_RANK' ";
  const pid_t job =
      start(mpirun(2) + "--mca orte_enable_recovery 1 " + env + ranks + program + " " + args, work / "killed.log");
  while (testing::saved_batch(out) <= 0) {
    int status = 0;
    REQUIRE_MESSAGE(::waitpid(job, &status, WNOHANG) == 0, testing::slurp(work / "killed.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Each rank is the trainer under its shell, both children of mpirun's.
  const pid_t survivor = rank_process(rank_process(job, 0), 0), victim = rank_process(rank_process(job, 1), 1);
  REQUIRE(survivor > 0);
  REQUIRE(victim > 0);
  const auto killed_at = std::chrono::steady_clock::now();
  REQUIRE(::kill(victim, SIGKILL) == 0);
  LostRank r;
  int status = 0;
  while (::waitpid(job, &status, WNOHANG) == 0) {
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
    if (r.seconds > kSurvivorLimit) ::kill(survivor, SIGKILL);  // it hangs: end it, and fail below
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  r.log = testing::slurp(work / "killed.log");
  std::ifstream survivor_status(status_file + "0");
  if (r.seconds <= kSurvivorLimit) survivor_status >> r.survivor;
  return r;
}

// The survivor's own line names the lost rank and the wait it was in, and it left non-zero in time.
void check_survivor(const LostRank& r, const std::string& waiting_for) {
  INFO(r.log);
  MESSAGE("the survivor left " << r.seconds << " s after the kill, status " << r.survivor);
  CHECK(r.seconds <= kSurvivorLimit);
  CHECK(r.survivor > 0);
  CHECK(r.log.find("trainer: rank 0: stopped waiting for the other ranks while " + waiting_for + ": rank 1 (pid ") !=
        std::string::npos);
}

}  // namespace

TEST_CASE("mpi: kill -9 one rank mid-epoch: the other exits within 30 s naming it; 1 rank resumes to the end") {
  if (!mpirun_found()) return;
  const auto data = testing::write_small_corpus("mpi_kill_corpus");
  const auto work = temp_dir("mpi_kill");
  // More epochs than the other cases, and a checkpoint between almost every two batches.
  const std::string run = tiny_run(data, work / "killed", 6) + " --checkpoint-every 0.00002";
  check_survivor(kill_rank_1("", trainer(), run, work / "killed", work), "summing gradients");

  const Shell resumed = shell("OMP_NUM_THREADS=1 " + trainer() + " --out " + (work / "killed").string() + " --resume");
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(resumed.output.find("resuming at epoch") != std::string::npos);
  const Shell straight = shell("OMP_NUM_THREADS=1 " + trainer() + " " + tiny_run(data, work / "straight", 6));
  REQUIRE(straight.status == 0);
  const double ratio = worst_ratio(work / "killed" / "last.safetensors", work / "straight" / "last.safetensors",
                                   kAtol * 3, kRtol * 3);  // three times the steps of the case above
  MESSAGE("worst difference after the resume: " << ratio << " of the tolerance");
  CHECK(ratio <= 1.0);
}

// The same on 2 emulated GPUs: rank 0 waits for NCCL's sum by polling its stream (the emulated
// NCCL's MPI_Iallreduce never completes), sees rank 1 gone, aborts the communicator and leaves;
// the last checkpoint loads on 1 emulated GPU, which trains on to the end.
TEST_CASE("mpi: kill -9 one of 2 ranks on emulated GPUs mid-epoch: NCCL's wait is abandoned naming it; 1 resumes") {
  if (!mpirun_found()) return;
  const std::string emulated = emulated_trainer();
  if (emulated.empty()) return;
  const auto data = testing::write_small_corpus("mpi_nccl_kill_corpus");
  const auto work = temp_dir("mpi_nccl_kill");
  const std::string run = tiny_run(data, work / "killed", 3) + " --checkpoint-every 0.00002 --device cuda";
  const LostRank lost = kill_rank_1("-x LEGATO_EMU_DEVICES=2 ", emulated, run, work / "killed", work);
  check_survivor(lost, "summing gradients (NCCL)");
  const int64_t saved = testing::saved_batch(work / "killed");
  CHECK(saved > 0);

  const Shell resumed =
      shell("OMP_NUM_THREADS=1 " + emulated + " --out " + (work / "killed").string() + " --resume --device cuda");
  INFO(resumed.output);
  REQUIRE(resumed.status == 0);
  CHECK(resumed.output.find("resuming at epoch") != std::string::npos);
  CHECK(resumed.output.find("done: 30 steps") != std::string::npos);
}

TEST_CASE("mpi: bad setups: one line from rank 0, a non-zero exit on every rank") {
  if (!mpirun_found()) return;
  const auto data = testing::write_small_corpus("mpi_bad_corpus");
  const auto other = testing::write_small_corpus("mpi_bad_other", 4);
  const auto work = temp_dir("mpi_bad");
  auto refused = [](const Shell& r, const std::string& line) {
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(trainer_lines(r.output) == 1);
    CHECK(r.output.find(line) != std::string::npos);
    CHECK(r.seconds < 30);
  };
  SUBCASE("more ranks than windows in a batch") {
    std::string args = tiny_run(data, work / "a");
    args.replace(args.find("--batch 4"), 9, "--batch 2");
    refused(shell(mpirun(3) + trainer() + " " + args), "trainer: 3 ranks share a global batch of 2 windows");
  }
  SUBCASE("ranks given other options") {
    const std::string rank0 = trainer() + " " + tiny_run(data, work / "b");
    refused(shell(mpirun(1) + rank0 + " : -np 1 " + rank0 + " --seed 7"), "trainer: rank 1 was given other options");
  }
  // --device cuda needs a device: the trainer built against the CUDA emulator has one (two with
  // LEGATO_EMU_DEVICES=2), and NCCL unless LEGATO_EMU_NO_NCCL=1 makes the emulator's fail.
  SUBCASE("--device cuda: without NCCL, more ranks than GPUs; mixed devices") {
    const std::string args = tiny_run(data, work / "d"), emulated = emulated_trainer();
    if (!emulated.empty()) {
      const std::string two_gpus = "-x LEGATO_EMU_DEVICES=2 ";
      refused(shell(mpirun(2) + two_gpus + "-x LEGATO_EMU_NO_NCCL=1 " + emulated + " " + args + " --device cuda"),
              "trainer: --device cuda over 2 ranks needs NCCL to sum the gradients: NCCL does not answer");
      refused(shell(mpirun(2) + emulated + " " + args + " --device cuda"),
              "which has 1 GPU(s): start at most one rank per GPU on each host");
      refused(shell(mpirun(1) + emulated + " " + args + " --device cpu : -np 1 " + emulated + " " + args +
                    " --device cuda"),
              "trainer: mixed devices: rank 1 trains on cuda, rank 0 on cpu");
    }
  }
  SUBCASE("ranks that read other corpora") {
    // The same --data text, /proc/self/cwd/corpus, names each rank's own folder.
    std::filesystem::create_directories(work / "r0");
    std::filesystem::create_directories(work / "r1");
    std::filesystem::create_symlink(data, work / "r0" / "corpus");
    std::filesystem::create_symlink(other, work / "r1" / "corpus");
    const std::string args = trainer() + " " + tiny_run("/proc/self/cwd/corpus", work / "c") + " --no-cache";
    refused(shell(mpirun(1) + "-wdir " + (work / "r0").string() + " " + args + " : -np 1 -wdir " +
                  (work / "r1").string() + " " + args),
            "trainer: rank 1 read another corpus than rank 0");
  }
}
