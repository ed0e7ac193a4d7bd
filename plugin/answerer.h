#pragma once
// The plugin's answering engine. It runs on the host's worker thread (it allocates and reads
// files), never in run(): a checkpoint of the event scheme, a heard phrase turned into its tokens,
// and an answer composed from the state the phrase leaves the network in. The smallest engine the
// plugin needs, over model/composition.h; live/ (issue 26 section 1) is the player's engine.
#include <cstdint>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/checkpoint.h"

namespace legato::plugin {

// A note in grid steps (the checkpoint's steps_per_quarter) from the start of its phrase or answer.
struct GridNote {
  float onset = 0, duration = 0;
  uint8_t pitch = 60, velocity = 64;
};

struct AnswerSettings {
  double temperature = 1.0, top_p = 1.0;
  int bars = 4;
  uint64_t seed = 1;
};

struct Answer {
  std::vector<GridNote> notes;  // by onset, each inside the answer's length
  int64_t length = 0;           // grid steps the token stream advanced: where a next answer starts
};

class Answerer {
 public:
  // Throws std::runtime_error naming the file and the problem.
  explicit Answerer(const std::filesystem::path& checkpoint);
  static int steps_per_quarter();

  // The answer to `phrase` (onsets from its first note), starting `start` steps after that onset.
  Answer answer(const std::vector<GridNote>& phrase, int64_t start, const AnswerSettings& settings);
  // The next bars after the last answer, from the state it left (continue mode).
  Answer go_on(const AnswerSettings& settings);

 private:
  std::vector<int32_t> header_tokens() const;
  void rest(int64_t steps);
  int64_t steps_in(
      const std::vector<int32_t>& tokens) const;  // the time its shifts advance  // time shifts appended to the stream
  Answer compose(const AnswerSettings& settings);
  Answer notes_of(const std::vector<int32_t>& tokens, int64_t limit) const;

  model::LoadedCheckpoint checkpoint_;
  std::unordered_map<std::string, int32_t> ids_;
  int max_shift_ = 0;
  std::vector<int32_t> stream_;  // phrase and answers so far, without EOS
};

}  // namespace legato::plugin
