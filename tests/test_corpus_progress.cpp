// Corpus reading reports its progress through a callback (corpus/ draws nothing and needs nothing
// from train/): once before the first file, once per file in order, the last with done == total.
#include <doctest/doctest.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "corpus/corpus.h"
#include "corpus/ordered_results.h"
#include "small_corpus.h"

using namespace legato;

TEST_CASE("corpus: reading a folder of 200 files or more reports its progress to the callback") {
  const auto data = testing::write_small_corpus("progress_corpus", 200);
  struct Call {
    int64_t done, total;
    std::string status;
  };
  std::vector<Call> calls;
  model::CorpusOptions options;
  options.paths = {data};
  options.scheme = "event";
  options.progress = [&](int64_t done, int64_t total, const std::string& status) {
    calls.push_back({done, total, status});
  };
  std::ostringstream log;
  const model::Corpus corpus = model::load_corpus(options, log);
  CHECK(corpus.files_loaded == 200);
  REQUIRE(calls.size() == 201);
  for (size_t k = 0; k < calls.size(); ++k) {
    CHECK(calls[k].done == static_cast<int64_t>(k));
    CHECK(calls[k].total == 200);
  }
  CHECK(calls.front().status.empty());
  CHECK(calls.back().status.find("files/s") != std::string::npos);
  CHECK(log.str().find("files/s") == std::string::npos);  // the callback, not the log, hears it

  calls.clear();  // a small folder loads in a blink: no progress at all
  options.paths = {testing::write_small_corpus("progress_small", 3)};
  model::load_corpus(options, log);
  CHECK(calls.empty());
}

// The window that corpus reading hands files out through: with many workers and a window of 2,
// workers woken together must not take an index past the last item (a past version did, about
// one read of a 200-file folder in three on 2 cores, and read past the file list; here such a
// worker then waits for room that never comes, so that version hangs this case until ctest's
// timeout).
TEST_CASE("corpus: ordered results hand out every index once, none past the last, and return them in order") {
  for (int round = 0; round < 50; ++round) {
    const size_t items = 37;
    model::OrderedResults<size_t> results(items, 2);
    std::atomic<int> past_the_end{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 8; ++t)
      workers.emplace_back([&] {
        while (const auto k = results.next()) {
          if (*k >= items) {
            ++past_the_end;
            continue;
          }
          results.put(*k, *k * 10);
        }
      });
    bool in_order = true;
    for (size_t k = 0; k < items; ++k) in_order = in_order && results.take(k) == k * 10;
    for (auto& w : workers) w.join();
    CHECK(past_the_end.load() == 0);
    CHECK(in_order);
  }
}
