#include "model/composition.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <stdexcept>

#include "midi/hands.h"
#include "midi/key.h"
#include "midi/restrike.h"
#include "midi/tokenizer.h"
#include "midi/tokenizer_event.h"
#include "midi/vocabulary.h"
#include "model/generator_persistent.h"
#include "model/onset_grid.h"

namespace legato::model {

SpecialIds special_ids(const std::vector<std::string>& vocab) {
  const midi::Vocabulary v = midi::Vocabulary::in_id_order(vocab);
  auto id = [&](std::string_view token) { return v.contains(token) ? static_cast<int32_t>(v.id(token)) : -1; };
  return {id(midi::kUnk), id(midi::kBos), id(midi::kEos)};
}

std::vector<int32_t> banned_tokens(const std::vector<std::string>& vocab) {
  const SpecialIds special = special_ids(vocab);
  std::vector<int32_t> out;
  for (const int32_t id : {special.unk, special.bos})  // in id order, as the vocabulary lists them
    if (id >= 0) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int32_t> primer_from_piece(std::vector<int32_t> tokens, const std::vector<std::string>& vocab,
                                       int64_t max_length) {
  const int32_t eos = special_ids(vocab).eos;
  while (!tokens.empty() && eos >= 0 && tokens.back() == eos) tokens.pop_back();
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

int64_t steps_of_bars(double bars) { return std::llround(bars * 4 * midi::EventOptions{}.steps_per_quarter); }

int64_t steps_of_seconds(double seconds, double tempo) {
  return std::llround(seconds * (tempo > 0 ? tempo : 120.0) / 60.0 * midi::EventOptions{}.steps_per_quarter);
}

std::optional<midi::EventGrammar> grammar_for(const CheckpointMeta& meta) {
  if (meta.scheme != "event" && meta.scheme != "event:1") return std::nullopt;
  midi::EventOptions options;
  options.version = meta.scheme == "event" ? 2 : 1;
  return midi::EventGrammar(meta.vocab, options);
}

std::vector<int32_t> compose_piece(const MusicLSTM& net, const CheckpointMeta& meta, const std::vector<int32_t>& primer,
                                   const PieceLength& length, const SamplingOptions& sampling, std::mt19937_64& rng,
                                   const TokenListener& on_token, const std::vector<int32_t>& context,
                                   ControlGuide* guide, double grid_strength) {
  const std::vector<int32_t> banned = banned_tokens(meta.vocab);
  const int32_t eos = special_ids(meta.vocab).eos;
  std::optional<midi::EventGrammar> grammar = grammar_for(meta);
  const bool masks = meta.scheme == "event";
  if (guide && !guide->active()) guide = nullptr;
  if (!grammar || (!masks && length.steps <= 0 && !guide))
    return compose(net, primer, length.tokens, sampling, banned, eos, rng, on_token);  // as before the grammar
  grammar->set_min_steps(masks ? length.steps : 0);
  RunningGrid grid(masks ? grid_strength : 0);  // as the grammar steers: the event scheme's current version
  Generator gen(net);
  for (int32_t t : context) grammar->feed(t);
  for (int32_t t : primer) {
    gen.feed(t);
    grammar->feed(t);
    grid.feed(t, *grammar);
  }
  // A primer that ends with its ensemble (--instruments, or drawn from the corpus) gives all of
  // it: the network may not add instruments. After BOS alone it chooses the ensemble itself.
  // A context gives the ensemble of the piece the primer was cut from.
  if (!context.empty() || (!primer.empty() && meta.vocab[static_cast<size_t>(primer.back())].front() == 'I'))
    grammar->close_header();
  std::vector<int32_t> generated;
  for (int64_t k = 0; k < length.tokens; ++k) {
    // Long enough: the time has reached the length and the music lasts it (a rest at the end
    // would not sound).
    if (length.steps > 0 && grammar->now() >= length.steps && grammar->music_end() >= length.steps) break;
    Tensor logits = gen.logits();
    float* z = logits.data<float>();
    for (int32_t b : banned) z[b] = -1e30f;
    if (guide) guide->bias(z, logits.numel(), *grammar);
    grid.bias(z, logits.numel(), *grammar);
    if (masks) grammar->mask(z);
    const int32_t next = sample_token(z, logits.numel(), sampling, rng);
    if (next == eos) break;
    generated.push_back(next);
    if (on_token && !on_token(generated)) break;
    gen.feed(next);
    grammar->feed(next);
    grid.feed(next, *grammar);
    if (guide) guide->feed(next, *grammar);
  }
  return generated;
}

std::string generation_of(const MusicLSTM& net, const CheckpointMeta& meta) {
  if (meta.scheme == "event")
    return "stepped token by token: the event grammar masks each token (the persistent kernel takes one banned "
           "list per piece)";
  return device_generation(net);
}

std::vector<int32_t> ensemble_tokens(const CheckpointMeta& meta, std::vector<int> instruments) {
  std::sort(instruments.begin(), instruments.end());
  instruments.erase(std::unique(instruments.begin(), instruments.end()), instruments.end());
  std::vector<int32_t> ids;
  for (int i : instruments) {
    const std::string token = midi::ensemble_token(i);
    const auto at = std::find(meta.vocab.begin(), meta.vocab.end(), token);
    if (at == meta.vocab.end())
      throw std::invalid_argument((i < 0 ? std::string("drums") : "program " + std::to_string(i)) +
                                  " never plays in the checkpoint's training pieces (its vocabulary has no " + token +
                                  ")");
    ids.push_back(static_cast<int32_t>(at - meta.vocab.begin()));
  }
  return ids;
}

std::vector<int32_t> draw_ensemble(const CheckpointMeta& meta, std::mt19937_64& rng) {
  if (meta.ensembles.empty()) return {};
  return meta.ensembles[std::uniform_int_distribution<size_t>(0, meta.ensembles.size() - 1)(rng)];
}

namespace {
// Where the ensemble header of `tokens` ends (1 past its last token); 0 without BOS.
size_t header_end(const CheckpointMeta& meta, const std::vector<int32_t>& tokens) {
  if (tokens.empty() || tokens[0] != special_ids(meta.vocab).bos) return 0;
  size_t k = 1;
  while (k < tokens.size() && meta.vocab[static_cast<size_t>(tokens[k])].front() == 'I') ++k;
  return k;
}
}  // namespace

std::vector<int> ensemble_of(const CheckpointMeta& meta, const std::vector<int32_t>& tokens) {
  std::vector<int> out;
  for (size_t k = 1; k < header_end(meta, tokens); ++k) {
    const std::string& t = meta.vocab[static_cast<size_t>(tokens[k])];
    out.push_back(t == "IDRUMS" ? -1 : std::stoi(t.substr(1)));
  }
  return out;
}

std::vector<int32_t> piece_primer(const CheckpointMeta& meta, std::vector<int32_t> primer,
                                  const std::vector<int32_t>& chosen, std::mt19937_64& rng) {
  if (meta.scheme != "event" || primer.size() != 1 || primer[0] != special_ids(meta.vocab).bos) return primer;
  const std::vector<int32_t> header = chosen.empty() ? draw_ensemble(meta, rng) : chosen;
  primer.insert(primer.end(), header.begin(), header.end());
  return primer;
}

PrimerWindow primer_window(const CheckpointMeta& meta, const std::vector<int32_t>& piece, int64_t seq_len) {
  if (static_cast<int64_t>(piece.size()) <= seq_len) return {{}, piece};
  const auto cut = piece.end() - seq_len;
  PrimerWindow w{{}, std::vector<int32_t>(cut, piece.end())};
  const size_t head = meta.scheme == "event" ? header_end(meta, piece) : 0;
  if (head == 0) return w;
  w.context.assign(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(head));
  // The instrument playing at the cut: the last program token before it (the tokenizer names an
  // instrument only when it changes, so the tokens after the cut may not).
  for (auto at = cut; at != piece.begin() + static_cast<std::ptrdiff_t>(head);)
    if (const std::string& t = meta.vocab[static_cast<size_t>(*--at)];
        t == "DRUMS" || (t.size() > 1 && t[0] == 'P' && std::isdigit(static_cast<unsigned char>(t[1])))) {
      w.context.push_back(*at);
      break;
    }
  return w;
}

int64_t longest_run(const std::vector<int32_t>& tokens) {
  int64_t best = 0, run = 0;
  for (size_t k = 0; k < tokens.size(); ++k) {
    run = k > 0 && tokens[k] == tokens[k - 1] ? run + 1 : 1;
    best = std::max(best, run);
  }
  return best;
}

midi::Score score_of(const std::string& scheme, const std::vector<std::string>& vocab,
                     const std::vector<int32_t>& tokens, double tempo, int shift, bool two_hands) {
  std::vector<std::string> text;
  for (int32_t t : tokens) text.push_back(vocab[static_cast<size_t>(t)]);
  midi::Score score = midi::make_tokenizer(scheme)->detokenize(text);
  midi::end_restruck_notes(score);  // one track per instrument in the written file
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
  return key_shift_to(std::discrete_distribution<int>(keys.begin(), keys.end())(rng));
}

int key_shift_to(int tonic) { return -midi::shift_to_c(tonic); }

}  // namespace legato::model
