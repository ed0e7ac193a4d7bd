#include "plugin/answerer.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <stdexcept>

#include "midi/tokenizer.h"
#include "model/composition.h"

namespace legato::plugin {

namespace {

// "T12", "N60": a token's name. (Built by +=: GCC 12 warns falsely on "T" + std::to_string.)
std::string name(char kind, int64_t number) {
  std::string token(1, kind);
  token += std::to_string(number);
  return token;
}

int steps_of(float value) { return std::max(1, static_cast<int>(std::lround(value))); }

int largest_number(const std::vector<std::string>& vocab, char prefix) {
  int largest = 0;
  for (const std::string& token : vocab)
    if (token.size() > 1 && token[0] == prefix && std::isdigit(static_cast<unsigned char>(token[1])))
      largest = std::max(largest, std::stoi(token.substr(1)));
  return largest;
}

}  // namespace

Answerer::Answerer(const std::filesystem::path& checkpoint) {
  if (const std::string problem = model::checkpoint_problem(checkpoint); !problem.empty())
    throw std::runtime_error(checkpoint.string() + ": " + problem);
  checkpoint_ = model::load_checkpoint(checkpoint);
  // The phrase is written in the event scheme's tokens; a seed-scheme network knows no durations.
  if (checkpoint_.meta.scheme != "event" && checkpoint_.meta.scheme != "event:1")
    throw std::runtime_error(checkpoint.string() + ": a " + checkpoint_.meta.scheme +
                             "-scheme checkpoint; the plugin needs an event-scheme one (trainer --scheme event)");
  const auto& vocab = checkpoint_.meta.vocab;
  for (size_t id = 0; id < vocab.size(); ++id) ids_[vocab[id]] = static_cast<int32_t>(id);
  max_shift_ = largest_number(vocab, 'T');
  if (max_shift_ == 0 || !ids_.count("N60") || !ids_.count("D1"))
    throw std::runtime_error(checkpoint.string() + ": its vocabulary has no time shifts, notes or durations");
}

int Answerer::steps_per_quarter() { return midi::EventOptions{}.steps_per_quarter; }

void Answerer::rest(int64_t steps) {
  while (steps > 0) {
    const int64_t shift = std::min<int64_t>(steps, max_shift_);
    if (const auto at = ids_.find(name('T', shift)); at != ids_.end()) stream_.push_back(at->second);
    steps -= shift;
  }
}

// BOS, a piano ensemble (version 2) and the piano: how the event tokenizer begins a piano piece.
std::vector<int32_t> Answerer::header_tokens() const {
  std::vector<int32_t> tokens;
  const bool versioned = checkpoint_.meta.scheme == "event";
  for (const char* token : {"BOS", versioned ? "I0" : "", "P0"})
    if (const auto at = ids_.find(token); at != ids_.end()) tokens.push_back(at->second);
  return tokens;
}

// Each note as N<pitch> D<steps>... after the time shift to its onset, as the tokenizer writes them.
Answer Answerer::answer(const std::vector<GridNote>& phrase, int64_t start, const AnswerSettings& settings) {
  stream_ = header_tokens();
  int64_t now = 0;
  const int max_duration = largest_number(checkpoint_.meta.vocab, 'D');
  for (const GridNote& note : phrase) {
    const int64_t onset = std::lround(note.onset);
    rest(onset - now);
    now = std::max(now, onset);
    const auto pitch = ids_.find(name('N', note.pitch));
    if (pitch == ids_.end()) continue;  // a pitch the corpus never had
    stream_.push_back(pitch->second);
    for (int left = steps_of(note.duration); left > 0; left -= max_duration)
      stream_.push_back(ids_.at(name('D', std::min(left, max_duration))));
  }
  rest(start - now);
  return compose(settings);
}

int64_t Answerer::steps_in(const std::vector<int32_t>& tokens) const {
  int64_t steps = 0;
  for (int32_t id : tokens) {
    const std::string& token = checkpoint_.meta.vocab[static_cast<size_t>(id)];
    if (token.size() > 1 && token[0] == 'T') steps += std::stoi(token.substr(1));
  }
  return steps;
}

Answer Answerer::go_on(const AnswerSettings& settings) {
  if (stream_.empty()) return {};
  return compose(settings);
}

Answer Answerer::compose(const AnswerSettings& settings) {
  const int64_t limit = model::steps_of_bars(settings.bars);
  model::SamplingOptions sampling;
  sampling.temperature = settings.temperature;
  sampling.top_p = settings.top_p;
  std::mt19937_64 rng(settings.seed);
  const model::PrimerWindow window = model::primer_window(checkpoint_.meta, stream_, checkpoint_.meta.seq_len);
  // compose_piece counts the length from the start of what it is fed, the window included.
  const int64_t fed = steps_in(window.context) + steps_in(window.tokens);
  const model::PieceLength length{limit * 8, fed + limit};  // tokens: a cap well above a dense bar's
  const std::vector<int32_t> tokens = model::compose_piece(*checkpoint_.net, checkpoint_.meta, window.tokens, length,
                                                           sampling, rng, {}, window.context);
  stream_.insert(stream_.end(), tokens.begin(), tokens.end());
  Answer answer = notes_of(tokens, limit);
  // The stream rests to the answer's end, so that a next answer starts there.
  if (answer.length < limit) rest(limit - answer.length);
  answer.length = std::max(answer.length, limit);
  return answer;
}

// The notes of answer tokens (pitched ones: the player's channel carries no drums), those that begin
// inside `limit` steps, cut at it.
Answer Answerer::notes_of(const std::vector<int32_t>& tokens, int64_t limit) const {
  Answer answer;
  bool drums = false, open = false;  // open: the last note's durations may follow
  for (int32_t id : tokens) {
    const std::string& token = checkpoint_.meta.vocab[static_cast<size_t>(id)];
    const char kind = token == "DRUMS" ? 'P' : token.empty() ? ' ' : token[0];
    if (kind == 'T') answer.length += std::stoi(token.substr(1));
    if (kind == 'P') drums = token == "DRUMS";
    if (kind == 'D' && open) answer.notes.back().duration += static_cast<float>(std::stoi(token.substr(1)));
    if (kind != 'D') open = kind == 'N' && !drums && answer.length < limit;
    if (kind == 'N' && open)
      answer.notes.push_back(
          {static_cast<float>(answer.length), 0, static_cast<uint8_t>(std::stoi(token.substr(1))), 80});
  }
  for (GridNote& note : answer.notes) note.duration = std::min(note.duration, static_cast<float>(limit) - note.onset);
  std::erase_if(answer.notes, [](const GridNote& n) { return n.duration <= 0; });
  return answer;
}

}  // namespace legato::plugin
