#pragma once
// legato-serve's HTTP server (cpp-httplib): the page, the JSON API and the files it wrote.
//   GET  /                     the page (serve/page/), GET /app.js and /style.css with it
//   GET  /api/models           {"models": [checkpoint...], "audio": bool, "workers": N, "max_upload": bytes}
//   GET  /api/pieces           {"pieces": [summary...]}: this session's pieces, oldest first
//   POST /api/uploads          a MIDI file as the body -> {"upload": "upload-N", "notes": N, "warnings": [...]}
//   POST /api/compose          a request (serve/request.h) -> lines of JSON (application/x-ndjson) as the
//                              job goes: {"event": "queued", "place": N}, {"event": "running", "tokens": N},
//                              then {"event": "done", "piece": summary} or {"event": "error", "message": ...}
//   GET  /files/NAME           a file this server wrote (piece-N.mid, .wav, .svg)
// Every error is a status and {"error": "one line"}; every response has a Content-Type and
// X-Content-Type-Options: nosniff.
#include <cstddef>
#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

#include "engine/precision.h"

namespace legato::serve {

struct ServerOptions {
  std::filesystem::path models = "out";     // searched for checkpoints
  std::filesystem::path out = "out/serve";  // where pieces and uploads are written
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0: any free port
  int workers = 0;                        // 0: one per core
  int places = 64;                        // jobs that may wait in the queue
  size_t max_upload = size_t(4) << 20;    // bytes of any request body
  bool audio = true;                      // WAV files through FluidSynth, where built
  Precision precision = Precision::FP32;  // of every checkpoint's products (checked by the caller)
};

class Server {
 public:
  // Finds the checkpoints (lines about left-out files go to `log`) and opens the output folder;
  // std::runtime_error with one line when the folder cannot be written.
  Server(const ServerOptions& options, std::ostream& log);
  ~Server();
  // Binds to the host and port; returns the port, or throws std::runtime_error.
  int bind();
  // Serves until stop() (from any thread).
  void run();
  // Cancels the compositions, then closes every connection.
  void stop();
  size_t model_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace legato::serve
