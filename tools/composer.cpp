// composer: writes new music from a trained checkpoint, one token at a time with the LSTM state
// carried between tokens; or, with --evaluate, scores a checkpoint on MIDI files.
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
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

Piece compose(const model::MusicLSTM& net, const std::vector<int32_t>& primer, int64_t length,
              const model::SamplingOptions& sampling, const std::vector<int32_t>& banned, int32_t eos,
              std::mt19937_64& rng) {
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
    gen.feed(next);
  }
  return piece;
}

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
  if (const int code = tools::parse_command_line(app, argc, argv); code >= 0) return code;
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
    for (int k = 0; k < num_outputs; ++k) {
      const auto started = std::chrono::steady_clock::now();
      const Piece piece = compose(*ck.net, primer, length, sampling, banned, id_of("EOS"), rng);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::vector<std::string> text;
      for (int32_t t : piece.generated) text.push_back(meta.vocab[static_cast<size_t>(t)]);
      midi::Score score = tokenizer->detokenize(text);
      if (tempo > 0) {
        score.tempo_map = {midi::TempoChange{0, static_cast<int>(60e6 / tempo + 0.5), 0.0}};
        score.update_times();
      }
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
      const std::set<int32_t> distinct(piece.generated.begin(), piece.generated.end());
      std::printf("%s: %zu tokens, %zu notes, %zu distinct tokens, longest run %lld, %.3f s\n", path.c_str(),
                  piece.generated.size(), score.notes.size(), distinct.size(),
                  static_cast<long long>(longest_run(piece.generated)), seconds);
    }
    return 0;
  } catch (const model::InputError& e) {
    std::cerr << "composer: " << e.what() << "\n";
    return tools::kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "composer: " << e.what() << "\n";
    return 1;
  }
}
