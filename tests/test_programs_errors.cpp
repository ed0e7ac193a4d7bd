// Every mistake a newcomer made in their first hour (issue 31), run against the real programs:
// each gets one line that says what is wrong and what to do, exit code 2, and no C++ exception
// text or internal function name.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "midi/paths.h"
#include "run_program.h"
#include "small_corpus.h"

namespace {

using Outcome = legato::testing::ProgramRun;
using legato::testing::run_program;

// Every file under `dir` with its bytes: what a refused command must leave as it was.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) {
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream bytes;
      bytes << in.rdbuf();
      files[e.path().string()] = bytes.str();
    }
  return files;
}

}  // namespace

TEST_CASE("programs: every first-hour mistake gets one helpful line and exit code 2") {
  namespace fs = std::filesystem;
  const fs::path data = legato::testing::write_small_corpus("errors");
  const fs::path run = data / "run", work = data / "work";
  fs::create_directories(work);
  const std::string d = data.string(), r = run.string(), w = work.string();
  const Outcome trained = run_program("trainer", "--preset tiny --data " + d +
                                                     " --epochs 1 --hidden 16 --seq-len 16 --batch 4 --eval-pieces 0 "
                                                     "--out " +
                                                     r);
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  { std::ofstream(work / "notes.txt") << "hi\n"; }
  const std::string ck = "--checkpoint " + r + "/best.safetensors", notes = w + "/notes.txt";
  // A folder no one may write in, root included (sysfs is read-only).
  const std::string ro = "/sys";
  const bool have_read_only = !legato::midi::output_folder_problem(ro).empty();

  struct Case {
    const char* program;
    std::string args, expected;
    bool needs_read_only = false;
  };
  const std::vector<Case> cases = {
      {"miditool", "info " + d, d + ": is a folder, not a file"},
      {"miditool", "roundtrip " + d + " " + w + "/x.mid", "is a folder, not a file"},
      {"miditool", "info " + notes, "too short for a MIDI header"},
      {"miditool", "tokens " + w + "/missing.mid", "no such file or folder"},
      {"composer", ck + " --temperature 0",
       "--temperature: must be above 0, not 0; for the likeliest token every "
       "time use --greedy"},
      {"composer", ck + " --temperature -1", "must be above 0, not -1"},
      {"trainer", "--max-minutes 0", "--max-minutes: must be above 0, not 0; leave it out for no limit"},
      {"composer", ck + " --top-p 2", "--top-p: must be above 0 and at most 1, not 2"},
      {"trainer", "--epoch 3", "--epoch is not an option (did you mean --epochs?)"},
      {"trainer", "--epochs 2.5", "--epochs: must be a whole number, not 2.5"},
      {"trainer", "--data " + w + "/missing --out " + w + "/fresh", "--data " + w + "/missing: no such file or folder"},
      {"miditool", "tokenz " + d, "tokenz is not a command (did you mean tokens?)"},
      {"composer", "--checkpoint " + notes, "is not a checkpoint (trainer writes them"},
      {"composer", "--checkpoint " + w + "/missing.safetensors", "missing.safetensors: no such file"},
      {"composer", "--checkpoint " + r, "is a folder (did you mean " + r + "/best.safetensors?)"},
      {"composer", ck + " --out " + w,
       "--out " + w + ": is a folder; give a file name in it (e.g. " + w + "/composed.mid)"},
      {"composer", ck + " --primer " + d, "--primer: " + d + ": is a folder, not a file"},
      {"composer", ck + " --primer-tokens \"C4 E4 G4\"", "uses the event scheme: `miditool tokens --scheme event"},
      {"composer", ck + " --evaluate " + notes, "--evaluate: no MIDI file could be read"},
      {"composer", ck + " --out " + ro + "/x.mid", "--out " + ro + "/x.mid: cannot write in " + ro, true},
      {"composer", ck + " --out " + ro + "/sub/x.mid", "cannot write in " + ro, true},
      {"composer", ck + " --out " + w + "/ok.mid --svg " + ro + "/x.svg", "--svg " + ro + "/x.svg: cannot write", true},
      {"trainer", "--data " + d + " --out " + ro + "/out", "--out " + ro + "/out: cannot write in " + ro, true},
      {"miditool", "compare " + d + "/piece0.mid --against " + d + " --densities " + ro + "/x.svg",
       "--densities " + ro + "/x.svg: cannot write in", true},
      {"trainer", "--preset tiny --data " + d + " --out " + r,
       "--out " + r + " holds a run; continue it with --resume, replace it with --overwrite"},
      {"trainer", "--out " + r + " --resume --hidden 32",
       "--resume: --hidden 32 differs from the run's hidden 16 (" + r + "/run.json)"},
      {"trainer", "--out " + w + " --resume", "holds no run to resume"},
  };
  const auto before = snapshot(run);
  for (const Case& c : cases) {
    if (c.needs_read_only && !have_read_only) {
      MESSAGE("SKIPPED (no read-only folder here): " << c.program << " " << c.args);
      continue;
    }
    const Outcome o = run_program(c.program, c.args);
    CAPTURE(c.program);
    CAPTURE(c.args);
    INFO(o.output);
    CHECK(o.status == 2);
    CHECK(std::count(o.output.begin(), o.output.end(), '\n') == 1);
    CHECK(o.output.rfind(std::string(c.program) + ": ", 0) == 0);
    CHECK(o.output.find(c.expected) != std::string::npos);
    for (const char* raw : {"std::", "filesystem error", "bad_alloc", "write_midi_file", "read_midi_file",
                            "load_checkpoint", "load_safetensors", "not in range", "not expected", "terminate"})
      CHECK_MESSAGE(o.output.find(raw) == std::string::npos, raw);
  }
  CHECK_FALSE(fs::exists(work / "ok.mid"));  // the --svg was refused before the MIDI file was written
  CHECK(snapshot(run) == before);            // the refused trainer runs touched no file of the run
  fs::remove_all(data);
}
