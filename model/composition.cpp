#include "model/composition.h"

#include <optional>

#include "midi/hands.h"
#include "midi/key.h"
#include "midi/tokenizer.h"
#include "model/generator_persistent.h"

namespace legato::model {

std::vector<int32_t> banned_tokens(const std::vector<std::string>& vocab) {
  std::vector<int32_t> out;
  for (size_t k = 0; k < vocab.size(); ++k)
    if (vocab[k] == "UNK" || vocab[k] == "BOS") out.push_back(static_cast<int32_t>(k));
  return out;
}

std::vector<int32_t> primer_from_piece(std::vector<int32_t> tokens, const std::vector<std::string>& vocab,
                                       int64_t max_length) {
  auto is = [&](int32_t t, const char* name) {
    return t >= 0 && static_cast<size_t>(t) < vocab.size() && vocab[t] == name;
  };
  while (!tokens.empty() && is(tokens.back(), "EOS")) tokens.pop_back();
  if (max_length > 0 && static_cast<int64_t>(tokens.size()) > max_length)
    tokens.erase(tokens.begin(), tokens.end() - max_length);
  return tokens;
}

std::vector<int32_t> compose(const MusicLSTM& net, const std::vector<int32_t>& primer, int64_t length,
                             const SamplingOptions& sampling, const std::vector<int32_t>& banned, int32_t eos,
                             std::mt19937_64& rng, const TokenListener& on_token) {
  // On the GPU the whole piece is one launch when the network fits on chip (its random numbers
  // come from one draw of rng); otherwise, and on the CPU, the network is stepped token by token.
  if (net.device() == Device::CUDA && !primer.empty())
    if (auto tokens = compose_persistent(net, primer, length, sampling, banned, eos, rng(), on_token)) return *tokens;
  Generator gen(net);
  std::vector<int32_t> generated;
  for (int32_t t : primer) gen.feed(t);
  for (int64_t k = 0; k < length; ++k) {
    Tensor logits = gen.logits();
    float* z = logits.data<float>();
    for (int32_t b : banned) z[b] = -1e30f;
    const int32_t next = sample_token(z, logits.numel(), sampling, rng);
    if (next == eos) break;  // the piece ends here
    generated.push_back(next);
    if (on_token && !on_token(generated)) break;
    gen.feed(next);
  }
  return generated;
}

midi::Score score_of(const std::string& scheme, const std::vector<std::string>& vocab,
                     const std::vector<int32_t>& tokens, double tempo, int shift, bool two_hands) {
  std::vector<std::string> text;
  for (int32_t t : tokens) text.push_back(vocab[static_cast<size_t>(t)]);
  midi::Score score = midi::make_tokenizer(scheme)->detokenize(text);
  if (shift != 0)
    for (const int s : {shift, shift > 0 ? shift - 12 : shift + 12})  // an octave less where notes leave 0..127
      if (std::optional<midi::Score> moved = midi::transpose(score, s)) {
        score = std::move(*moved);
        break;
      }
  if (two_hands) midi::split_hands(score);
  if (tempo > 0) {
    score.tempo_map = {midi::TempoChange{0, static_cast<int>(60e6 / tempo + 0.5), 0.0}};
    score.update_times();
  }
  return score;
}

int draw_key_shift(const std::vector<int64_t>& keys, std::mt19937_64& rng) {
  if (keys.empty()) return 0;
  const int tonic = std::discrete_distribution<int>(keys.begin(), keys.end())(rng);
  return -midi::shift_to_c(tonic);
}

}  // namespace legato::model
