// bench_live: how soon composer --listen answers and how late its notes go out, measured through
// the live engine's own sending thread (live/send_thread.h) with the `default` preset's network
// (untrained: the cost of a token does not depend on the weights). A player plays a short
// phrase, falls silent for --answer-after beats, and plays the next phrase a moment into the
// answer, which cuts it, --answers times. It prints the delay from the end of each silence (the
// player's last note-off, as it was handed to the session, and --answer-after beats) to the
// answer's first note going out, and the lateness of every answered note-on and note-off against
// its scheduled time, p50, p99 and max. Both are measured here, from what was played and what
// went out, not from the session's own account.
#include <omp.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "live/send_thread.h"
#include "live/session.h"
#include "model/presets.h"
#include "tools/cli_errors.h"

namespace {

using namespace legato;

// Every token the event scheme (version 2) can write: a vocabulary at least as large as a
// trained checkpoint's, so the head's product is no cheaper than in use.
model::CheckpointMeta full_event_meta() {
  model::CheckpointMeta meta;
  meta.scheme = "event";
  meta.vocab = {"UNK", "BOS", "EOS", "IDRUMS", "DRUMS"};
  const auto add = [&](char kind, int value) {
    meta.vocab.push_back(std::string(1, kind).append(std::to_string(value)));
  };
  for (int p = 0; p < 128; ++p) add('I', p), add('P', p), add('N', p);
  for (int d = 1; d <= 96; ++d) add('D', d);
  for (int t = 1; t <= 48; ++t) add('T', t);
  meta.config = model::preset("default").model;
  meta.config.vocab = int64_t(meta.vocab.size());
  return meta;
}

// Notes when each answered message went out against when it was due, and when each note-on went
// out (on the sending thread: preallocated and written through once beforehand, so that the
// sending thread neither allocates nor takes a page fault, which can wait on the process's memory
// lock while another thread of it maps memory).
struct Timing final : live::MidiSink {
  Timing() : lateness(1 << 20, 0.0), note_ons(1 << 20, 0.0) {}
  void send(const uint8_t* bytes, size_t, double due) override {
    const double now = live::steady_seconds();
    if (late_count < lateness.size()) lateness[late_count++] = now - due;
    if ((bytes[0] & 0xF0) == 0x90 && on_count < note_ons.size()) note_ons[on_count++] = now;
  }
  std::vector<double> taken(const std::vector<double>& v, size_t n) const { return {v.begin(), v.begin() + long(n)}; }
  std::vector<double> lateness, note_ons;
  size_t late_count = 0, on_count = 0;
};

// What the player did in one round: when its silence ended and when it played again.
struct Round {
  double silence_end, next_phrase;
};

// Per round, the first note-on that went out between the phrase's last note-off and the next
// phrase, against the silence's end (negative: it sounded while the player was still silent);
// `unanswered` counts the rounds without one.
std::vector<double> first_note_delays(const std::vector<Round>& rounds, double silence, std::vector<double> note_ons,
                                      int& unanswered) {
  std::sort(note_ons.begin(), note_ons.end());
  std::vector<double> delays;
  unanswered = 0;
  for (const Round& r : rounds) {
    const auto first = std::lower_bound(note_ons.begin(), note_ons.end(), r.silence_end - silence);
    if (first == note_ons.end() || *first >= r.next_phrase)
      ++unanswered;
    else
      delays.push_back(*first - r.silence_end);
  }
  return delays;
}

std::string percentiles(std::vector<double> seconds) {
  if (seconds.empty()) return "none";
  std::sort(seconds.begin(), seconds.end());
  const auto at = [&](double q) { return seconds[size_t(q * double(seconds.size() - 1) + 0.5)] * 1e3; };
  char line[160];
  std::snprintf(line, sizeof line, "p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu)", at(0.5), at(0.99),
                seconds.back() * 1e3, seconds.size());
  return line;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

// One phrase of four eighth notes, then the silence, then the next phrase `cut_after` seconds into
// the answer.
std::vector<Round> play_rounds(live::Session& session, int answers, double beat, double answer_after,
                               double cut_after) {
  const int pitches[] = {60, 62, 64, 65, 67, 69, 71, 72};
  std::vector<Round> rounds;
  for (int round = 0; round < answers; ++round) {
    const double start = live::steady_seconds();
    if (!rounds.empty()) rounds.back().next_phrase = start;
    double last_off = start;
    for (int k = 0; k < 4; ++k) {
      const uint8_t pitch = uint8_t(pitches[(round * 3 + k * 5) % 8]);
      const uint8_t on[3] = {0x90, pitch, 100}, off[3] = {0x80, pitch, 0};
      session.midi_in(on, 3, live::steady_seconds());
      std::this_thread::sleep_for(std::chrono::duration<double>(beat / 2));
      last_off = live::steady_seconds();
      session.midi_in(off, 3, last_off);
    }
    rounds.push_back({last_off + answer_after * beat, 1e300});
    std::this_thread::sleep_for(std::chrono::duration<double>(answer_after * beat + cut_after));
  }
  return rounds;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Measure composer --listen's answer delay and note lateness (docs/live.md).", "bench_live"};
  int answers = 200;
  double tempo = 240, answer_after = 2, cut_after = 0.6;
  app.add_option("--answers", answers, "Phrases to answer")->check(tools::whole_in(1, 100000))->capture_default_str();
  app.add_option("--tempo", tempo, "Beats per minute")->check(tools::number_in(30, 400))->capture_default_str();
  app.add_option("--answer-after", answer_after, "Beats of silence")
      ->check(tools::number_in(0.25, 16))
      ->capture_default_str();
  app.add_option("--cut-after", cut_after, "Seconds of each answer before the next phrase")
      ->check(tools::number_in(0.05, 60))
      ->capture_default_str();
  if (const int code = tools::parse_command_line(app, argc, argv); code >= 0) return code;  // 2: one line
  // As composer --listen: the network leaves a core to the sending thread.
  omp_set_num_threads(std::max(1, omp_get_max_threads() - 1));
  const model::CheckpointMeta meta = full_event_meta();
  const model::MusicLSTM net(meta.config);
  live::SessionOptions options;
  options.tempo = tempo;
  options.answer_after = answer_after;
  live::Session session(net, meta, options);
  Timing timing;
  std::vector<Round> rounds;
  {
    live::SendThread sender(session, timing);
    rounds = play_rounds(session, answers, 60.0 / tempo, answer_after, cut_after);
  }
  int unanswered = 0;
  const std::vector<double> delays = first_note_delays(rounds, answer_after * 60.0 / tempo,
                                                       timing.taken(timing.note_ons, timing.on_count), unanswered);
  const auto early = std::count_if(delays.begin(), delays.end(), [](double d) { return d < 0; });
  std::printf(
      "bench_live: %s, %d threads for the network; the default preset's network (%lld x %lld, vocabulary %lld)\n",
      cpu_name().c_str(), omp_get_max_threads(), (long long)meta.config.layers, (long long)meta.config.hidden,
      (long long)meta.config.vocab);
  std::printf("  %llu answers at %.0f bpm after %.2g beats of silence (%llu composed during a silence and dropped)\n",
              (unsigned long long)session.stats().answers.load(), tempo, answer_after,
              (unsigned long long)session.stats().answers_dropped.load());
  std::printf("  silence end to first answered note: %s\n", percentiles(delays).c_str());
  std::printf("  lateness of answered notes:         %s\n",
              percentiles(timing.taken(timing.lateness, timing.late_count)).c_str());
  std::printf("  rounds unanswered: %d; answers begun before their silence ended: %lld\n", unanswered,
              (long long)early);
  const live::SessionStats& stats = session.stats();
  const double onsets = double(std::max<uint64_t>(1, stats.first_onsets.load()));
  std::printf("  per answer, before its first onset was complete: %.1f tokens, %.2f ms of the engine's time\n",
              double(stats.first_onset_tokens.load()) / onsets,
              double(stats.first_onset_microseconds.load()) / onsets / 1e3);
  return session.failure().empty() && unanswered == 0 && early == 0 ? 0 : 1;
}
