// The host's worker thread (LV2 worker extension): everything that allocates, reads files or runs
// the network. run() asks, work() does, work_response() hands the result to run() in the audio
// thread between two runs (plugin/instance.h tells the story).
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "plugin/instance.h"

namespace legato::plugin {

namespace {

live::SessionOptions session_options(const BuildJob& job) {
  live::SessionOptions options;
  const int32_t mode = std::clamp(job.settings.mode, 0, 2);
  options.mode = mode == 0 ? live::Mode::Answer : mode == 1 ? live::Mode::Continue : live::Mode::Accompany;
  options.tempo = job.tempo;
  options.answer_bars = job.settings.bars;
  options.sampling.temperature = job.settings.temperature;
  options.sampling.top_p = job.settings.top_p;
  options.seed = static_cast<uint64_t>(job.settings.seed);
  options.own_thread = false;  // the worker steps it
  return options;
}

std::shared_ptr<const Network> load_network(const std::string& path) {
  if (const std::string problem = model::checkpoint_problem(path); !problem.empty())
    throw std::runtime_error(path + ": " + problem);
  auto network = std::make_shared<Network>();
  network->checkpoint = model::load_checkpoint(path);
  return network;
}

// A new engine of the job's settings (and checkpoint, when it changed), or none, the log saying why.
Engine* build(Plugin& p, const BuildJob& job) {
  std::lock_guard lock(p.worker_mutex);
  try {
    if (job.reload) {
      p.checkpoint_path = job.path;  // kept even when bad: the session names the file the user chose
      p.network.reset();
      p.network = load_network(p.checkpoint_path);
    }
    if (!p.network) return nullptr;
    auto engine = std::make_unique<Engine>();
    engine->network = p.network;
    const model::LoadedCheckpoint& c = p.network->checkpoint;
    try {
      engine->session = std::make_unique<live::Session>(*c.net, c.meta, session_options(job));
    } catch (const std::invalid_argument& e) {  // a checkpoint of another scheme
      throw std::runtime_error(p.checkpoint_path + ": " + e.what());
    }
    return engine.release();
  } catch (const std::exception& e) {
    p.network.reset();
    log_error(p, std::string(e.what()) + "; MIDI passes through unanswered");
    return nullptr;
  }
}

void step(Plugin& p, Engine& engine) {
  while (engine.session->step()) {
  }
  if (!engine.failure_logged && !engine.session->failure().empty()) {
    engine.failure_logged = true;
    log_error(p, "the engine stopped: " + engine.session->failure() + "; MIDI passes through unanswered");
  }
}

}  // namespace

void log_error(Plugin& p, const std::string& message) {
  if (p.logger.log) lv2_log_error(&p.logger, "legato: %s\n", message.c_str());
}

LV2_Worker_Status work(LV2_Handle handle, LV2_Worker_Respond_Function respond, LV2_Worker_Respond_Handle target,
                       uint32_t size, const void* data) {
  Plugin& p = *static_cast<Plugin*>(handle);
  // One thread: OpenMP's team would spin on the cores the host's audio threads need, and a
  // network of one step a token gains little from more.
  omp_set_num_threads(1);
  Job type;
  std::memcpy(&type, data, sizeof type);
  if (type == Job::build) {
    auto job = std::make_unique<BuildJob>();  // the host's copy need not be aligned
    std::memcpy(job.get(), data, std::min<size_t>(size, sizeof(BuildJob)));
    job->path[kMaxPath - 1] = '\0';
    const EngineJob built{Job::built, build(p, *job)};
    return respond(target, sizeof built, &built);
  }
  EngineJob job;
  std::memcpy(&job, data, std::min<size_t>(size, sizeof job));
  // The host runs jobs in the order run() scheduled them: an engine's steps before its free.
  if (type == Job::free) delete job.engine;
  if (type != Job::step) return LV2_WORKER_SUCCESS;
  step(p, *job.engine);
  const EngineJob stepped{Job::stepped, job.engine};
  return respond(target, sizeof stepped, &stepped);
}

// In the audio thread, between runs: no allocation, no lock.
LV2_Worker_Status work_response(LV2_Handle handle, uint32_t size, const void* data) {
  Plugin& p = *static_cast<Plugin*>(handle);
  EngineJob job;
  std::memcpy(&job, data, std::min<size_t>(size, sizeof job));
  if (job.type == Job::stepped) p.stepping = false;
  if (job.type != Job::built) return LV2_WORKER_SUCCESS;
  p.building = false;
  p.retiring = p.engine;  // run() builds no second engine before this one is retired
  p.engine = job.engine;
  if (p.engine) {  // the host's, should they have changed meanwhile
    p.engine->session->set_tempo(p.tempo);
    p.engine->session->set_beat_origin(p.beat_origin);
  }
  return LV2_WORKER_SUCCESS;
}

}  // namespace legato::plugin
