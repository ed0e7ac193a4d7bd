// NCCL, as far as Legato calls it (engine/cuda/nccl.cpp), on the emulator: the ranks are the MPI
// job's (the trainer under mpirun has joined it: dist/world.cpp). ncclAllReduce queues on the
// stream what NCCL's kernel does: once the work before it has run, an MPI_Iallreduce of the
// emulated device memory (host memory) starts, and the stream's later work waits until MPI_Testall
// says it is done; meanwhile cudaStreamQuery answers cudaErrorNotReady, so a lost peer leaves the
// stream waiting as on a GPU, and ncclCommAbort frees it. One rank needs no MPI at all
// (tools/gpu_check.sh's NCCL step). Linked instead of libnccl into the emulated suite and
// programs; like the real library, calls report errors through their result (an error of the
// queued sum through ncclCommGetAsyncError), never by throwing.
#include <cuda_runtime.h>
#include <nccl.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/cuda_emulator/emulator.h"

#ifdef LEGATO_HAVE_MPI
#include <mpi.h>
#endif

// What the queued sums share with their communicator: they outlive it when it is aborted.
struct CommState {
  bool aborted = false;                    // ncclCommAbort: the sums in flight are abandoned
  ncclResult_t async_error = ncclSuccess;  // a queued sum's failure, for ncclCommGetAsyncError
  std::string async_why;
};

struct ncclComm {
  int rank = 0, ranks = 1;
  std::string last_error;
  std::shared_ptr<CommState> state = std::make_shared<CommState>();
#ifdef LEGATO_HAVE_MPI
  MPI_Comm mpi = MPI_COMM_NULL;  // the ranks in NCCL's order
#endif
};

namespace {
std::string g_last_error;  // of calls without a communicator

ncclResult_t fail(ncclComm_t comm, ncclResult_t result, const std::string& why) {
  (comm ? comm->last_error : g_last_error) = why;
  return result;
}

#ifdef LEGATO_HAVE_MPI
// The communicator of the MPI job's ranks in NCCL's rank order; every rank must hold the same id
// (the real library would hang or fail otherwise: here it is checked).
ncclResult_t join_mpi(ncclComm_t comm, const ncclUniqueId& id) {
  int initialised = 0, world = 0;
  MPI_Initialized(&initialised);
  if (!initialised)
    return fail(comm, ncclInvalidUsage, "emulated NCCL: several ranks need the MPI job (MPI_Init first)");
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  if (world != comm->ranks)
    return fail(comm, ncclInvalidArgument,
                "emulated NCCL: " + std::to_string(comm->ranks) + " ranks in an MPI job of " + std::to_string(world));
  if (MPI_Comm_split(MPI_COMM_WORLD, 0, comm->rank, &comm->mpi) != MPI_SUCCESS)
    return fail(comm, ncclSystemError, "emulated NCCL: MPI_Comm_split failed");
  MPI_Comm_set_errhandler(comm->mpi, MPI_ERRORS_RETURN);  // a failed sum is a result, as NCCL's, not an abort
  std::vector<char> ids(sizeof id.internal * static_cast<size_t>(comm->ranks));
  if (MPI_Allgather(id.internal, sizeof id.internal, MPI_CHAR, ids.data(), sizeof id.internal, MPI_CHAR, comm->mpi) !=
      MPI_SUCCESS)
    return fail(comm, ncclSystemError, "emulated NCCL: MPI_Allgather of the ids failed");
  for (int r = 0; r < comm->ranks; ++r)
    if (std::memcmp(ids.data() + r * sizeof id.internal, id.internal, sizeof id.internal) != 0)
      return fail(comm, ncclInvalidUsage, "emulated NCCL: rank " + std::to_string(r) + " was given another unique id");
  return ncclSuccess;
}
#endif
}  // namespace

// LEGATO_EMU_NO_NCCL=1 makes the library fail its first call, as a broken installation would: the
// trainer's refusal of several ranks on GPUs without NCCL is tested that way.
ncclResult_t ncclGetVersion(int* version) {
  if (const char* off = std::getenv("LEGATO_EMU_NO_NCCL"); off != nullptr && off[0] == '1')
    return fail(nullptr, ncclSystemError, "emulated NCCL: switched off by LEGATO_EMU_NO_NCCL");
  *version = NCCL_VERSION_CODE;  // the header's: the version it stands in for
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  std::random_device entropy;  // another id every time, as the real one's (it holds an address and a port)
  for (char& c : id->internal) c = static_cast<char>(entropy());
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* comm, int nranks, ncclUniqueId id, int rank) {
  *comm = nullptr;
  if (nranks < 1 || rank < 0 || rank >= nranks)
    return fail(nullptr, ncclInvalidArgument,
                "emulated NCCL: rank " + std::to_string(rank) + " of " + std::to_string(nranks));
  auto* c = new ncclComm{rank, nranks, {}};
  if (nranks > 1) {
#ifdef LEGATO_HAVE_MPI
    if (const ncclResult_t r = join_mpi(c, id); r != ncclSuccess) {
      g_last_error = c->last_error;
      delete c;
      return r;
    }
#else
    delete c;
    return fail(nullptr, ncclInvalidUsage, "emulated NCCL: several ranks need MPI, and this build has none");
#endif
  }
  *comm = c;
  return ncclSuccess;
}

namespace {

// Runs `work` on `stream` after the work queued before it: queued on a created stream, at once on
// the legacy one.
void enqueue(cudaStream_t stream, std::function<void()> work) {
  if (!legato::emu::defer(stream, work)) work();
}

#ifdef LEGATO_HAVE_MPI
// One all-reduce in flight: MPI's requests (its counts are int: 2^30 values each at most).
struct Sum {
  std::shared_ptr<CommState> state;
  std::vector<MPI_Request> requests;

  void failed(const char* call) {
    state->async_error = ncclRemoteError;
    state->async_why = std::string("emulated NCCL: ") + call + " failed";
  }
  void start(float* values, size_t count, MPI_Comm mpi) {
    for (size_t done = 0; done < count;) {
      const int n = static_cast<int>(std::min<size_t>(count - done, size_t{1} << 30));
      MPI_Request& request = requests.emplace_back(MPI_REQUEST_NULL);
      if (MPI_Iallreduce(MPI_IN_PLACE, values + done, n, MPI_FLOAT, MPI_SUM, mpi, &request) != MPI_SUCCESS)
        return failed("MPI_Iallreduce");
      done += static_cast<size_t>(n);
    }
  }
  // Whether the stream may go on: the sum is done, failed or abandoned (ncclCommAbort).
  bool over() {
    if (state->aborted || state->async_error != ncclSuccess) return true;
    int done = 0;
    if (MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS) {
      failed("MPI_Testall");
      return true;
    }
    return done != 0;
  }
};
#endif

}  // namespace

ncclResult_t ncclAllReduce(const void* sendbuff, void* recvbuff, size_t count, ncclDataType_t datatype, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  if (comm == nullptr) return fail(nullptr, ncclInvalidArgument, "emulated NCCL: no communicator");
  if (datatype != ncclFloat32 || op != ncclSum)
    return fail(comm, ncclInvalidArgument, "emulated NCCL: only the sum of float32 is emulated");
  auto* values = static_cast<float*>(recvbuff);
  if (sendbuff != recvbuff)  // the sum is taken in place, in the receiving buffer
    enqueue(stream, [=] { std::memmove(values, sendbuff, count * sizeof(float)); });
  if (comm->ranks == 1) return ncclSuccess;
#ifdef LEGATO_HAVE_MPI
  auto sum = std::make_shared<Sum>();
  sum->state = comm->state;
  enqueue(stream, [sum, values, count, mpi = comm->mpi] { sum->start(values, count, mpi); });
  legato::emu::defer_outside_wait(stream, [sum] { return sum->over(); });
  return ncclSuccess;
#else
  return fail(comm, ncclInvalidUsage, "emulated NCCL: no MPI");
#endif
}

// NCCL's words for a communicator without an abort: ncclSuccess while its sums are in flight or
// done, a sum's error once one failed (after which nothing is known of the queued work).
ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* async_error) {
  if (comm == nullptr || async_error == nullptr) return ncclInvalidArgument;
  *async_error = comm->state->async_error;
  if (*async_error != ncclSuccess) comm->last_error = comm->state->async_why;
  return ncclSuccess;
}

namespace {
ncclResult_t release(ncclComm_t comm) {
  if (comm == nullptr) return ncclInvalidArgument;
#ifdef LEGATO_HAVE_MPI
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (comm->mpi != MPI_COMM_NULL && !finalised) MPI_Comm_free(&comm->mpi);
#endif
  delete comm;
  return ncclSuccess;
}
}  // namespace

ncclResult_t ncclCommDestroy(ncclComm_t comm) { return release(comm); }

// Abandons the sums in flight: the streams that wait for them go on (their values undefined, as
// NCCL's). MPI cannot cancel a collective, so its requests and communicator are left as they
// are, not freed: freeing them would wait for the lost peer; the process is about to end.
ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (comm == nullptr) return ncclInvalidArgument;
  comm->state->aborted = true;
  delete comm;
  return ncclSuccess;
}

const char* ncclGetErrorString(ncclResult_t result) {
  switch (result) {  // the library's own words
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
    case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
    case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
    case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
    case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}

const char* ncclGetLastError(ncclComm_t comm) { return (comm ? comm->last_error : g_last_error).c_str(); }
