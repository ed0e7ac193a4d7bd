#include "train/distributed.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "engine/device_sum.h"

namespace legato::model {
namespace {

struct Fnv1a {
  uint64_t hash = 0xcbf29ce484222325ull;
  void add(const void* data, size_t bytes) {
    for (size_t k = 0; k < bytes; ++k) hash = (hash ^ static_cast<const unsigned char*>(data)[k]) * 0x100000001b3ull;
  }
  template <class T>
  void add(const T& value) {
    add(&value, sizeof value);
  }
  void add(const std::string& text) {
    add(text.size());
    add(text.data(), text.size());
  }
};

uint64_t hash_of(const std::string& text) {
  Fnv1a h;
  h.add(text);
  return h.hash;
}

// The first rank whose value differs from rank 0's, or 0 when all agree.
int first_differing(const std::vector<uint64_t>& values) {
  for (size_t r = 1; r < values.size(); ++r)
    if (values[r] != values[0]) return static_cast<int>(r);
  return 0;
}

std::string device_name(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

// Throws InputError on every rank unless every rank was given the same --device.
void check_same_device(const dist::World& world, Device device) {
  const std::vector<uint64_t> devices = world.gather(static_cast<uint64_t>(device));
  if (const int r = first_differing(devices))
    throw InputError("mixed devices: rank " + std::to_string(r) + " trains on " +
                     device_name(static_cast<Device>(devices[static_cast<size_t>(r)])) + ", rank 0 on " +
                     device_name(static_cast<Device>(devices[0])) + "; give every rank the same --device");
}

}  // namespace

BatchShare share_of(const dist::World& world, int64_t batch) {
  const int64_t ranks = world.size(), rank = world.rank();
  if (ranks > batch)
    throw InputError(std::to_string(ranks) + " ranks share a global batch of " + std::to_string(batch) +
                     " windows: each needs at least one; raise --batch to " + std::to_string(ranks) +
                     " or more, or start fewer ranks");
  // The first batch % ranks ranks take one window more.
  const int64_t base = batch / ranks, extra = batch % ranks;
  return {rank * base + std::min(rank, extra), base + (rank < extra ? 1 : 0)};
}

void check_same_setup(const dist::World& world, const TrainOptions& o) {
  if (!world.distributed()) return;
  check_same_device(world, o.device);
  const std::string settings = nlohmann::json(run_settings(o)).dump() + " precision=" + legato::to_string(o.precision) +
                               " out=" + o.out.string() + " resume=" + std::to_string(o.resume);
  if (const int r = first_differing(world.gather(hash_of(settings))))
    throw InputError("rank " + std::to_string(r) + " was given other options than rank 0 (" +
                     std::string(o.resume ? "the run.json it read, " : "") +
                     "--data, the recipe, --seed, --precision or --out differ); give every rank the same command line");
  if (o.device != Device::CUDA) return;
  const std::string ranks = "--device cuda over " + std::to_string(world.size()) + " ranks";
  if (const std::string problem = device_sum_problem(); !problem.empty())
    throw InputError(ranks + " needs NCCL to sum the gradients: " + problem + "; or train on --device cpu");
}

void choose_device(const dist::World& world, Device device) {
  if (!world.distributed()) return;
  check_same_device(world, device);
  if (device != Device::CUDA) return;
  // Every rank answers, so that all refuse alike: the first rank without a GPU of its own is named.
  const int gpus = cuda_device_count(), local = world.local_rank();
  const std::vector<uint64_t> short_of = world.gather(local < gpus ? 0 : static_cast<uint64_t>(gpus) + 1);
  for (size_t r = 0; r < short_of.size(); ++r)
    if (short_of[r] != 0)
      throw InputError("rank " + std::to_string(r) + " is rank " +
                       std::to_string(world.local_rank_of(static_cast<int>(r))) + " on host " + world.hosts()[r] +
                       ", which has " + std::to_string(short_of[r] - 1) +
                       " GPU(s): start at most one rank per GPU on each host");
  use_cuda_device(local);
}

void check_same_corpus(const dist::World& world, const Corpus& corpus) {
  if (!world.distributed()) return;
  if (const int r = first_differing(world.gather(corpus_fingerprint(corpus))))
    throw InputError("rank " + std::to_string(r) +
                     " read another corpus than rank 0 (the files under --data differ "
                     "between their hosts, or changed between their reads); give every rank the same files");
}

uint64_t corpus_fingerprint(const Corpus& corpus) {
  Fnv1a h;
  for (const std::string& token : corpus.vocab) h.add(token);
  for (const TrainPiece& piece : corpus.train) {
    h.add(piece.lowest);
    h.add(piece.highest);
    h.add(corpus.length(piece));
    // The stored codes at shift 0 and the ids every shift maps them to (Corpus::moved) say the rest.
    const uint64_t offset = corpus.store->pieces[piece.piece].offset;
    for (int64_t k = 0; k < corpus.length(piece); ++k) h.add(corpus.store->code(offset + static_cast<uint64_t>(k)));
  }
  for (int32_t id : corpus.moved) h.add(id);
  for (const std::vector<int32_t>& piece : corpus.val) {
    h.add(piece.size());
    h.add(piece.data(), piece.size() * sizeof(int32_t));
  }
  return h.hash;
}

}  // namespace legato::model
