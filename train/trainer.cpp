#include "train/trainer.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <random>
#include <type_traits>

#include "base/atomic_file.h"
#include "corpus/batches.h"
#include "corpus/corpus.h"
#include "corpus/windows.h"
#include "dist/gradients.h"
#include "engine/backend.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "eval/compare.h"
#include "midi/reader.h"
#include "model/checkpoint.h"
#include "model/composition.h"
#include "model/safetensors.h"
#include "train/distributed.h"
#include "train/evaluate.h"
#include "train/metrics.h"
#include "train/progress.h"
#include "train/recipe_checks.h"
#include "train/run_state.h"

namespace legato::model {
namespace {

std::atomic<bool> g_stop{false};

// How long a rank waits for rank 0's long work (reading a large corpus, validating): hours, no
// limit in effect; a rank that dies on this host is still seen at once.
constexpr double kNoLimit = 1e9;

extern "C" void on_stop_signal(int) { g_stop.store(true); }

std::unique_ptr<optim::Optimizer> make_optimizer(const Recipe& r, const nn::ParameterList& params) {
  if (r.optimizer == "rmsprop") return std::make_unique<optim::Rmsprop>(params, optim::RmspropOptions{r.lr});
  if (r.optimizer == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions{r.lr});
  throw InputError("unknown optimizer '" + r.optimizer + "'");
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

// The mean OA of the last kBestMusicWindow measurements among rows[0, end) (fewer at the start);
// NaN when row end - 1 has none (no music measured then).
double recent_mean_oa(const std::vector<EpochMetrics>& rows, size_t end) {
  if (end == 0 || std::isnan(rows[end - 1].mean_oa)) return NAN;
  double sum = 0;
  int count = 0;
  for (size_t k = end; k-- > 0 && count < kBestMusicWindow;)
    if (!std::isnan(rows[k].mean_oa)) sum += rows[k].mean_oa, ++count;
  return sum / count;
}

// While one lives, SIGINT and SIGTERM ask the run to stop after its current batch; the handlers
// that were there before come back when it goes.
class StopSignals {
 public:
  StopSignals() {
    g_stop.store(false);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
};

// The MIDI files of --data (or the default corpus) as tokens; what cannot be read is the user's input.
Corpus load_training_corpus(const TrainOptions& o, std::ostream& out) {
  CorpusOptions corpus_options;
  corpus_options.paths = o.data.empty() ? std::vector<std::filesystem::path>{default_corpus_path()} : o.data;
  for (const auto& p : corpus_options.paths)
    if (!std::filesystem::exists(p)) throw InputError("no such file or folder: " + p.string());
  corpus_options.scheme = o.recipe.scheme;
  corpus_options.val_split = o.recipe.val_split;
  corpus_options.seed = o.seed;
  corpus_options.transpose = o.recipe.transpose;
  corpus_options.normalise_key = o.recipe.normalise_key;
  corpus_options.cache_dir = o.no_cache ? std::filesystem::path() : o.cache_dir.empty() ? o.out : o.cache_dir;
  // A resumed run touches no file before its checks pass; of several ranks, rank 0 writes it.
  corpus_options.write_cache = !o.resume && dist::World::get().root();
  // Reading's progress on train/progress.h's bar (plain lines every 10 s off a terminal).
  auto bar = std::make_shared<Progress>(out, o.terminal && !o.quiet);
  corpus_options.progress = [bar](int64_t done, int64_t total, const std::string& status) {
    if (done == 0) return bar->start("reading MIDI", total);
    bar->update(done, status);
    if (done == total) bar->finish();
  };
  if (o.recipe.infill_rate > 0) corpus_options.extra_tokens = midi::InfillLayout::needed_tokens();
  corpus_options.controls = o.recipe.controls;
  try {
    return load_corpus(corpus_options, out);
  } catch (const std::invalid_argument& e) {
    throw InputError(e.what());
  } catch (const std::runtime_error& e) {
    throw InputError(e.what());
  }
}

// Of several ranks, rank 0 reads the corpus first and writes the token cache; the others then map
// it (or, where --out is not shared, read the files themselves): no two processes write one cache.
Corpus load_in_turn(const TrainOptions& o, std::ostream& out) {
  const dist::World& world = dist::World::get();
  if (!world.distributed()) return load_training_corpus(o, out);
  if (!world.root()) world.barrier(kNoLimit, "rank 0 read the corpus");
  Corpus corpus = load_training_corpus(o, out);
  if (world.root()) world.barrier(kNoLimit, "rank 0 read the corpus");
  check_same_corpus(world, corpus);
  return corpus;
}

// What a run learns from: the corpus, its windows and how many make a batch and an epoch.
struct TrainingData {
  TrainingData(const TrainOptions& o, std::ostream& out);
  TrainingData(const TrainingData&) = delete;  // the windows point into the corpus
  TrainingData& operator=(const TrainingData&) = delete;

  const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  const bool all_steps;  // objective "all": a target at every step; "last": one after the window
  const Corpus corpus;
  const TrainingWindows windows;
  int64_t batch = 0;    // windows per batch (no more than there are): the global batch of all ranks
  int64_t batches = 0;  // batches per epoch
  BatchShare share;     // this rank's windows of each batch (all of them in one process)
};

// The corpus cut into windows for the recipe's objective, and one line saying what there is.
TrainingData::TrainingData(const TrainOptions& o, std::ostream& out)
    : all_steps(all_steps_of(o.recipe)),
      corpus(load_in_turn(o, out)),
      windows(corpus, o.recipe.seq_len, all_steps, o.recipe.infill_rate) {
  const Recipe& r = o.recipe;
  if (windows.size() == 0)
    throw InputError("the corpus is shorter than one window: " + std::to_string(corpus.train_tokens()) +
                     " training tokens in " + std::to_string(corpus.train.size()) + " pieces, and a window needs " +
                     std::to_string(r.seq_len + 1) + " tokens of one piece");
  batch = std::min<int64_t>(r.batch, windows.size());
  batches = windows.size() / batch;
  share = share_of(dist::World::get(), batch);
  out << "corpus: " << corpus.files_loaded << " files (" << corpus.train.size() << " training pieces with "
      << corpus.train_tokens() << " tokens, " << corpus.val.size() << " validation pieces with " << corpus.val_tokens()
      << " tokens), vocabulary " << corpus.vocab.size() << ", " << batches << " batches of " << batch
      << " per epoch (ready in "
      << fixed(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 2) << " s)\n";
}

// What every checkpoint of the run carries besides the weights.
CheckpointMeta make_meta(const TrainOptions& o, const TrainingData& d) {
  const Recipe& r = o.recipe;
  CheckpointMeta meta;
  meta.config = r.model;
  meta.config.vocab = static_cast<int64_t>(d.corpus.vocab.size());
  meta.config.seed = o.seed;
  meta.scheme = r.scheme;
  meta.objective = r.objective;
  meta.seq_len = r.seq_len;
  meta.vocab = d.corpus.vocab;
  meta.infill_rate = r.infill_rate;
  meta.controls = d.corpus.controls;
  if (!meta.controls.empty()) {
    meta.density_bounds.assign(d.corpus.density_bounds.begin(), d.corpus.density_bounds.end());
    // Each training piece's, for composer to draw from: at the middle of its shifts (with
    // --normalise-key its home, in C's key signature).
    for (size_t k = 0; k < d.corpus.train.size(); ++k)
      meta.piece_controls.push_back(
          d.corpus.control_ids(k, (d.corpus.train[k].lowest + d.corpus.train[k].highest) / 2));
    meta.style_profiles = d.corpus.style_profiles;
  }
  const auto& keys = d.corpus.keys;  // all zero unless normalised (and some piece has pitched notes)
  if (std::any_of(keys.begin(), keys.end(), [](int64_t k) { return k > 0; }))
    meta.keys.assign(keys.begin(), keys.end());
  if (r.scheme == "event")  // every training piece's ensemble, for composer to draw from
    for (const TrainPiece& piece : d.corpus.train) {
      std::vector<int32_t>& header = meta.ensembles.emplace_back();
      for (int64_t k = 1; k < d.corpus.length(piece); ++k) {
        const int32_t id = d.corpus.id(piece, 0, k);
        if (meta.vocab[static_cast<size_t>(id)].front() != 'I') break;
        header.push_back(id);
      }
    }
  if (r.scheme == "seed")  // a few windows to start composing from, as the seed did
    for (int64_t k = 0; k < 8 && k < d.windows.size(); ++k) {
      const Window w = d.windows.at(static_cast<int64_t>(k) * d.windows.size() / 8);
      std::vector<int32_t>& primer = meta.primers.emplace_back();
      for (int64_t t = 0; t < r.seq_len; ++t)
        primer.push_back(d.corpus.id(d.corpus.train[w.piece], w.shift, w.start + t));
    }
  return meta;
}

// One run of the epoch loop: the model, its optimiser and where the run stands, with one member
// function per step. Constructing it loads the data, builds the model and, with --resume, resumes.
class Training {
 public:
  Training(const TrainOptions& o, std::ostream& out);
  int run();  // the exit code train() returns

 private:
  enum class Stop { kNone, kInterrupted, kOutOfTime };

  void resume();
  Permutation epoch_order() const;
  void train_batch(const Permutation& order);
  double sum_over_ranks(double loss);
  void show_progress();
  Stop stop_requested();
  Stop stop_asked();
  int stop_early(Stop why);
  void end_epoch();
  EpochMetrics measure(double epoch_position);
  void validate(EpochMetrics& m);
  void measure_music(EpochMetrics& m);
  void eval_checkpoint();
  void load_val_music();
  bool close_epoch(double epoch_position);
  bool improves_best(const EpochMetrics& m);
  void write_outputs(bool improved);
  void maybe_checkpoint();
  double elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count(); }

  const TrainOptions& o_;
  const dist::World& world_;  // the ranks training this model (one without MPI); rank 0 writes
  const Recipe& r_;
  std::ostream& out_;
  const TrainingData data_;
  CheckpointMeta meta_;
  MusicLSTM net_;
  std::unique_ptr<optim::Optimizer> opt_;
  RunState state_;
  Progress progress_;
  DropoutStream dropout_;
  std::vector<Window> windows_;                            // the batch being trained on: its windows,
  Tensor tokens_, targets_;                                // its tokens [L, B] and targets
  std::chrono::steady_clock::time_point started_;          // when this process began training
  std::chrono::steady_clock::time_point last_checkpoint_;  // the last periodic (or epoch-end) checkpoint
  double seconds_before_ = 0;                              // training time of the processes before it
  int64_t batches_this_run_ = 0;                           // what TrainOptions::stop_after_batches counts
  std::vector<eval::NamedFeatures> val_music_;             // the validation pieces' features
  double last_mean_oa_ = NAN;                              // shown in the progress line
  std::unique_ptr<dist::GradientSum> gradient_sum_;        // of several ranks: their gradients' sum
  Stop agreed_stop_ = Stop::kNone;                         // of several ranks: what they agreed on
};

Training::Training(const TrainOptions& o, std::ostream& out)
    : o_(o),
      world_(dist::World::get()),
      r_(o.recipe),
      out_(out),
      data_(o, out),
      meta_(make_meta(o, data_)),
      net_(meta_.config, o.resume ? nn::Init::Uninitialised : nn::Init::Random),  // resume() reads them all
      progress_(out, o.terminal) {
  net_.to(o.device);                // before the optimiser, which keeps the parameters it was given
  net_.set_precision(o.precision);  // checked by the caller (check_outputs)
  opt_ = make_optimizer(r_, net_.parameters());
  if (world_.distributed()) gradient_sum_ = std::make_unique<dist::GradientSum>(world_, opt_->parameters());
  std::filesystem::create_directories(o.out);
  if (o.resume)
    resume();
  else if (world_.root())
    write_file_atomically(run_settings_file(o.out), nlohmann::json(run_settings(o)).dump(1) + "\n");
  // Masks are drawn where each window lies in the global batch: the same whatever the ranks.
  dropout_ = DropoutStream{o.seed * 0x9E3779B97F4A7C15ull + 1, state_.dropout_offset,
                           ops::BatchSlice{data_.batch, data_.share.first, data_.share.local}};
  // The held-out files, one per line: what composed pieces are to be compared with by hand too
  // (`miditool compare ... --against $(cat validation.txt)`).
  std::string held_out;
  for (const std::string& name : data_.corpus.val_names) held_out += name + "\n";
  if (world_.root()) write_file_atomically(o.out / "validation.txt", held_out);
  if (o.eval_pieces > 0 && world_.root()) load_val_music();  // rank 0 alone composes and compares
  if (o.eval_pieces > 0 && val_music_.size() < 2)
    out << "music metrics: off (" << val_music_.size()
        << " validation piece(s); the comparison needs at least 2: raise --val-split)\n";
  if (!state_.metrics.empty()) last_mean_oa_ = state_.metrics.back().mean_oa;
}

// What differs between the run's checkpoint (`saved`) and this process's (`now`): "" when nothing,
// else e.g. "hidden 16 (this run: 32)" or "a vocabulary of 90 tokens (this corpus: 120)".
std::string config_difference(const CheckpointMeta& saved, const CheckpointMeta& now) {
  const nlohmann::json a = nlohmann::json::parse(config_to_json(saved)), b = nlohmann::json::parse(config_to_json(now));
  for (const auto& [key, value] : a.items())
    if (!b.contains(key) || b.at(key) != value)
      return key + " " + value.dump() + " (this run: " + (b.contains(key) ? b.at(key).dump() : "none") + ")";
  if (saved.vocab != now.vocab)
    return "another corpus: a vocabulary of " + std::to_string(saved.vocab.size()) +
           " tokens (this corpus: " + std::to_string(now.vocab.size()) + "; the files under --data changed?)";
  return "";
}

// The weights of last.safetensors, and the optimiser's slots and the position of the state file.
void Training::resume() {
  if (!std::filesystem::exists(last_checkpoint(o_.out)) || !std::filesystem::exists(train_state_file(o_.out)))
    throw InputError("--resume: no " + last_checkpoint(o_.out).string() + " and " + train_state_file(o_.out).string() +
                     " to resume from");
  // State files of older versions lack the weights: then they come from last.safetensors.
  const bool self_contained = load_safetensors(train_state_file(o_.out)).metadata.count("legato.config") > 0;
  const std::filesystem::path weights = self_contained ? train_state_file(o_.out) : last_checkpoint(o_.out);
  LoadedCheckpoint saved = load_checkpoint(weights);
  if (const std::string differs = config_difference(saved.meta, meta_); !differs.empty())
    throw InputError("--resume: " + weights.string() + " was trained with " + differs +
                     "; resume with the run's settings, or start afresh with --overwrite");
  // Same configuration, so the same parameters in the same order.
  const nn::ParameterList saved_params = saved.net->parameters(), params = net_.parameters();
  for (size_t k = 0; k < params.size(); ++k) {
    Tensor target = params[k].tensor;
    target.copy_from(saved_params[k].tensor);
  }
  state_ = load_state(train_state_file(o_.out), *opt_);
  out_ << "resuming at epoch " << state_.epoch + 1 << ", batch " << state_.batch << "\n";
}

// Epochs until the recipe's last, each batch after batch; a stop ends the run after the batch it came in.
int Training::run() {
  started_ = last_checkpoint_ = std::chrono::steady_clock::now();
  seconds_before_ = state_.seconds;
  while (state_.epoch < r_.epochs) {
    const Permutation order = epoch_order();
    if (!o_.quiet)
      progress_.start("epoch " + std::to_string(state_.epoch + 1) + "/" + std::to_string(r_.epochs), data_.batches);
    Stop stop = Stop::kNone;
    while (stop == Stop::kNone && state_.batch < data_.batches) {
      train_batch(order);
      stop = stop_requested();
      if (stop == Stop::kNone && o_.eval_every > 0 && state_.step % o_.eval_every == 0 && state_.batch < data_.batches)
        eval_checkpoint();
      if (stop == Stop::kNone && state_.batch < data_.batches) maybe_checkpoint();
    }
    if (!o_.quiet) progress_.finish();
    if (stop != Stop::kNone) return stop_early(stop);
    end_epoch();
  }
  out_ << "done: " << state_.step << " steps; checkpoints in " << o_.out.string() << "\n";
  out_ << "compose from it: composer --checkpoint " << best_checkpoint(o_.out).string() << " --out piece.mid\n";
  return 0;
}

// The epoch's order depends only on (seed, epoch): a resumed run sees the same batches.
Permutation Training::epoch_order() const {
  return Permutation(static_cast<uint64_t>(data_.windows.size()),
                     o_.seed * 1000003ull + static_cast<uint64_t>(state_.epoch));
}

// One optimiser step on the epoch's next batch, which then counts as done.
void Training::train_batch(const Permutation& order) {
  // This rank's windows of the batch: the positions a single process would give them.
  windows_.resize(static_cast<size_t>(data_.share.local));
  for (int64_t b = 0; b < data_.share.local; ++b) {
    const auto position = static_cast<uint64_t>(state_.batch * data_.batch + data_.share.first + b);
    Window& w = windows_[static_cast<size_t>(b)] = data_.windows.at(static_cast<int64_t>(order(position)));
    w.draw = TrainingWindows::draw_for(o_.seed * 1000003ull + static_cast<uint64_t>(state_.epoch), position);
  }
  data_.windows.fill(windows_.data(), data_.share.local, tokens_, targets_);
  const Tensor logits = net_.forward(tokens_, !data_.all_steps, true, dropout_);
  const Tensor batch_targets = o_.device == Device::CPU ? targets_ : targets_.to(o_.device);
  Tensor loss = r_.keras_loss ? ops::cross_entropy_probs(ops::softmax(logits), batch_targets)
                              : ops::cross_entropy_logits(logits, batch_targets);
  loss.backward();
  const double batch_loss = world_.distributed() ? sum_over_ranks(loss.item()) : loss.item();
  if (r_.clip > 0) optim::clip_grad_norm(opt_->parameters(), r_.clip);
  opt_->step();
  opt_->zero_grad();
  ++state_.step;
  state_.loss_sum += batch_loss;
  ++state_.loss_count;
  state_.dropout_offset = dropout_.offset;
  state_.seconds = seconds_before_ + elapsed();
  ++state_.batch;
  if (!o_.quiet) show_progress();
  if (o_.on_progress)
    o_.on_progress({state_.epoch + 1, state_.batch, data_.batches, state_.step,
                    state_.loss_sum / static_cast<double>(state_.loss_count), nullptr});
}

// Of several ranks: every gradient becomes the batch's (each rank's weighted by its share of the
// batch, its loss being the mean over its windows), summed in one flat buffer with the batch's
// loss and the ranks' stop requests, so that all ranks step and stop alike. Returns the loss.
double Training::sum_over_ranks(double loss) {
  const float weight = static_cast<float>(data_.share.local) / static_cast<float>(data_.batch);
  const Stop mine = stop_asked();
  std::vector<float> extra = {weight * static_cast<float>(loss), mine == Stop::kInterrupted ? 1.0f : 0.0f,
                              mine == Stop::kOutOfTime ? 1.0f : 0.0f};
  gradient_sum_->sum(weight, extra);
  agreed_stop_ = extra[1] > 0 ? Stop::kInterrupted : extra[2] > 0 ? Stop::kOutOfTime : Stop::kNone;
  return extra[0];
}

void Training::show_progress() {
  const int64_t predictions_per_batch = data_.all_steps ? data_.batch * r_.seq_len : data_.batch;
  const double tokens_per_second =
      static_cast<double>(predictions_per_batch * state_.batch) / std::max(1e-9, elapsed());
  progress_.update(state_.batch, "loss " + fixed(state_.loss_sum / static_cast<double>(state_.loss_count)) + " " +
                                     fixed(tokens_per_second, 0) + " tok/s" +
                                     (std::isnan(last_mean_oa_) ? "" : ", mean OA " + fixed(last_mean_oa_, 3)));
}

// Asked after every batch: a signal (or stop_after_batches, which stands for one) interrupts the
// run; --max-minutes ends it as if the epoch ended there. Several ranks stop when any asks,
// after the same batch (the request travelled with its gradients).
Training::Stop Training::stop_requested() { return world_.distributed() ? agreed_stop_ : stop_asked(); }

// What this process was asked: by a signal, stop_after_batches, or the clock.
Training::Stop Training::stop_asked() {
  const bool out_of_time = o_.max_minutes > 0 && elapsed() >= o_.max_minutes * 60;
  if (o_.stop_after_batches > 0 && ++batches_this_run_ == o_.stop_after_batches) g_stop.store(true);
  if (g_stop.load()) return Stop::kInterrupted;
  return out_of_time ? Stop::kOutOfTime : Stop::kNone;
}

// Ends the run in the middle of an epoch; the state file says where --resume goes on.
int Training::stop_early(Stop why) {
  if (why == Stop::kInterrupted) {
    write_outputs(false);
    out_ << "interrupted: checkpoint written to " << last_checkpoint(o_.out).string() << "; continue with --resume\n";
    if (!std::filesystem::exists(best_checkpoint(o_.out)))
      out_ << "no " << best_checkpoint(o_.out).string() << " yet and no rows in metrics.csv: both come at the end of "
           << "the first epoch (compose from " << last_checkpoint(o_.out).string() << " meanwhile)\n";
    return 130;
  }
  const bool improved =
      close_epoch(state_.epoch + static_cast<double>(state_.batch) / static_cast<double>(data_.batches));
  write_outputs(improved);
  out_ << "stopped after " << fixed(o_.max_minutes, 1) << " minutes; continue with --resume\n";
  return 0;
}

void Training::end_epoch() {
  const bool improved = close_epoch(state_.epoch + 1);
  ++state_.epoch;  // the state file says where to go on: the next epoch's first batch
  state_.batch = 0;
  state_.loss_sum = 0;
  state_.loss_count = 0;
  write_outputs(improved);
}

// The metrics row of the epoch so far, validated where there is a validation set.
EpochMetrics Training::measure(double epoch_position) {
  EpochMetrics m;
  m.epoch = epoch_position;
  m.step = state_.step;
  m.train_loss = state_.loss_count ? state_.loss_sum / static_cast<double>(state_.loss_count) : NAN;
  m.seconds = state_.seconds;
  // Of several ranks, rank 0 alone validates and composes: the others hold the same weights and
  // would only repeat it. They wait for its row, so that all go on (or stop) together.
  if (world_.root()) {
    validate(m);
    measure_music(m);
  }
  if (world_.distributed()) {
    static_assert(std::is_trivially_copyable_v<EpochMetrics>);
    world_.broadcast(&m, sizeof m, kNoLimit, "rank 0 measured the model");
    if (!std::isnan(m.mean_oa)) last_mean_oa_ = m.mean_oa;
  }
  return m;
}

// The validation loss, perplexity and accuracy into m, where there is a validation set.
void Training::validate(EpochMetrics& m) {
  if (data_.corpus.val.empty()) return;
  const EvalResult v = evaluate(net_, data_.corpus.val, r_.seq_len, std::max<int64_t>(data_.batch, 64));
  if (v.predictions > 0) {
    m.val_loss = v.loss;
    m.val_perplexity = v.perplexity;
    m.val_accuracy = v.accuracy;
  }
}

// Composes eval_pieces pieces from the network as it is now (the default sampling, a seed of
// their own so that training's random streams are untouched) and compares them with the
// validation pieces: the mean OA and the composed pieces' key features go into the row.
void Training::measure_music(EpochMetrics& m) {
  if (o_.eval_pieces == 0 || val_music_.size() < 2) return;
  // As composer composes by default, but the seed scheme starts piece k from stored training
  // window k rather than a drawn one.
  CompositionRequest request;
  request.primer.source = PrimerSource::Corpus;
  request.length = {o_.eval_length, 0};
  request.count = o_.eval_pieces;
  request.seed = o_.seed * 0x2545F4914F6CDD1Dull + static_cast<uint64_t>(state_.step);
  request.ensemble_before_key = true;
  if (!composition_problem(meta_, request).empty()) return;  // nothing to start from
  std::vector<eval::NamedFeatures> composed;
  for (const ComposedPiece& piece : compose_pieces(net_, meta_, request))
    composed.push_back({"", eval::features_of(piece.score)});
  const eval::Comparison c = eval::compare_sets(composed, val_music_);
  m.mean_oa = last_mean_oa_ = c.mean_oa;
  // The composed pieces' means (over those that have the feature).
  auto mean_of = [&](double eval::Features::*field) {
    double sum = 0;
    int count = 0;
    for (const auto& p : composed)
      if (!std::isnan(p.features.*field)) sum += p.features.*field, ++count;
    return count ? sum / count : NAN;
  };
  m.pitch_class_entropy = mean_of(&eval::Features::pitch_class_entropy);
  m.scale_consistency = mean_of(&eval::Features::scale_consistency);
  m.polyphony = mean_of(&eval::Features::polyphony);
  m.empty_beat_rate = mean_of(&eval::Features::empty_beat_rate);
  m.groove_consistency = mean_of(&eval::Features::groove_consistency);
}

// The validation pieces' features, read again from their files (the token store keeps tokens
// only). At most kMusicPieces of them: the comparison's distances grow with the square of the
// count, and a Lakh-sized corpus holds out thousands.
void Training::load_val_music() {
  constexpr size_t kMusicPieces = 200;
  std::vector<std::filesystem::path> paths;
  for (const std::string& path : data_.corpus.val_names)
    if (paths.size() < kMusicPieces && std::filesystem::is_regular_file(path)) paths.emplace_back(path);
  std::ostringstream unread;  // changed or gone since the cache was written: measured without them
  val_music_ = eval::features_of_files(paths, unread);
}

// --eval-every: the measurement of an epoch's end in the middle of one (validation loss, composed
// music, `best` when it improved), then every output written, as at an epoch end.
void Training::eval_checkpoint() {
  if (!o_.quiet) progress_.finish();  // clears the bar's line; the bar goes on below the new line
  write_outputs(close_epoch(state_.epoch + static_cast<double>(state_.batch) / static_cast<double>(data_.batches)));
}

// Validation, a metrics row and the epoch's line; returns whether this is the best model so far.
bool Training::close_epoch(double epoch_position) {
  const EpochMetrics m = measure(epoch_position);
  state_.metrics.push_back(m);
  if (o_.on_progress) o_.on_progress({state_.epoch + 1, state_.batch, data_.batches, state_.step, m.train_loss, &m});
  const bool improved = improves_best(m);
  out_ << "epoch " << fixed(epoch_position, epoch_position == std::floor(epoch_position) ? 0 : 2) << "/" << r_.epochs
       << ": train loss " << fixed(m.train_loss);
  if (!std::isnan(m.val_loss))
    out_ << ", val loss " << fixed(m.val_loss) << ", perplexity " << fixed(m.val_perplexity, 2) << ", accuracy "
         << percent(m.val_accuracy);
  if (!std::isnan(m.mean_oa)) out_ << ", mean OA " << fixed(m.mean_oa, 3);
  out_ << ", " << fixed(state_.seconds, 0) << " s" << (improved ? " (best)" : "") << "\n";
  return improved;
}

// Whether the model as it is now (the last metrics row, m) is the best so far, by Recipe::best_by.
// The music's record is read from the rows themselves, which --resume restores; the loss's is kept.
bool Training::improves_best(const EpochMetrics& m) {
  const std::vector<EpochMetrics>& rows = state_.metrics;
  if (r_.best_by == "music")
    if (const double oa = recent_mean_oa(rows, rows.size()); !std::isnan(oa)) {
      // An earlier model was as close: a mean equal to within rounding is a tie, not a gain (the same
      // OAs summed in another order differ in their last bits; an OA is often an exact share).
      for (size_t end = 1; end < rows.size(); ++end)
        if (recent_mean_oa(rows, end) >= oa - kMusicTie) return false;
      return true;
    }
  const double score = std::isnan(m.val_loss) ? m.train_loss : m.val_loss;
  if (std::isnan(score) || score >= state_.best) return false;
  state_.best = score;
  return true;
}

void Training::write_outputs(bool improved) {
  last_checkpoint_ = std::chrono::steady_clock::now();
  if (!world_.root()) return;  // the others hold the same weights
  save_checkpoint(last_checkpoint(o_.out), net_, meta_);
  if (improved) save_checkpoint(best_checkpoint(o_.out), net_, meta_);
  write_file_atomically(o_.out / "metrics.csv", metrics_csv(state_.metrics));
  write_file_atomically(o_.out / "loss.svg", loss_svg(state_.metrics));
  save_state(train_state_file(o_.out), state_, *opt_, net_, meta_);
}

// Every checkpoint_every_minutes, between two batches: last and the state, with where the epoch
// stands. best is left alone: it follows what is measured at epoch ends.
void Training::maybe_checkpoint() {
  if (o_.checkpoint_every_minutes <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (std::chrono::duration<double>(now - last_checkpoint_).count() < o_.checkpoint_every_minutes * 60) return;
  if (!world_.root()) return;
  save_checkpoint(last_checkpoint(o_.out), net_, meta_);
  save_state(train_state_file(o_.out), state_, *opt_, net_, meta_);
  last_checkpoint_ = std::chrono::steady_clock::now();
}

}  // namespace

void request_stop() { g_stop.store(true); }

int train(const TrainOptions& given, std::ostream& shown) {
  const dist::World& world = dist::World::get();
  check_same_setup(world, given);  // before anything that could fail on one rank only
  // Of several ranks, rank 0 alone speaks and writes; the others train quietly.
  TrainOptions o = given;
  std::ostream silent(nullptr);
  if (!world.root()) o.quiet = true, o.terminal = false, o.on_progress = nullptr;
  std::ostream& out = world.root() ? shown : silent;
  check_recipe(o.recipe);
  check_music_options(o);
  if (!check_outputs(o, out)) return 0;
  const StopSignals signals;
  Training training(o, out);
  return training.run();
}

}  // namespace legato::model
