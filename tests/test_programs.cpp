// The programs as a user runs them: exit codes, one-line errors, --help, and a whole
// train-then-compose run on small MIDI files.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "gpu.h"
#include "midi/hands.h"
#include "midi/key.h"
#include "midi/reader.h"
#include "midi/restrike.h"
#include "midi/tokenizer.h"
#include "midi/writer.h"
#include "model/checkpoint.h"
#include "run_program.h"
#include "score_builder.h"
#include "small_corpus.h"

namespace {

using Run = legato::testing::ProgramRun;

// The programs built against the CUDA emulator (bin/emulated/, ctest's legato_emulated_programs):
// their --device cuda sees the emulator's device. Null: the build's own programs.
const char* emulated_programs() { return std::getenv("LEGATO_EMULATED_PROGRAMS"); }

Run run(const std::string& program, const std::string& args) {
  return legato::testing::run_program(program, args, emulated_programs() ? emulated_programs() : LEGATO_BIN_DIR);
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
  r = run("trainer", "--dropout 1");
  CHECK(r.status == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("--dropout") != std::string::npos);
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
  CHECK(r.output.find("missing.safetensors: no such file") != std::string::npos);
  std::filesystem::remove_all(empty);
}

TEST_CASE("programs: train on MIDI files, then compose a valid MIDI file") {
  const auto data = legato::testing::write_small_corpus("programs");
  const auto out = data / "run";
  const Run train = run("trainer", "--preset tiny --data " + data.string() + " --epochs 2 --hidden 16 --seq-len 16 " +
                                       "--batch 4 --dropout 0.25 --out " + out.string());
  INFO(train.output);
  REQUIRE(train.status == 0);
  CHECK(train.output.rfind("cpu: ", 0) == 0);  // the first line says what it runs on
  CHECK(train.output.find("products: ") != std::string::npos);
  CHECK(train.output.find("epoch 2/2: train loss") != std::string::npos);
  for (const char* f : {"best.safetensors", "last.safetensors", "metrics.csv", "loss.svg"})
    CHECK_MESSAGE(std::filesystem::exists(out / f), f);
  CHECK(legato::model::load_checkpoint(out / "last.safetensors").meta.config.dropout == 0.25);  // tiny's is 0.1

  const auto mid = out / "new.mid", tokens = out / "new.txt";
  const Run compose =
      run("composer", "--checkpoint " + (out / "best.safetensors").string() + " --length 60 --seed 4 --out " +
                          mid.string() + " --tokens-out " + tokens.string());
  INFO(compose.output);
  REQUIRE(compose.status == 0);
  CHECK(compose.output.rfind("cpu: ", 0) == 0);
  CHECK(compose.output.find("distinct tokens, longest run") != std::string::npos);
  const legato::midi::Score score = legato::midi::read_midi_file(mid);  // throws if the file is not valid
  CHECK(score.notes.size() > 0);
  std::ifstream in(tokens);
  std::string token;
  int count = 0;
  while (in >> token) ++count;
  CHECK(count >= 2);  // BOS, then what was generated (an EOS may end the piece early)

  // The piano in two hands by default (midi/hands.h), in one track with --one-part: the same notes.
  const auto one = out / "one.mid";
  const Run one_part = run("composer", "--checkpoint " + (out / "best.safetensors").string() +
                                           " --length 60 --seed 4 --one-part --out " + one.string());
  REQUIRE(one_part.status == 0);
  legato::midi::Score split = legato::midi::read_midi_file(one);
  std::set<int> channels;
  for (const auto& n : split.notes) channels.insert(n.channel);
  CHECK(channels.size() == 1);
  legato::midi::split_hands(split);
  auto notes_of = [](const legato::midi::Score& s) {
    std::vector<std::tuple<int64_t, int, int64_t, int>> v;
    for (const auto& n : s.notes) v.emplace_back(n.start_tick, n.pitch, n.duration_ticks, n.channel);
    std::sort(v.begin(), v.end());
    return v;
  };
  CHECK(notes_of(split) == notes_of(score));

  // Several pieces measured against the corpus: the comparison table ends the output.
  const Run compared =
      run("composer", "--checkpoint " + (out / "best.safetensors").string() + " --length 60 --num-outputs 2 --out " +
                          (out / "many.mid").string() + " --against " + (data / "piece0.mid").string() + " " +
                          (data / "piece1.mid").string() + " " + (data / "piece2.mid").string());
  INFO(compared.output);
  CHECK(compared.status == 0);
  CHECK(compared.output.find("2 generated pieces against 3 corpus pieces") != std::string::npos);
  const std::string last_line = compared.output.substr(compared.output.rfind('\n', compared.output.size() - 2) + 1);
  CHECK(last_line.rfind("mean OA ", 0) == 0);
  const Run no_corpus =
      run("composer", "--checkpoint " + (out / "best.safetensors").string() + " --against " + (data / "none").string());
  CHECK(no_corpus.status == 2);
  CHECK(lines(no_corpus.output) == 1);
  CHECK(no_corpus.output.find("no such file or folder") != std::string::npos);

  const Run evaluate =
      run("composer", "--checkpoint " + (out / "best.safetensors").string() + " --evaluate " + data.string());
  INFO(evaluate.output);
  CHECK(evaluate.status == 0);
  CHECK(evaluate.output.find("perplexity") != std::string::npos);
  std::filesystem::remove_all(data);
}

// --normalise-key: trained on pieces all in G's key signature, the network learns them in C's and
// composer moves its music into G (-5 semitones), or into a --primer file's key (D: +2); the
// tokens it writes stay in the network's key.
TEST_CASE("programs: trained in one key, composer moves the music into the corpus's key or the primer's") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_key");
  for (int k = 0; k < 3; ++k)
    midi::write_midi_file(legato::testing::scale_piece(k == 1 ? 4 : 7, k == 1, 120, k == 2 ? 36 : 48),
                          data / ("g" + std::to_string(k) + ".mid"));  // G, E minor, G
  midi::write_midi_file(legato::testing::scale_piece(2, false), data / "primer_in_d.mid");
  const auto out = data / "run";
  const Run train = run("trainer", "--preset tiny --data " + (data / "g0.mid").string() + " " +
                                       (data / "g1.mid").string() + " " + (data / "g2.mid").string() +
                                       " --epochs 4 --hidden 32 --seq-len 16 --batch 4 --normalise-key --transpose 1 "
                                       "--eval-pieces 0 --out " +
                                       out.string());
  INFO(train.output);
  REQUIRE(train.status == 0);
  const auto meta = legato::model::load_checkpoint(out / "best.safetensors").meta;
  std::vector<int64_t> keys(12, 0);
  keys[7] = 2;  // the training pieces: two of the three (one is held out), both in G's key signature
  CHECK(meta.keys == keys);

  // The generated tokens' notes, moved by `shift`, are the notes of the MIDI file.
  auto check_moved = [&](const std::string& primer, size_t primer_length, int shift) {
    const auto mid = out / "key.mid", tokens = out / "key.txt";
    const Run compose =
        run("composer", "--checkpoint " + (out / "best.safetensors").string() + " --length 200 --seed 2 --out " +
                            mid.string() + " --tokens-out " + tokens.string() + primer);
    INFO(compose.output);
    REQUIRE(compose.status == 0);
    std::ifstream in(tokens);
    std::vector<std::string> text;
    for (std::string t; in >> t;) text.push_back(t);
    REQUIRE(text.size() > primer_length);
    const std::vector<std::string> generated(text.begin() + static_cast<std::ptrdiff_t>(primer_length), text.end());
    std::vector<int> expected, got;
    midi::Score composed = midi::make_tokenizer("event")->detokenize(generated);
    midi::end_restruck_notes(composed);  // as composer writes it: a key struck twice at once sounds once
    for (const midi::Note& n : composed.notes)
      if (!n.is_drum()) expected.push_back(n.pitch + shift);
    for (const midi::Note& n : midi::read_midi_file(mid).notes)
      if (!n.is_drum()) got.push_back(n.pitch);
    std::sort(expected.begin(), expected.end());
    std::sort(got.begin(), got.end());
    CAPTURE(shift);
    CHECK(!got.empty());
    CHECK(got.size() == expected.size());
    CHECK(got == expected);
  };
  // The pieces have drums too; an ensemble of the piano alone keeps every note pitched (a network
  // this little trained may play drums only).
  check_moved(" --instruments piano", 2, -5);  // BOS and the ensemble, I0
  // The file's last window (its notes left out of the MIDI file to compare the generated ones).
  check_moved(" --no-primer-in-output --primer " + (data / "primer_in_d.mid").string(), 16, 2);
  check_moved(" --primer-tokens \"BOS I0\"", 2, 0);  // given tokens are in the network's key: not moved
  std::filesystem::remove_all(data);
}

// The ensemble: --instruments (refused in one line, exit code 2, when unknown or never trained),
// one named track per instrument, the ensemble printed; --bars and --seconds give the piece's length.
TEST_CASE("programs: composer --instruments, --bars and --seconds") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_band");
  for (int k = 0; k < 3; ++k) {  // piano and drums
    std::string name = "p";      // appended, not "p" + std::to_string(k): GCC 12 warns falsely about that
    name += std::to_string(k) + ".mid";
    midi::write_midi_file(legato::testing::scale_piece(k, false, 120), data / name);
  }
  const auto out = data / "run";
  const Run train =
      run("trainer", "--preset tiny --data " + data.string() +
                         " --epochs 2 --hidden 16 --seq-len 16 --batch 4 --eval-pieces 0 --out " + out.string());
  INFO(train.output);
  REQUIRE(train.status == 0);
  const std::string ck = " --checkpoint " + (out / "best.safetensors").string();
  const Run unknown = run("composer", ck + " --instruments \"piano, kazoo\"");
  CHECK(unknown.status == 2);
  CHECK(lines(unknown.output) == 1);
  CHECK(unknown.output.find("unknown instrument 'kazoo' (known: program numbers 0-127, piano") != std::string::npos);
  const Run untrained = run("composer", ck + " --instruments \"piano, acoustic bass\"");
  CHECK(untrained.status == 2);
  CHECK(lines(untrained.output) == 1);
  CHECK(untrained.output.find("program 32 never plays in the checkpoint's training pieces") != std::string::npos);
  CHECK(run("composer", ck + " --bars 4 --length 100").status == 2);  // one length at a time

  const auto mid = out / "bars.mid";
  const Run bars = run("composer", ck + " --instruments 0 --bars 4 --seed 3 --out " + mid.string());
  INFO(bars.output);
  REQUIRE(bars.status == 0);
  CHECK(bars.output.find("ensemble: Acoustic Grand Piano\n") != std::string::npos);
  const midi::Score piano = midi::read_midi_file(mid);
  REQUIRE(!piano.notes.empty());
  int64_t last_onset = 0;
  for (const midi::Note& n : piano.notes) {
    CHECK(!n.is_drum());
    CHECK(n.program == 0);
    last_onset = std::max(last_onset, n.start_tick);
  }
  // 4 bars of 4 quarters: the music lasts them (EOS is forbidden before) and stops soon after.
  CHECK(piano.end_tick() >= 16 * piano.ticks_per_quarter);
  CHECK(last_onset < 24 * piano.ticks_per_quarter);
  // One named track per instrument, in the file's bytes (the reader keeps no names).
  std::ifstream in(mid, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  CHECK(bytes.find("Acoustic Grand Piano") != std::string::npos);

  // 10 seconds at 60 bpm: 10 quarters.
  const Run seconds =
      run("composer", ck + " --instruments \"drums, piano\" --seconds 10 --tempo 60 --seed 3 --out " + mid.string());
  INFO(seconds.output);
  REQUIRE(seconds.status == 0);
  CHECK(seconds.output.find("ensemble: Drums, Acoustic Grand Piano\n") != std::string::npos);
  const midi::Score band = midi::read_midi_file(mid);
  REQUIRE(!band.notes.empty());
  double last_onset_s = 0, end = 0;
  for (const midi::Note& n : band.notes) {
    last_onset_s = std::max(last_onset_s, n.start_seconds);
    end = std::max(end, n.start_seconds + n.duration_seconds);
  }
  CHECK(end >= 10.0);
  CHECK(last_onset_s < 18.0);
  std::filesystem::remove_all(data);
}

// --device cuda: without a GPU (CI) both programs refuse it in one line with exit code 2, before
// reading any input; with one, a tiny run trains on the GPU and composes from its checkpoint there
// in one persistent-kernel launch. CI runs the second half too, with the programs built against
// the CUDA emulator (LEGATO_EMULATED_PROGRAMS).
TEST_CASE("programs: --device cuda: exit code 2 without a GPU; with one, train and compose on it") {
  const auto data = legato::testing::write_small_corpus("programs_cuda");
  const auto out = data / "run";
  if (!legato::testing::gpu_available() && !emulated_programs()) {
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
  // Both generation paths: the event scheme's networks are stepped token by token (the grammar
  // masks each token, which the persistent kernel cannot), the seed scheme's compose a piece in
  // one launch of the persistent kernel.
  for (const auto& [scheme, path] : {std::pair{"event", "generation: stepped token by token: the event grammar"},
                                     {"seed", "generation: persistent kernel: "}}) {
    CAPTURE(scheme);
    const auto out = data / (std::string("run-") + scheme);
    const Run train = run("trainer", std::string("--device cuda --preset tiny --scheme ") + scheme +
                                         " --epochs 1 --hidden 16 --seq-len 16 --batch 4 --data " + data.string() +
                                         " --out " + out.string());
    INFO(train.output);
    REQUIRE(train.status == 0);
    CHECK(train.output.rfind("device: ", 0) == 0);  // the first line: the card it runs on
    CHECK(train.output.find("epoch 1/1: train loss") != std::string::npos);
    REQUIRE(std::filesystem::exists(out / "last.safetensors"));

    const auto mid = out / "gpu.mid";
    const Run compose = run("composer", "--device cuda --checkpoint " + (out / "last.safetensors").string() +
                                            " --length 60 --seed 4 --out " + mid.string());
    INFO(compose.output);
    REQUIRE(compose.status == 0);
    CHECK(compose.output.rfind("device: ", 0) == 0);
    CHECK(compose.output.find(path) != std::string::npos);
    CHECK(compose.output.find("distinct tokens, longest run") != std::string::npos);
    REQUIRE(std::filesystem::exists(mid));
    CHECK_NOTHROW(legato::midi::read_midi_file(mid));  // a valid MIDI file
  }
  std::filesystem::remove_all(data);
}

// --precision bf16 on a CPU without AVX512-BF16 or AMX (here: oneDNN capped to AVX2, as a user
// may cap it) is refused in one line with exit code 2, before any input is read.
TEST_CASE(
    "programs: a --precision the device cannot run (bf16 on a CPU without it, tf32 on a CPU): one line, exit code 2") {
  ::setenv("DNNL_MAX_CPU_ISA", "AVX2", 1);
  for (const auto& [program, input] :
       {std::pair{"trainer", "--data missing-folder"}, {"composer", "--checkpoint missing.safetensors"}}) {
    CAPTURE(program);
    const Run r = run(program, std::string("--precision bf16 ") + input);
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find("--precision bf16: ") != std::string::npos);
  }
  ::unsetenv("DNNL_MAX_CPU_ISA");
  const Run bad = run("trainer", "--precision fp16");
  CHECK(bad.status == 2);
  CHECK(bad.output.find("--precision") != std::string::npos);
  // tf32 is the GPU's mode: on the CPU it is refused the same way, naming the flag once.
  for (const auto& [program, input] :
       {std::pair{"trainer", "--data missing-folder"}, {"composer", "--checkpoint missing.safetensors"}}) {
    CAPTURE(program);
    const Run r = run(program, std::string("--precision tf32 ") + input);
    INFO(r.output);
    CHECK(r.status == 2);
    CHECK(lines(r.output) == 1);
    CHECK(r.output.find("--precision tf32: tf32 is the GPU's") != std::string::npos);
  }
  const Run gone = run("trainer", "--tf32 --data missing-folder");  // --precision tf32 took its place
  CHECK(gone.status == 2);
  CHECK(gone.output.find("--tf32 is not an option") != std::string::npos);
}

TEST_CASE("programs: miditool stats and compare: table, CSV, JSON, the mean OA last, the densities drawn") {
  const auto data = legato::testing::write_small_corpus("programs_eval", 5);
  const std::string a = (data / "piece0.mid").string(), b = (data / "piece1.mid").string();
  Run r = run("miditool", "stats " + a + " " + b);
  INFO(r.output);
  CHECK(r.status == 0);
  for (const char* name : {"n_pitches_used", "pitch_class_entropy", "scale_consistency", "empty_beat_rate",
                           "polyphony_rate", "groove_consistency"})
    CHECK(r.output.find(name) != std::string::npos);
  // run() merges stderr, where the loader says what it read, into the output: JSON lines start with {.
  r = run("miditool", "stats --json " + a + " " + b);
  CHECK(r.status == 0);
  std::istringstream objects(r.output);
  std::string line;
  int count = 0;
  while (std::getline(objects, line)) {
    if (line.empty() || line[0] != '{') continue;
    const auto j = nlohmann::json::parse(line);
    CHECK(j.at("file").get<std::string>() == (count == 0 ? a : b));
    CHECK(j.at("n_pitches_used").get<int>() > 1);
    CHECK(j.at("pitch_class_histogram").size() == 12);
    ++count;
  }
  CHECK(count == 2);
  r = run("miditool", "stats --csv " + a);
  CHECK(r.output.find("\nfile,n_pitches_used,") != std::string::npos);
  CHECK(r.output.find("piece0.mid,") != std::string::npos);

  const std::string svg = (data / "densities.svg").string();
  r = run("miditool", "compare " + a + " " + b + " --against " + (data / "piece2.mid").string() + " " +
                          (data / "piece3.mid").string() + " " + (data / "piece4.mid").string() + " --densities " +
                          svg);
  CHECK(r.status == 0);
  CHECK(r.output.find("pitch_class_transition_matrix") != std::string::npos);
  const size_t last = r.output.rfind("mean OA ");
  REQUIRE(last != std::string::npos);
  CHECK(r.output.find('\n', last) == r.output.size() - 1);  // the last line
  CHECK(std::filesystem::exists(svg));
  r = run("miditool", "compare --json " + a + " --against " + data.string());
  CHECK(r.status == 0);
  REQUIRE(r.output.find("\n{") != std::string::npos);
  const auto j = nlohmann::json::parse(r.output.substr(r.output.find("\n{") + 1));
  CHECK(j.at("mean_oa").get<double>() > 0);
  CHECK(j.at("features").at("polyphony").contains("kl"));
  // A corpus of one piece has no distances within it: one line, exit 2.
  r = run("miditool", "compare " + a + " --against " + b);
  CHECK(r.status == 2);
  CHECK(r.output.find("at least 2") != std::string::npos);
  std::filesystem::remove_all(data);
}

// A primer is a beginning: the network goes on from its last note (no EOS after it), the MIDI file
// starts with the primer's notes (not with --no-primer-in-output), and `miditool tokens`, whose
// default is the event scheme of the tiny and default presets, writes tokens --primer-tokens takes;
// the seed scheme's are refused with a line that says which scheme to ask for.
TEST_CASE("programs: composer continues a primer: no EOS after it, its notes first in the MIDI file") {
  namespace midi = legato::midi;
  const auto data = legato::testing::write_small_corpus("programs_primer");
  const auto out = data / "run";
  const Run train =
      run("trainer", "--preset tiny --data " + data.string() +
                         " --epochs 1 --hidden 16 --seq-len 16 --batch 4 --eval-pieces 0 --out " + out.string());
  INFO(train.output);
  REQUIRE(train.status == 0);
  const std::string checkpoint = " --checkpoint " + (out / "best.safetensors").string();
  // The primer: piece0's first four notes.
  midi::Score primer_score;
  primer_score.ticks_per_quarter = 480;
  const std::vector<int> pitches = {48, 53, 58, 63};
  for (int k = 0; k < 4; ++k)
    primer_score.notes.push_back(legato::testing::make_note(pitches[k], 120 * k, 120 * (1 + k % 3), 0, 0, 80));
  primer_score.update_times();
  const auto primer = data / "primer.mid";
  midi::write_midi_file(primer_score, primer);
  std::vector<std::string> primer_tokens = midi::make_tokenizer("event")->tokenize(primer_score);
  REQUIRE(primer_tokens.back() == "EOS");
  primer_tokens.pop_back();

  auto read_tokens = [](const std::filesystem::path& path) {
    std::ifstream in(path);
    std::vector<std::string> text;
    for (std::string t; in >> t;) text.push_back(t);
    return text;
  };
  auto pitches_by_onset = [](const midi::Score& s) {
    std::vector<std::pair<int64_t, int>> v;
    for (const auto& n : s.notes) v.emplace_back(n.start_tick, n.pitch);
    std::sort(v.begin(), v.end());
    std::vector<int> p;
    for (const auto& [tick, pitch] : v) p.push_back(pitch);
    return p;
  };
  const auto mid = out / "cont.mid", tokens = out / "cont.txt";
  Run r = run("composer", checkpoint + " --length 40 --seed 3 --primer " + primer.string() + " --out " + mid.string() +
                              " --tokens-out " + tokens.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  const std::vector<std::string> text = read_tokens(tokens);
  REQUIRE(text.size() > primer_tokens.size());
  CHECK(std::vector<std::string>(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(primer_tokens.size())) ==
        primer_tokens);
  CHECK(std::find(text.begin(), text.end(), "EOS") == text.end());  // the piece goes on after the primer
  const std::vector<int> heard = pitches_by_onset(midi::read_midi_file(mid));
  REQUIRE(heard.size() >= pitches.size());
  // The primer leads in: its notes sound at the file's first four onsets, one at each; the
  // continuation may add notes at the last of them (a chord with the primer's last note), never before.
  std::map<int64_t, std::vector<int>> by_onset;
  for (const auto& n : midi::read_midi_file(mid).notes) by_onset[n.start_tick].push_back(n.pitch);
  REQUIRE(by_onset.size() >= 4);
  auto onset = by_onset.begin();
  for (int k = 0; k < 4; ++k, ++onset) {
    CAPTURE(k);
    if (k < 3)
      CHECK(onset->second == std::vector<int>{pitches[k]});
    else
      CHECK(std::count(onset->second.begin(), onset->second.end(), pitches[k]) == 1);
  }
  const std::vector<std::string> generated(text.begin() + static_cast<std::ptrdiff_t>(primer_tokens.size()),
                                           text.end());
  midi::Score continuation = midi::make_tokenizer("event")->detokenize(generated);
  midi::end_restruck_notes(continuation);  // as composer writes it
  const size_t generated_notes = continuation.notes.size();
  CHECK(heard.size() >= generated_notes + pitches.size());

  // --no-primer-in-output: the same continuation (same seed), without the primer's notes.
  r = run("composer", checkpoint + " --length 40 --seed 3 --no-primer-in-output --primer " + primer.string() +
                          " --out " + mid.string() + " --tokens-out " + tokens.string());
  REQUIRE(r.status == 0);
  CHECK(read_tokens(tokens) == text);
  CHECK(midi::read_midi_file(mid).notes.size() == generated_notes);

  // `miditool tokens` writes the event scheme by default: its line (the file's name, a tab, the
  // tokens; on stdout, where the loader's summary goes to stderr) is a primer as it is; its EOS is dropped.
  auto tokens_line = [](const std::string& output) {  // the line with the tab
    const size_t tab = output.find('\t');
    REQUIRE(tab != std::string::npos);
    const size_t begin = output.rfind('\n', tab) == std::string::npos ? 0 : output.rfind('\n', tab) + 1;
    return output.substr(begin, output.find('\n', tab) - begin);
  };
  r = run("miditool", "tokens " + primer.string());
  REQUIRE(r.status == 0);
  const std::string whole_line = tokens_line(r.output);
  CHECK(whole_line.rfind("primer.mid\tBOS ", 0) == 0);
  r = run("composer", checkpoint + " --length 20 --seed 3 --primer-tokens \"" + whole_line + "\" --out " +
                          mid.string() + " --tokens-out " + tokens.string());
  INFO(r.output);
  CHECK(r.status == 0);
  const std::vector<std::string> from_tokens = read_tokens(tokens);
  REQUIRE(from_tokens.size() > primer_tokens.size());
  CHECK(std::vector<std::string>(from_tokens.begin(),
                                 from_tokens.begin() + static_cast<std::ptrdiff_t>(primer_tokens.size())) ==
        primer_tokens);
  // The seed scheme one flag away; a network of the event scheme refuses it, saying what to run.
  r = run("miditool", "tokens --scheme seed " + primer.string());
  REQUIRE(r.status == 0);
  const std::string seed_line = tokens_line(r.output);
  r = run("composer", checkpoint + " --primer-tokens \"" + seed_line + "\" --out " + mid.string());
  CHECK(r.status == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("miditool tokens --scheme event") != std::string::npos);
  std::filesystem::remove_all(data);
}

// --resume takes the corpus, preset and options from the run (run.json) and refuses flags that
// contradict them before touching a file; a finished run says to raise --epochs; a fresh run into
// a folder holding a run needs --overwrite; the last line of a run says how to compose from it.
TEST_CASE("programs: --resume goes on with the run's own settings and cannot hurt it") {
  const auto data = legato::testing::write_small_corpus("programs_resume");
  const auto other = legato::testing::write_small_corpus("programs_resume_other", 4);
  const auto out = data / "run";
  const std::string o = " --out " + out.string();
  const Run first = run("trainer", "--preset tiny --data " + data.string() +
                                       " --epochs 1 --hidden 16 --seq-len 16 --batch 4 --eval-pieces 0" + o);
  INFO(first.output);
  REQUIRE(first.status == 0);
  const std::string last_line = first.output.substr(first.output.rfind('\n', first.output.size() - 2) + 1);
  CHECK(last_line ==
        "compose from it: composer --checkpoint " + (out / "best.safetensors").string() + " --out piece.mid\n");
  auto files = [&] {
    std::map<std::string, std::string> bytes;
    for (const auto& e : std::filesystem::directory_iterator(out)) {
      std::ifstream in(e.path(), std::ios::binary);
      std::ostringstream s;
      s << in.rdbuf();
      bytes[e.path().filename().string()] = s.str();
    }
    return bytes;
  };
  const auto before = files();
  CHECK(before.count("run.json") == 1);

  // Finished: nothing to do, and the line says how to go on; no file touched.
  Run r = run("trainer", "--resume" + o);
  CHECK(r.status == 0);
  CHECK(r.output.find("has finished its 1 epochs; to train on, raise --epochs") != std::string::npos);
  CHECK(files() == before);
  // Another corpus (or the default one, without --data: the run's own is taken) is refused with
  // both values before the cache or any other file is touched.
  r = run("trainer", "--resume --epochs 2 --data " + other.string() + o);
  CHECK(r.status == 2);
  CHECK(lines(r.output) == 1);
  CHECK(r.output.find("--data " + other.string() + " differs from the run's data " + data.string()) !=
        std::string::npos);
  r = run("trainer", "--resume --epochs 2 --preset default" + o);
  CHECK(r.status == 2);
  CHECK(r.output.find("--preset default differs from the run's preset tiny") != std::string::npos);
  CHECK(files() == before);
  // A fresh run into the folder is refused; --overwrite replaces the run.
  r = run("trainer", "--preset tiny --data " + other.string() + " --epochs 1 --hidden 16 --seq-len 16" + o);
  CHECK(r.status == 2);
  CHECK(r.output.find("holds a run") != std::string::npos);
  CHECK(files() == before);

  // Without --data or --preset: the run's corpus and recipe (hidden 16, seq-len 16 from run.json).
  r = run("trainer", "--resume --epochs 2" + o);
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("resuming at epoch 2, batch 0") != std::string::npos);
  CHECK(r.output.find("epoch 2/2: train loss") != std::string::npos);
  CHECK(r.output.find("corpus: 3 files") != std::string::npos);
  CHECK(legato::model::load_checkpoint(out / "last.safetensors").meta.config.hidden == 16);

  r = run("trainer", "--preset tiny --data " + other.string() +
                         " --epochs 1 --hidden 8 --seq-len 16 --batch 4 --eval-pieces 0 --overwrite" + o);
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("corpus: 4 files") != std::string::npos);
  CHECK(legato::model::load_checkpoint(out / "best.safetensors").meta.config.hidden == 8);
  std::filesystem::remove_all(data);
  std::filesystem::remove_all(other);
}

// One dialect (docs/flags.md): every default in --help (the presets' too), a random seed by default
// that the summary line prints and --seed reproduces, and the same names for the same things.
TEST_CASE("programs: one dialect: defaults in --help, a printed random seed, shared flag names") {
  const Run trainer_help = run("trainer", "--help");
  for (const char* shown : {"seed 200, default 100, tiny 20", "seed 0.001, default 0.002, tiny 0.003",
                            "seed 64, default 32, tiny 16", "=out/train", "=default", "validation.txt", "--overwrite"})
    CHECK_MESSAGE(trainer_help.output.find(shown) != std::string::npos, shown);
  const Run composer_help = run("composer", "--help");
  for (const char* shown : {"=500", "> 0=1", "(0 - 1]=1", "=out/composed.mid", "=cpu", "a new one each run",
                            "--against", "--no-primer-in-output"})
    CHECK_MESSAGE(composer_help.output.find(shown) != std::string::npos, shown);
  CHECK(run("miditool", "tokens --help").output.find("=event") != std::string::npos);

  const auto data = legato::testing::write_small_corpus("programs_dialect");
  const auto out = data / "run";
  const Run train =
      run("trainer", "--preset tiny --data " + data.string() +
                         " --epochs 1 --hidden 16 --seq-len 16 --batch 4 --eval-pieces 0 --out " + out.string());
  INFO(train.output);
  REQUIRE(train.status == 0);
  const std::string ck = "--checkpoint " + (out / "best.safetensors").string() + " --length 80";
  auto composed = [&](const std::string& args, std::string& summary) {
    const auto tokens = out / "t.txt";
    const Run r =
        run("composer", ck + " --out " + (out / "c.mid").string() + " --tokens-out " + tokens.string() + args);
    REQUIRE(r.status == 0);
    summary = r.output;
    std::ifstream in(tokens);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  std::string first_summary, second_summary, again_summary;
  const std::string first = composed("", first_summary), second = composed("", second_summary);
  CHECK(first != second);  // a new seed each run
  const size_t at = first_summary.find(", seed ");
  REQUIRE(at != std::string::npos);
  const std::string seed = first_summary.substr(at + 7, first_summary.find('\n', at) - at - 7);
  CAPTURE(seed);
  CHECK(composed(" --seed " + seed, again_summary) == first);  // the printed seed composes it again
  CHECK(again_summary.find(", seed " + seed + "\n") != std::string::npos);

  // One name for one thing: the comparison's corpus is --against in both programs; old names say the new one.
  Run r = run("composer", ck + " --compare-with " + data.string());
  CHECK(r.status == 2);
  CHECK(r.output == "composer: --compare-with is now --against (the same name in every Legato program); see --help\n");
  r = run("miditool", "compare " + (data / "piece0.mid").string() + " --against " + data.string() + " --svg x.svg");
  CHECK(r.status == 2);
  CHECK(r.output.find("--svg is now --densities") != std::string::npos);
  // --out names what miditool writes, as in the other two (the positional form stays).
  const auto roll = out / "roll.svg";
  r = run("miditool", "roll " + (data / "piece0.mid").string() + " --out " + roll.string());
  CHECK(r.status == 0);
  CHECK(std::filesystem::exists(roll));
  // composer says what it rendered, as miditool roll and render do.
  r = run("composer", ck + " --out " + (out / "c.mid").string() + " --svg " + (out / "c.svg").string());
  CHECK(r.status == 0);
  CHECK(r.output.find((out / "c.svg").string() + ": piano roll of ") != std::string::npos);
  std::filesystem::remove_all(data);
}
