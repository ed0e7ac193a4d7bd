// Corpus reading reports its progress through a callback (corpus/ draws nothing and needs nothing
// from train/): once before the first file, once per file in order, the last with done == total.
#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

#include "corpus/corpus.h"
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
