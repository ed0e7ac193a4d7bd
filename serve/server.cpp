#include "serve/server.h"

#include <httplib.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <stdexcept>
#include <thread>

#include "serve/routes.h"

namespace legato::serve {

namespace {

// What the error handler says where a handler left no message: statuses httplib sets itself.
std::string message_for(int status, const httplib::Request& req, const ServerOptions& options) {
  switch (status) {
    case 404: return "no such page: " + req.path;
    case 405: return req.method + " is not allowed on " + req.path;
    case 413:
      return "the request is larger than the limit of " + std::to_string(options.max_upload >> 20) +
             " MB (MIDI files are far smaller)";
    default: return "the request could not be handled (HTTP " + std::to_string(status) + ")";
  }
}

// cpp-httplib 0.11 listens with a backlog of 5 connections: a burst of clients (32 pressing Compose at
// once) overflows it, and the kernel drops the connections it cannot queue. Calling listen() again
// on the bound socket raises the backlog; the socket is found among ours by its port.
void raise_backlog(int port) {
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(entry.path().filename().c_str());
    int listening = 0;
    socklen_t size = sizeof listening;
    sockaddr_storage address{};
    socklen_t address_size = sizeof address;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening) continue;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &address_size) != 0) continue;
    const int bound = address.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port)
                                                    : ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
    if (bound == port) ::listen(fd, SOMAXCONN);
  }
}

int default_workers() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

struct Server::Impl {
  ServerOptions options;
  FileStore store;
  Studio studio;
  Pool pool;
  httplib::Server http;

  Impl(const ServerOptions& o, std::ostream& log)
      : options(o),
        store(o.out),
        studio(find_models(o.models, log), store, o.audio, o.precision),
        pool(o.workers > 0 ? o.workers : default_workers(), o.places,
             [this](Job& job, const std::function<bool(int64_t)>& progress) {
               return studio.compose(job.request, progress);
             }) {
    // Every client, waiting or composing, holds a connection: enough threads for a full queue.
    const size_t threads = size_t(o.places) + size_t(pool.workers()) + 8;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_payload_max_length(o.max_upload);
    // SO_REUSEADDR alone: httplib's default adds SO_REUSEPORT, with which a second server on the
    // same port starts without a word and takes half the connections.
    http.set_socket_options([](int sock) {
      const int yes = 1;
      setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // A browser must take each file as the type we say (no sniffing a MIDI file into HTML), and
    // the page loads nothing from elsewhere.
    http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                              {"Content-Security-Policy", "default-src 'self'"},
                              {"Cache-Control", "no-store"}});
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (res.body.empty()) res.set_content(error_body(message_for(res.status, req, options)), "application/json");
    });
    add_routes(http, studio, pool, options);
  }
};

Server::Server(const ServerOptions& options, std::ostream& log) : impl_(std::make_unique<Impl>(options, log)) {}

Server::~Server() { stop(); }

int Server::bind() {
  const ServerOptions& o = impl_->options;
  const int port = o.port == 0                                ? impl_->http.bind_to_any_port(o.host)
                   : impl_->http.bind_to_port(o.host, o.port) ? o.port
                                                              : -1;
  if (port < 0)
    throw std::runtime_error("cannot listen on " + o.host + " port " + std::to_string(o.port) +
                             " (in use, or not an address of this machine)");
  raise_backlog(port);
  return port;
}

void Server::run() { impl_->http.listen_after_bind(); }

void Server::stop() {
  impl_->pool.stop();  // the compositions end first, so their streams say so before the connections close
  impl_->http.stop();
}

size_t Server::model_count() const { return impl_->studio.models().size(); }

}  // namespace legato::serve
