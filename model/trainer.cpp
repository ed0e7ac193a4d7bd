#include "model/trainer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/backend.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "model/batches.h"
#include "model/checkpoint.h"
#include "model/corpus.h"
#include "model/evaluate.h"
#include "model/metrics.h"
#include "model/progress.h"
#include "model/safetensors.h"

namespace legato::model {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

// Where a run stands: everything --resume needs beyond the weights and the optimiser's slots.
struct RunState {
  int epoch = 0;          // the epoch in progress
  int64_t batch = 0;      // batches of it already done
  int64_t step = 0;       // optimiser steps in all
  uint64_t dropout_offset = 0;
  double loss_sum = 0;    // this epoch's training loss so far
  int64_t loss_count = 0;
  double best = INFINITY; // best validation (or training) loss
  double seconds = 0;     // training time before this process
  std::vector<EpochMetrics> metrics;
};

std::unique_ptr<optim::Optimizer> make_optimizer(const Recipe& r, const nn::ParameterList& params) {
  if (r.optimizer == "rmsprop") return std::make_unique<optim::Rmsprop>(params, optim::RmspropOptions{r.lr});
  if (r.optimizer == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions{r.lr});
  throw InputError("unknown optimizer '" + r.optimizer + "'");
}

void save_state(const std::filesystem::path& path, const RunState& s, const optim::Optimizer& opt) {
  SafetensorsFile file;
  const auto slots = opt.state();
  for (size_t k = 0; k < slots.size(); ++k)
    for (const auto& p : slots[k]) file.tensors.push_back({"optimizer." + std::to_string(k) + "." + p.name, p.tensor});
  const nlohmann::json j = {{"epoch", s.epoch},     {"batch", s.batch},          {"step", s.step},
                            {"dropout_offset", s.dropout_offset}, {"loss_sum", s.loss_sum},
                            {"loss_count", s.loss_count},         {"best", std::isinf(s.best) ? -1.0 : s.best},
                            {"seconds", s.seconds}};
  file.metadata["legato.train_state"] = j.dump();
  file.metadata["legato.metrics"] = metrics_json(s.metrics);
  save_safetensors(path, file);
}

RunState load_state(const std::filesystem::path& path, optim::Optimizer& opt) {
  const SafetensorsFile file = load_safetensors(path);
  RunState s;
  try {
    const auto j = nlohmann::json::parse(file.metadata.at("legato.train_state"));
    s.epoch = j.at("epoch");
    s.batch = j.at("batch");
    s.step = j.at("step");
    s.dropout_offset = j.at("dropout_offset");
    s.loss_sum = j.at("loss_sum");
    s.loss_count = j.at("loss_count");
    const double best = j.at("best");
    s.best = best < 0 ? INFINITY : best;
    s.seconds = j.at("seconds");
    s.metrics = metrics_from_json(file.metadata.at("legato.metrics"));
  } catch (const std::exception& e) {
    throw std::runtime_error("training state " + path.string() + " is damaged: " + e.what());
  }
  const auto slots = opt.state();
  for (size_t k = 0; k < slots.size(); ++k)
    for (const auto& p : slots[k]) {
      const Tensor* saved = file.find("optimizer." + std::to_string(k) + "." + p.name);
      if (!saved || saved->shape() != p.tensor.shape())
        throw std::runtime_error("training state " + path.string() + " lacks optimizer slot for " + p.name);
      Tensor slot = p.tensor;
      slot.copy_from(*saved);
    }
  opt.set_steps_taken(static_cast<long>(s.step));
  return s;
}

std::string percent(double x) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * x);
  return buf;
}

std::string fixed(double x, int digits = 4) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

}  // namespace

void request_stop() { g_stop.store(true); }

int train(const TrainOptions& o, std::ostream& out) {
  const Recipe& r = o.recipe;
  if (r.seq_len < 1 || r.batch < 1 || r.epochs < 1 || r.lr <= 0 || r.val_split < 0 || r.val_split >= 1 ||
      r.clip < 0 || r.transpose < 0 || r.transpose > 24 || r.model.hidden < 1 || r.model.layers < 1)
    throw InputError("bad training values: need seq-len, batch, epochs, hidden, layers >= 1, lr > 0, "
                     "0 <= val-split < 1, 0 <= transpose <= 24");
  g_stop.store(false);
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  struct Restore {
    struct sigaction a, b;
    ~Restore() {
      sigaction(SIGINT, &a, nullptr);
      sigaction(SIGTERM, &b, nullptr);
    }
  } restore{old_int, old_term};

  // ---- data ----
  CorpusOptions corpus_options;
  corpus_options.paths = o.data.empty() ? std::vector<std::filesystem::path>{default_corpus_path()} : o.data;
  for (const auto& p : corpus_options.paths)
    if (!std::filesystem::exists(p)) throw InputError("no such file or folder: " + p.string());
  corpus_options.scheme = r.scheme;
  corpus_options.val_split = r.val_split;
  corpus_options.seed = o.seed;
  corpus_options.transpose = r.transpose;
  Corpus corpus;
  try {
    corpus = load_corpus(corpus_options, out);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  } catch (const std::runtime_error& e) {
    throw InputError(e.what());
  }
  const bool all_steps = r.objective == "all";
  if (!all_steps && r.objective != "last") throw InputError("unknown objective '" + r.objective + "' (last or all)");
  std::vector<Example> examples = make_examples(corpus.train, r.seq_len, all_steps);
  if (examples.empty())
    throw InputError("the corpus is shorter than one window: " + std::to_string(corpus.train_tokens()) +
                     " training tokens in " + std::to_string(corpus.train.size()) + " pieces, and a window needs " +
                     std::to_string(r.seq_len + 1) + " tokens of one piece");
  const int64_t batch = std::min<int64_t>(r.batch, static_cast<int64_t>(examples.size()));
  const int64_t batches = static_cast<int64_t>(examples.size()) / batch;
  out << "corpus: " << corpus.files_loaded << " files (" << corpus.train.size() << " training pieces with "
      << corpus.train_tokens() << " tokens, " << corpus.val.size() << " validation pieces with "
      << corpus.val_tokens() << " tokens), vocabulary " << corpus.vocab.size() << ", " << batches
      << " batches of " << batch << " per epoch\n";

  // ---- model and optimiser ----
  CheckpointMeta meta;
  meta.config = r.model;
  meta.config.vocab = static_cast<int64_t>(corpus.vocab.size());
  meta.config.seed = o.seed;
  meta.scheme = r.scheme;
  meta.objective = r.objective;
  meta.seq_len = r.seq_len;
  meta.vocab = corpus.vocab;
  if (r.scheme == "seed")  // a few windows to start composing from, as the seed did
    for (size_t k = 0; k < 8 && k < examples.size(); ++k) {
      const Example& e = examples[k * examples.size() / 8];
      const auto& piece = corpus.train[static_cast<size_t>(e.piece)];
      meta.primers.emplace_back(piece.begin() + e.start, piece.begin() + e.start + r.seq_len);
    }
  MusicLSTM net(meta.config);
  net.to(o.device);  // before the optimiser, which keeps the parameters it was given
  if (o.device != Device::CPU) out << "device: " << device_description() << "\n";
  std::unique_ptr<optim::Optimizer> opt = make_optimizer(r, net.parameters());
  std::filesystem::create_directories(o.out);
  RunState state;
  if (o.resume) {
    if (!std::filesystem::exists(last_checkpoint(o.out)) || !std::filesystem::exists(train_state_file(o.out)))
      throw InputError("--resume: no " + last_checkpoint(o.out).string() + " and " +
                       train_state_file(o.out).string() + " to resume from");
    LoadedCheckpoint saved = load_checkpoint(last_checkpoint(o.out));
    if (saved.meta.vocab != meta.vocab || config_to_json(saved.meta) != config_to_json(meta))
      throw InputError("--resume: " + last_checkpoint(o.out).string() +
                       " was trained with another configuration or corpus");
    // Same configuration, so the same parameters in the same order.
    const nn::ParameterList saved_params = saved.net->parameters(), params = net.parameters();
    for (size_t k = 0; k < params.size(); ++k) {
      Tensor target = params[k].tensor;
      target.copy_from(saved_params[k].tensor);
    }
    state = load_state(train_state_file(o.out), *opt);
    out << "resuming at epoch " << state.epoch + 1 << ", batch " << state.batch << "\n";
  }

  auto write_outputs = [&](bool improved) {
    save_checkpoint(last_checkpoint(o.out), net, meta);
    if (improved) save_checkpoint(best_checkpoint(o.out), net, meta);
    write_file_atomically(o.out / "metrics.csv", metrics_csv(state.metrics));
    write_file_atomically(o.out / "loss.svg", loss_svg(state.metrics));
    save_state(train_state_file(o.out), state, *opt);
  };
  // Validation and a metrics row; returns whether this is the best model so far.
  auto close_epoch = [&](double epoch_position) {
    EpochMetrics m;
    m.epoch = epoch_position;
    m.step = state.step;
    m.train_loss = state.loss_count ? state.loss_sum / static_cast<double>(state.loss_count) : NAN;
    m.seconds = state.seconds;
    if (!corpus.val.empty()) {
      const EvalResult v = evaluate(net, corpus.val, r.seq_len, std::max<int64_t>(batch, 64));
      if (v.predictions > 0) {
        m.val_loss = v.loss;
        m.val_perplexity = v.perplexity;
        m.val_accuracy = v.accuracy;
      }
    }
    state.metrics.push_back(m);
    const double score = std::isnan(m.val_loss) ? m.train_loss : m.val_loss;
    const bool improved = !std::isnan(score) && score < state.best;
    if (improved) state.best = score;
    out << "epoch " << fixed(epoch_position, epoch_position == std::floor(epoch_position) ? 0 : 2) << "/"
        << r.epochs << ": train loss " << fixed(m.train_loss);
    if (!std::isnan(m.val_loss))
      out << ", val loss " << fixed(m.val_loss) << ", perplexity " << fixed(m.val_perplexity, 2) << ", accuracy "
          << percent(m.val_accuracy);
    out << ", " << fixed(state.seconds, 0) << " s" << (improved ? " (best)" : "") << "\n";
    return improved;
  };

  // ---- the loop ----
  const auto started = std::chrono::steady_clock::now();
  const double seconds_before = state.seconds;
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(); };
  Progress progress(out, o.terminal);
  DropoutStream dropout{o.seed * 0x9E3779B97F4A7C15ull + 1, state.dropout_offset};
  Tensor tokens, targets;
  int64_t batches_this_run = 0;
  const int64_t predictions_per_batch = all_steps ? batch * r.seq_len : batch;
  while (state.epoch < r.epochs) {
    // The epoch's order depends only on (seed, epoch): a resumed run sees the same batches.
    std::vector<Example> order = examples;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(o.seed * 1000003ull + static_cast<uint64_t>(state.epoch)));
    if (!o.quiet) progress.start("epoch " + std::to_string(state.epoch + 1) + "/" + std::to_string(r.epochs), batches);
    for (; state.batch < batches; ++state.batch) {
      fill_batch(corpus.train, order.data() + state.batch * batch, batch, r.seq_len, all_steps, tokens, targets);
      const Tensor logits = net.forward(tokens, !all_steps, true, dropout);
      const Tensor batch_targets = o.device == Device::CPU ? targets : targets.to(o.device);
      Tensor loss = r.keras_loss ? ops::cross_entropy_probs(ops::softmax(logits), batch_targets)
                                 : ops::cross_entropy_logits(logits, batch_targets);
      loss.backward();
      if (r.clip > 0) optim::clip_grad_norm(opt->parameters(), r.clip);
      opt->step();
      opt->zero_grad();
      ++state.step;
      state.loss_sum += loss.item();
      ++state.loss_count;
      state.dropout_offset = dropout.offset;
      state.seconds = seconds_before + elapsed();
      if (!o.quiet) {
        const double tokens_per_second = static_cast<double>(predictions_per_batch * (state.batch + 1)) /
                                         std::max(1e-9, elapsed());
        progress.update(state.batch + 1, "loss " + fixed(state.loss_sum / static_cast<double>(state.loss_count)) +
                                             " " + fixed(tokens_per_second, 0) + " tok/s");
      }
      const bool out_of_time = o.max_minutes > 0 && elapsed() >= o.max_minutes * 60;
      if (o.stop_after_batches > 0 && ++batches_this_run == o.stop_after_batches) g_stop.store(true);
      if (g_stop.load() || out_of_time) {
        ++state.batch;
        if (!o.quiet) progress.finish();
        if (g_stop.load()) {
          write_outputs(false);
          out << "interrupted: checkpoint written to " << last_checkpoint(o.out).string()
              << "; continue with --resume\n";
          return 130;
        }
        const bool improved =
            close_epoch(state.epoch + static_cast<double>(state.batch) / static_cast<double>(batches));
        write_outputs(improved);
        out << "stopped after " << fixed(o.max_minutes, 1) << " minutes; continue with --resume\n";
        return 0;
      }
    }
    if (!o.quiet) progress.finish();
    const bool improved = close_epoch(state.epoch + 1);
    ++state.epoch;  // the state file says where to go on: the next epoch's first batch
    state.batch = 0;
    state.loss_sum = 0;
    state.loss_count = 0;
    write_outputs(improved);
  }
  out << "done: " << state.step << " steps; checkpoints in " << o.out.string() << "\n";
  return 0;
}

}  // namespace legato::model
