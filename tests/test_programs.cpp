// The programs as a user runs them: exit codes, one-line errors, --help, and a whole
// train-then-compose run on small MIDI files.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "gpu.h"
#include "midi/reader.h"
#include "small_corpus.h"

namespace {

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr together
};

Run run(const std::string& program, const std::string& args) {
  const std::string command = std::string(LEGATO_BIN_DIR) + "/" + program + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot run " << command);
  Run r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) r.output.append(buf, n);
  const int raw = ::pclose(pipe);
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return r;
}

int lines(const std::string& s) {
  int count = 0;
  for (char c : s) count += c == '\n';
  return count;
}

}  // namespace

TEST_CASE("programs: --help, and bad input gives one line and exit code 2") {
  for (const char* program : {"trainer", "composer", "miditool"}) {
    CAPTURE(program);
    const Run help = run(program, "--help");
    CHECK(help.status == 0);
    CHECK(help.output.find("--help") != std::string::npos);
  }
  Run r = run("trainer", "--bogus");
  CHECK(r.status == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("--bogus") != std::string::npos);
  r = run("trainer", "--epochs 0");
  CHECK(r.status == 2);
  CHECK(r.output.find("--epochs") != std::string::npos);
  r = run("trainer", "--checkpoint-every -1");
  CHECK(r.status == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("--checkpoint-every") != std::string::npos);
  const auto empty = legato::testing::temp_dir("no_midi");
  r = run("trainer", "--data " + empty.string() + " --out " + (empty / "out").string());
  CHECK(r.status == 2);
  CHECK(r.output.find("no readable MIDI") != std::string::npos);
  r = run("composer", "--checkpoint " + (empty / "missing.safetensors").string());
  CHECK(r.status == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("cannot be opened") != std::string::npos);
  std::filesystem::remove_all(empty);
}

TEST_CASE("programs: train on MIDI files, then compose a valid MIDI file") {
  const auto data = legato::testing::write_small_corpus("programs");
  const auto out = data / "run";
  const Run train = run("trainer", "--preset tiny --data " + data.string() + " --epochs 2 --hidden 16 --seq-len 16 " +
                                       "--batch 4 --out " + out.string());
  INFO(train.output);
  REQUIRE(train.status == 0);
  CHECK(train.output.find("epoch 2/2: train loss") != std::string::npos);
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "loss.svg"})
    CHECK_MESSAGE(std::filesystem::exists(out / f), f);

  const auto mid = out / "new.mid", tokens = out / "new.txt";
  const Run compose =
      run("composer", "--checkpoint " + (out / "best.safetensors").string() + " --length 60 --seed 4 --out " +
                          mid.string() + " --tokens-out " + tokens.string());
  INFO(compose.output);
  REQUIRE(compose.status == 0);
  CHECK(compose.output.find("distinct tokens, longest run") != std::string::npos);
  const legato::midi::Score score = legato::midi::read_midi_file(mid);  // throws if the file is not valid
  CHECK(score.notes.size() > 0);
  std::ifstream in(tokens);
  std::string token;
  int count = 0;
  while (in >> token) ++count;
  CHECK(count >= 2);  // BOS, then what was generated (an EOS may end the piece early)

  const Run evaluate =
      run("composer", "--checkpoint " + (out / "best.safetensors").string() + " --evaluate " + data.string());
  INFO(evaluate.output);
  CHECK(evaluate.status == 0);
  CHECK(evaluate.output.find("perplexity") != std::string::npos);
  std::filesystem::remove_all(data);
}

// --device cuda: without a GPU (CI) both programs refuse it in one line with exit code 2, before
// reading any input; with one, a tiny run trains on the GPU and composes from its checkpoint there.
TEST_CASE("programs: --device cuda: exit code 2 without a GPU; with one, train and compose on it") {
  const auto data = legato::testing::write_small_corpus("programs_cuda");
  const auto out = data / "run";
  if (!legato::testing::gpu_available()) {
    // The reason: a build without the backend says so; one with it, that there is no GPU.
    const std::string why = legato::cuda_built() ? "no CUDA GPU found" : "this build has no CUDA backend";
    Run r = run("trainer", "--device cuda --preset tiny --epochs 1 --data " + data.string() + " --out " + out.string());
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find(why) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out));  // refused before anything was written
    r = run("composer", "--device cuda --checkpoint " + (data / "missing.safetensors").string() + " --out " +
                            (data / "x.mid").string());
    CHECK(r.status == 2);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find(why) != std::string::npos);
    MESSAGE("SKIPPED the GPU run: no CUDA GPU on this machine (or a build without CUDA)");
    std::filesystem::remove_all(data);
    return;
  }
  const Run train = run("trainer", "--device cuda --preset tiny --epochs 1 --hidden 16 --seq-len 16 --batch 4 --data " +
                                       data.string() + " --out " + out.string());
  INFO(train.output);
  REQUIRE(train.status == 0);
  CHECK(train.output.find("device: ") != std::string::npos);  // the card it ran on
  CHECK(train.output.find("epoch 1/1: train loss") != std::string::npos);
  REQUIRE(std::filesystem::exists(out / "last.safetensors"));

  const auto mid = out / "gpu.mid";
  const Run compose = run("composer", "--device cuda --checkpoint " + (out / "last.safetensors").string() +
                                          " --length 60 --seed 4 --out " + mid.string());
  INFO(compose.output);
  REQUIRE(compose.status == 0);
  CHECK(compose.output.find("distinct tokens, longest run") != std::string::npos);
  REQUIRE(std::filesystem::exists(mid));
  CHECK_NOTHROW(legato::midi::read_midi_file(mid));  // a valid MIDI file
  std::filesystem::remove_all(data);
}
