// composer: writes new music from a trained checkpoint, one token at a time with the LSTM state
// carried between tokens; or, with --evaluate, scores a checkpoint on MIDI files. --play sends the
// notes to a MIDI port while they are generated; --wav and --svg render the piece afterwards.
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <sstream>

#include "cli_errors.h"
#include "device.h"
#include "midi/tokenizer.h"
#include "midi/writer.h"
#include "model/checkpoint.h"
#include "model/corpus.h"
#include "model/evaluate.h"
#include "model/generator.h"
#include "model/trainer.h"
#ifdef LEGATO_HAVE_RTMIDI
#include "render/midi_out.h"
#include "render/player.h"
#endif
#ifdef LEGATO_HAVE_FLUIDSYNTH
#include "render/audio.h"
#endif
#include "render/piano_roll.h"

namespace {

using namespace legato;

struct Piece {
  std::vector<int32_t> primer, generated;
};

// Tokens that must never be sampled: the unknown-token marker and a second beginning.
std::vector<int32_t> banned_tokens(const std::vector<std::string>& vocab) {
  std::vector<int32_t> out;
  for (size_t k = 0; k < vocab.size(); ++k)
    if (vocab[k] == "UNK" || vocab[k] == "BOS") out.push_back(static_cast<int32_t>(k));
  return out;
}

// `on_token` (may be empty) sees the generated tokens after each new one; false stops early.
using TokenListener = std::function<bool(const std::vector<int32_t>& generated)>;

Piece compose(const model::MusicLSTM& net, const std::vector<int32_t>& primer, int64_t length,
              const model::SamplingOptions& sampling, const std::vector<int32_t>& banned, int32_t eos,
              std::mt19937_64& rng, const TokenListener& on_token = {}) {
  model::Generator gen(net);
  Piece piece{primer, {}};
  for (int32_t t : primer) gen.feed(t);
  for (int64_t k = 0; k < length; ++k) {
    Tensor logits = gen.logits();
    float* z = logits.data<float>();
    for (int32_t b : banned) z[b] = -1e30f;
    const int32_t next = model::sample_token(z, logits.numel(), sampling, rng);
    if (next == eos) break;  // the piece ends here
    piece.generated.push_back(next);
    if (on_token && !on_token(piece.generated)) break;
    gen.feed(next);
  }
  return piece;
}

// The score of generated tokens, at the chosen tempo (0: the tokenizer's own, 120 bpm).
midi::Score score_of(const midi::Tokenizer& tokenizer, const std::vector<std::string>& vocab,
                     const std::vector<int32_t>& tokens, double tempo) {
  std::vector<std::string> text;
  for (int32_t t : tokens) text.push_back(vocab[static_cast<size_t>(t)]);
  midi::Score score = tokenizer.detokenize(text);
  if (tempo > 0) {
    score.tempo_map = {midi::TempoChange{0, static_cast<int>(60e6 / tempo + 0.5), 0.0}};
    score.update_times();
  }
  return score;
}

std::atomic<bool> g_stop{false};

#ifdef LEGATO_HAVE_RTMIDI
extern "C" void on_signal(int) { g_stop = true; }

// Feeds a Player while tokens come: after each token the tokens so far become a score, and every
// note that starts before its latest onset is final (time only moves forward in both schemes;
// notes at the latest onset may still get duration tokens or chord partners), so it is scheduled.
class LiveFeed {
 public:
  LiveFeed(render::Player& player, const midi::Tokenizer& tokenizer, const std::vector<std::string>& vocab, double tempo)
      : player_(player), tokenizer_(tokenizer), vocab_(vocab), tempo_(tempo) {}

  void update(const std::vector<int32_t>& generated, bool last) {
    const midi::Score score = score_of(tokenizer_, vocab_, generated, tempo_);
    if (score.notes.empty()) return;
    if (!performer_) {
      timing_.ticks_per_quarter = score.ticks_per_quarter;
      timing_.tempo_map = score.tempo_map;
      performer_.emplace(timing_);
    }
    size_t final_count = score.notes.size();
    if (!last) {
      int64_t latest = 0;
      for (const midi::Note& n : score.notes) latest = std::max(latest, n.start_tick);
      final_count = 0;
      while (final_count < score.notes.size() && score.notes[final_count].start_tick < latest) ++final_count;
    }
    if (final_count <= scheduled_) return;
    std::vector<render::TimedMessage> messages;
    performer_->add(std::span(score.notes).subspan(scheduled_, final_count - scheduled_), messages);
    render::sort_messages(messages);
    player_.schedule(std::move(messages));
    scheduled_ = final_count;
  }

 private:
  render::Player& player_;
  const midi::Tokenizer& tokenizer_;
  const std::vector<std::string>& vocab_;
  double tempo_;
  midi::Score timing_;  // tempo map and division of the piece: turns ticks into seconds
  std::optional<render::Performer> performer_;
  size_t scheduled_ = 0;
};
#endif

int64_t longest_run(const std::vector<int32_t>& tokens) {
  int64_t best = 0, run = 0;
  for (size_t k = 0; k < tokens.size(); ++k) {
    run = k > 0 && tokens[k] == tokens[k - 1] ? run + 1 : 1;
    best = std::max(best, run);
  }
  return best;
}

std::filesystem::path numbered(const std::filesystem::path& path, int k, int count) {
  if (count == 1) return path;
  return path.parent_path() / (path.stem().string() + "_" + std::to_string(k + 1) + path.extension().string());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Compose music from a trained checkpoint (or --evaluate it on MIDI files).", "composer"};
  std::string checkpoint, primer_file, primer_tokens, device = "cpu", out = "out/composed.mid", tokens_out;
  std::vector<std::string> evaluate;
  int64_t length = 500;
  int num_outputs = 1;
  double tempo = 0;
  uint64_t seed = 1;
  model::SamplingOptions sampling;
  app.add_option("--checkpoint", checkpoint, "A .safetensors checkpoint from trainer")->required();
  app.add_option("--length", length, "Tokens to generate")->check(CLI::Range(int64_t{1}, int64_t{1000000}))
      ->capture_default_str();
  app.add_option("--temperature", sampling.temperature, "Sampling temperature")->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--top-k", sampling.top_k, "Sample among the K likeliest tokens (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--top-p", sampling.top_p, "Nucleus sampling: the smallest set with this probability")
      ->check(CLI::Range(1e-9, 1.0));
  app.add_flag("--greedy", sampling.greedy, "Always take the likeliest token (the seed's argmax)");
  app.add_option("--seed", seed, "Random seed");
  auto* pf = app.add_option("--primer", primer_file, "Start from this MIDI file's tokens")->check(CLI::ExistingFile);
  app.add_option("--primer-tokens", primer_tokens, "Start from these tokens (space separated)")->excludes(pf);
  app.add_option("--num-outputs", num_outputs, "Pieces to write (FILE_1.mid, FILE_2.mid, ...)")->check(CLI::Range(1, 1000));
  app.add_option("--tempo", tempo, "Tempo of the output in beats per minute (default: 120)")->check(CLI::Range(1.0, 1000.0));
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--out", out, "Output MIDI file")->capture_default_str();
  app.add_option("--tokens-out", tokens_out, "Also write the tokens (primer, then generated) to this file");
  app.add_option("--evaluate", evaluate, "Instead of composing: loss, perplexity and accuracy on these MIDI files/folders");
  std::string play_port, wav_out, soundfont, svg_out;
  auto* play_opt = app.add_option("--play", play_port,
                                  "Play the notes on a MIDI output port while they are generated: the port's index or "
                                  "(part of) its name from `miditool ports`; alone, the first port")
                       ->expected(0, 1);
  app.add_option("--wav", wav_out, "Also render the piece to this WAV file with FluidSynth");
  app.add_option("--soundfont", soundfont, "General MIDI soundfont for --wav (default: FluidR3_GM.sf2, else TimGM6mb.sf2)")
      ->check(CLI::ExistingFile);
  app.add_option("--svg", svg_out, "Also draw the piece as an SVG piano roll");
  if (const int code = tools::parse_command_line(app, argc, argv); code >= 0) return code;
  const bool play = play_opt->count() > 0;
#ifndef LEGATO_HAVE_RTMIDI
  if (play) {
    std::cerr << "composer: this build has no live MIDI playback (install librtmidi-dev and rebuild)\n";
    return tools::kUsageError;
  }
#endif
#ifndef LEGATO_HAVE_FLUIDSYNTH
  if (!wav_out.empty()) {
    std::cerr << "composer: this build has no audio rendering (install libfluidsynth-dev and rebuild)\n";
    return tools::kUsageError;
  }
#endif
  if (const std::string problem = tools::device_problem(device); !problem.empty()) {
    std::cerr << "composer: " << problem << "\n";
    return tools::kUsageError;
  }
  try {
    model::LoadedCheckpoint ck;
    try {
      ck = model::load_checkpoint(checkpoint);
    } catch (const std::runtime_error& e) {  // missing, truncated or not ours: the user's input
      throw model::InputError(e.what());
    }
    ck.net->to(tools::parse_device(device));
    const model::CheckpointMeta& meta = ck.meta;
    if (!evaluate.empty()) {
      std::vector<std::filesystem::path> paths(evaluate.begin(), evaluate.end());
      for (const auto& p : paths)
        if (!std::filesystem::exists(p)) throw model::InputError("no such file or folder: " + p.string());
      const auto pieces = model::encode_files(paths, meta.scheme, meta.vocab, std::cerr);
      const model::EvalResult r = model::evaluate(*ck.net, pieces, meta.seq_len, 64, 1 << 30);
      if (r.predictions == 0) throw model::InputError("no piece is longer than one window of " +
                                                      std::to_string(meta.seq_len + 1) + " tokens");
      std::printf("evaluated %lld predictions: loss %.4f, perplexity %.2f, accuracy %.1f%%\n",
                  static_cast<long long>(r.predictions), r.loss, r.perplexity, 100 * r.accuracy);
      return 0;
    }
    const auto tokenizer = midi::make_tokenizer(meta.scheme);
    std::map<std::string, int32_t> ids;
    for (size_t k = 0; k < meta.vocab.size(); ++k) ids[meta.vocab[k]] = static_cast<int32_t>(k);
    auto id_of = [&](const std::string& token) -> int32_t {
      const auto it = ids.find(token);
      return it == ids.end() ? -1 : it->second;
    };
    std::mt19937_64 rng(seed);
    std::vector<int32_t> primer;
    if (!primer_tokens.empty()) {
      std::istringstream in(primer_tokens);
      for (std::string t; in >> t;) {
        if (id_of(t) < 0) throw model::InputError("primer token '" + t + "' is not in the checkpoint's vocabulary");
        primer.push_back(id_of(t));
      }
    } else if (!primer_file.empty()) {
      const auto pieces = model::encode_files({primer_file}, meta.scheme, meta.vocab, std::cerr);
      if (pieces.empty() || pieces[0].empty()) throw model::InputError("primer " + primer_file + " gives no tokens");
      primer = pieces[0];
      if (static_cast<int64_t>(primer.size()) > meta.seq_len)  // the end of the file leads into the new music
        primer.erase(primer.begin(), primer.end() - meta.seq_len);
    } else if (!meta.primers.empty()) {
      primer = meta.primers[std::uniform_int_distribution<size_t>(0, meta.primers.size() - 1)(rng)];
    } else if (id_of("BOS") >= 0) {
      primer = {id_of("BOS")};
    } else {
      throw model::InputError("the checkpoint has no primer windows and no BOS token: give --primer or --primer-tokens");
    }
    const std::vector<int32_t> banned = banned_tokens(meta.vocab);
#ifdef LEGATO_HAVE_RTMIDI
    std::unique_ptr<render::MidiOutput> midi_out;
    if (play) {  // before generating, so that a wrong port is said at once
      try {
        midi_out = std::make_unique<render::MidiOutput>(play_port, "composer");
      } catch (const render::PlaybackError& e) {
        std::cerr << "composer: " << e.what() << "\n";
        return e.kind == render::PlaybackError::Kind::kUnknownPort ? tools::kUsageError : 1;
      }
      std::cerr << "composer: playing on " << midi_out->port().name << " as the notes are generated\n";
      std::signal(SIGINT, on_signal);
      std::signal(SIGTERM, on_signal);
    }
#endif
    for (int k = 0; k < num_outputs && !g_stop; ++k) {
      const auto started = std::chrono::steady_clock::now();
      TokenListener listener;
#ifdef LEGATO_HAVE_RTMIDI
      std::optional<render::Player> player;
      std::optional<LiveFeed> feed;
      if (midi_out) {
        player.emplace(*midi_out, &g_stop, 0.2);
        feed.emplace(*player, *tokenizer, meta.vocab, tempo);
        listener = [&](const std::vector<int32_t>& generated) {
          feed->update(generated, false);
          return !g_stop.load();
        };
      }
#endif
      const Piece piece = compose(*ck.net, primer, length, sampling, banned, id_of("EOS"), rng, listener);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
#ifdef LEGATO_HAVE_RTMIDI
      if (feed) feed->update(piece.generated, true);  // the notes at the last onset are final now
#endif
      std::vector<std::string> text;
      for (int32_t t : piece.generated) text.push_back(meta.vocab[static_cast<size_t>(t)]);
      const midi::Score score = score_of(*tokenizer, meta.vocab, piece.generated, tempo);
      const std::filesystem::path path = numbered(out, k, num_outputs);
      if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
      midi::write_midi_file(score, path);
      if (!tokens_out.empty()) {
        std::ofstream tf(numbered(tokens_out, k, num_outputs));
        std::string sep;
        for (int32_t t : piece.primer) tf << sep << meta.vocab[static_cast<size_t>(t)], sep = " ";
        for (const auto& t : text) tf << sep << t, sep = " ";
        tf << "\n";
        if (!tf) throw std::runtime_error("cannot write " + numbered(tokens_out, k, num_outputs).string());
      }
      if (!svg_out.empty()) {
        render::RollOptions roll;
        roll.title = path.filename().string();
        render::write_text_file(numbered(svg_out, k, num_outputs), render::piano_roll_svg(score, roll));
      }
#ifdef LEGATO_HAVE_FLUIDSYNTH
      if (!wav_out.empty()) {
        render::AudioOptions audio;
        audio.soundfont = soundfont;
        render::render_wav(score, numbered(wav_out, k, num_outputs), audio);
      }
#endif
      const std::set<int32_t> distinct(piece.generated.begin(), piece.generated.end());
      std::printf("%s: %zu tokens, %zu notes, %zu distinct tokens, longest run %lld, %.3f s\n", path.c_str(),
                  piece.generated.size(), score.notes.size(), distinct.size(),
                  static_cast<long long>(longest_run(piece.generated)), seconds);
      std::fflush(stdout);
#ifdef LEGATO_HAVE_RTMIDI
      if (player) {  // the piece is written; let the music finish
        const render::PlayStats stats = player->finish();
        if (stats.shifted_seconds > 0.05)
          std::fprintf(stderr, "composer: generation fell behind the music; it waited %.2f s in all\n",
                       stats.shifted_seconds);
      }
#endif
    }
    if (g_stop) return 130;
    return 0;
  } catch (const model::InputError& e) {
    std::cerr << "composer: " << e.what() << "\n";
    return tools::kUsageError;
#ifdef LEGATO_HAVE_FLUIDSYNTH
  } catch (const render::AudioError& e) {  // no soundfont: the user's setup
    std::cerr << "composer: " << e.what() << "\n";
    return tools::kUsageError;
#endif
  } catch (const std::exception& e) {
    std::cerr << "composer: " << e.what() << "\n";
    return 1;
  }
}
