// trainer --controls and composer --key / --density / --style as a person runs them
// (docs/controls.md): the controls named in the summary, and one line with exit code 2 for each refusal.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "midi/writer.h"
#include "model/checkpoint.h"
#include "run_program.h"
#include "score_builder.h"
#include "temp_dir.h"

namespace {

using legato::testing::run_program;

size_t lines_of(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("programs: trainer --controls, composer --key --density --style; refusals are one line") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_controls");
  for (int k = 0; k < 4; ++k) {
    const std::string style = k < 2 ? "calm" : "busy";
    std::filesystem::create_directories(data / style);
    std::string name = "p";  // appended: GCC 12 warns falsely about "p" + std::to_string(k)
    name += std::to_string(k) + ".mid";
    midi::Score s = legato::testing::scale_piece(2 * k, k % 2 == 1, 100, 36);
    for (size_t n = 0, end = s.notes.size(); n < end; ++n)  // k more notes at each onset: four densities
      for (int extra = 1; extra <= k; ++extra) s.notes.push_back(s.notes[n]), s.notes.back().pitch += 12 * extra;
    std::stable_sort(s.notes.begin(), s.notes.end(),
                     [](const midi::Note& a, const midi::Note& b) { return a.start_tick < b.start_tick; });
    midi::write_midi_file(s, data / style / name);
  }
  const std::string common = "--preset tiny --data " + data.string() +
                             " --epochs 1 --hidden 16 --seq-len 24 --batch 4 --eval-pieces 0 --val-split 0 --out ";
  const auto trained =
      run_program("trainer", common + (data / "ctl").string() + " --controls key,density --style-from-folders");
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  REQUIRE(run_program("trainer", common + (data / "plain").string()).status == 0);

  const std::string ck = " --checkpoint " + (data / "ctl" / "best.safetensors").string();
  const std::string out = " --out " + (data / "c.mid").string();
  const auto composed =
      run_program("composer", ck + out + " --key \"D minor\" --density high --style calm --length 40 --seed 2");
  INFO(composed.output);
  REQUIRE(composed.status == 0);
  CHECK(composed.output.find("controls: key D minor, density high, style calm") != std::string::npos);
  const auto drawn = run_program("composer", ck + out + " --length 40 --seed 2");
  CHECK(drawn.status == 0);
  CHECK(drawn.output.find("controls: key ") != std::string::npos);  // drawn from the corpus, and said

  const std::string plain_ck = " --checkpoint " + (data / "plain" / "best.safetensors").string();
  const std::string primer = " --primer " + (data / "calm" / "p0.mid").string();
  for (const std::string& args :
       {ck + " --density dense", ck + " --style jazz", ck + " --key \"H minor\"", ck + " --key Dm" + primer,
        ck + " --density low --infill " + (data / "calm" / "p0.mid").string() + " --bars 1-2", plain_ck + " --key C",
        ck + " --density high --density-strength -1"}) {
    const auto r = run_program("composer", args + out);
    INFO(args, "\n", r.output);
    CHECK(r.status == 2);
    CHECK(lines_of(r.output) == 1);
  }
  CHECK(run_program("composer", ck + out + " --density dense").output ==
        "composer: --density dense: unknown to this checkpoint; known: low, mid, high\n");
  CHECK(run_program("composer", plain_ck + out + " --key C").output ==
        "composer: --key C: this checkpoint was trained without control tokens (trainer --controls)\n");
  for (const std::string& args : {std::string(" --controls tempo"), std::string(" --controls key --scheme seed")}) {
    const auto r = run_program("trainer", common + (data / "bad").string() + args);
    INFO(args, "\n", r.output);
    CHECK(r.status == 2);
    CHECK(lines_of(r.output) == 1);
  }
  CHECK(run_program("composer", "--help").output.find("--density") != std::string::npos);
  CHECK(run_program("composer", "--help").output.find("--key-strength") != std::string::npos);
  CHECK(run_program("trainer", "--help").output.find("--style-from-folders") != std::string::npos);
}

TEST_CASE("programs: composer --style composes at its profile's range and length; flags override it") {
  namespace midi = legato::midi;
  const auto data = legato::testing::temp_dir("programs_style_profile");
  for (int k = 0; k < 4; ++k) {  // calm pieces low and short, busy ones high and long
    const std::string style = k < 2 ? "calm" : "busy";
    std::filesystem::create_directories(data / style);
    std::string name = "p";
    name += std::to_string(k) + ".mid";
    midi::write_midi_file(legato::testing::scale_piece(2 * k, k % 2 == 1, k < 2 ? 60 : 140, k < 2 ? 36 : 72),
                          data / style / name);
  }
  const auto trained = run_program("trainer", "--preset tiny --data " + data.string() +
                                                  " --epochs 1 --hidden 16 --seq-len 24 --batch 4 --eval-pieces 0 "
                                                  "--val-split 0 --style-from-folders --out " +
                                                  (data / "run").string());
  INFO(trained.output);
  REQUIRE(trained.status == 0);
  const auto ck_path = data / "run" / "best.safetensors";
  const legato::model::StyleProfile profile =
      *legato::model::style_profile(legato::model::load_checkpoint(ck_path).meta, "calm");
  std::ostringstream explicit_flags;
  explicit_flags.precision(17);
  explicit_flags << " --pitch-range " << profile.pitch_lo << "-" << profile.pitch_hi << " --seconds "
                 << profile.seconds;
  const std::string ck = " --checkpoint " + ck_path.string() + " --style calm --seed 2 --num-outputs 2";
  auto bytes = [&](const std::string& name) {
    std::ifstream f(data / name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  auto compose = [&](const std::string& name, const std::string& flags) {
    const auto r = run_program("composer", ck + flags + " --out " + (data / (name + ".mid")).string());
    INFO(flags, "\n", r.output);
    CHECK(r.status == 0);
    return bytes(name + "_1.mid") + bytes(name + "_2.mid");
  };
  const auto said = run_program("composer", ck + " --out " + (data / "said.mid").string());
  CHECK(said.output.find("style calm's profile: pitch range " + std::to_string(profile.pitch_lo) + "-" +
                         std::to_string(profile.pitch_hi) + " (at --range-strength 8), ") != std::string::npos);
  const std::string by_profile = compose("profile", "");
  CHECK_FALSE(by_profile.empty());
  CHECK(by_profile == compose("explicit", explicit_flags.str()));  // the profile is those flags
  CHECK(by_profile != compose("free", " --range-strength 0 --seconds " + std::to_string(profile.seconds)));
  CHECK(by_profile != compose("tokens", " --length 500"));  // --length: main's 500 tokens, not the style's seconds
}
