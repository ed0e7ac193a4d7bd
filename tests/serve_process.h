#pragma once
// legato-serve run as a person runs it, in a process of its own on a free port of 127.0.0.1 (or
// --host), with a checkpoint trained briefly here; and the HTTP clients the tests talk to it with.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "small_corpus.h"
#include "small_training.h"
#include "temp_dir.h"

namespace legato::testing {

// A folder of checkpoints: one trained for a moment on the small corpus (models/run/), made once
// per test process.
inline std::filesystem::path serve_models() {
  static const std::filesystem::path models = [] {
    const auto dir = temp_dir("serve_models");
    model::TrainOptions o = small_training(write_small_corpus("serve_corpus"), dir / "run");
    o.recipe.epochs = 1;
    std::ostringstream log;
    model::train(o, log);
    return dir;
  }();
  return models;
}

// A folder with one checkpoint trained with control tokens (key, density; docs/controls.md).
inline std::filesystem::path serve_control_models() {
  static const std::filesystem::path models = [] {
    const auto dir = temp_dir("serve_control_models");
    model::TrainOptions o = small_training(write_small_corpus("serve_control_corpus"), dir / "ctl");
    o.recipe.epochs = 1;
    o.recipe.val_split = 0;
    o.recipe.controls = {"key", "density"};
    std::ostringstream log;
    model::train(o, log);
    return dir;
  }();
  return models;
}

class ServeProcess {
 public:
  // Starts build/bin/legato-serve with `args` (besides --port 0 --models --out) and waits for the
  // line with its address; `out` is its output folder, `models` its checkpoints (serve_models()).
  explicit ServeProcess(const std::string& args, std::filesystem::path out = {}, std::filesystem::path models = {})
      : out_(std::move(out)) {
    if (models.empty()) models = serve_models();
    if (out_.empty()) out_ = temp_dir("serve_out_" + std::to_string(++count()));
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    const std::string command = std::string(LEGATO_BIN_DIR) + "/legato-serve --port 0 --models " + models.string() +
                                " --out " + out_.string() + " " + args;
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(pipe_fds[1], 1), ::dup2(pipe_fds[1], 2), ::close(pipe_fds[0]);
      ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    output_ = ::fdopen(pipe_fds[0], "r");
    for (char line[4096]; std::fgets(line, sizeof line, output_);) {
      log_ += line;
      if (const char* at = std::strstr(line, "open http://"); at) {
        const std::string address = at + 12;
        host_ = address.substr(0, address.find(':'));
        port_ = std::stoi(address.substr(address.find(':') + 1));
        break;
      }
    }
    REQUIRE_MESSAGE(port_ > 0, "legato-serve did not start: " << log_);
  }
  ~ServeProcess() { stop(); }

  // Ctrl-C; returns the exit status and keeps the rest of the output in log().
  int stop() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGINT);
    for (char line[4096]; std::fgets(line, sizeof line, output_);) log_ += line;
    std::fclose(output_);
    int raw = 0;
    ::waitpid(pid_, &raw, 0);
    pid_ = -1;
    status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return status_;
  }

  httplib::Client client() const {
    httplib::Client c(host_, port_);
    c.set_read_timeout(std::chrono::seconds(60));
    return c;
  }
  // The server's resident memory in bytes (VmRSS).
  int64_t memory() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;
    return -1;
  }
  int port() const { return port_; }
  const std::string& log() const { return log_; }
  const std::filesystem::path& out() const { return out_; }

 private:
  static int& count() {
    static int n = 0;
    return n;
  }
  std::filesystem::path out_;
  pid_t pid_ = -1;
  FILE* output_ = nullptr;
  std::string log_, host_;
  int port_ = 0, status_ = -1;
};

// POST /api/compose, its JSON lines handed to `on_event` as they come; false from it hangs up.
// Returns the HTTP status (0 when the client hung up or the connection failed).
inline int compose(const ServeProcess& server, const nlohmann::json& request,
                   const std::function<bool(const nlohmann::json&)>& on_event, std::string* body = nullptr) {
  httplib::Client c = server.client();
  httplib::Request req;
  req.method = "POST";
  req.path = "/api/compose";
  req.body = request.dump();
  req.set_header("Content-Type", "application/json");
  std::string pending;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    pending.append(data, n);
    for (size_t end; (end = pending.find('\n')) != std::string::npos;) {
      const std::string line = pending.substr(0, end);
      pending.erase(0, end + 1);
      if (!on_event(nlohmann::json::parse(line))) return false;
    }
    return true;
  };
  const httplib::Result result = c.send(req);
  if (body) *body = result ? pending : "no answer: " + httplib::to_string(result.error());
  return result ? result->status : 0;
}

// The last event of a composition run to its end.
inline nlohmann::json compose_to_end(const ServeProcess& server, const nlohmann::json& request) {
  nlohmann::json last;
  std::string body;
  const int status = compose(
      server, request, [&](const nlohmann::json& e) { return last = e, true; }, &body);
  if (status != 200) return {{"status", status}, {"body", body}};
  return last;
}

}  // namespace legato::testing
