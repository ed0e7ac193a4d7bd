#include "serve/routes.h"

#include <fstream>
#include <functional>
#include <span>

#include "midi/error.h"
#include "midi/reader.h"
#include "serve/page.h"

namespace legato::serve {

using nlohmann::json;

namespace {

constexpr const char* kJson = "application/json";

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

// Runs a handler; a RequestError becomes its status and message, anything else a 500 line.
void guarded(httplib::Response& res, const std::function<void()>& handler) {
  try {
    handler();
  } catch (const RequestError& e) {
    res.status = e.status;
    res.set_content(error_body(e.what()), kJson);
  } catch (const std::exception& e) {
    res.status = 500;
    res.set_content(error_body(std::string("the server failed: ") + e.what()), kJson);
  }
}

std::string content_type_of(const std::string& file_name) {
  const std::string ext = file_name.substr(file_name.rfind('.') + 1);
  if (ext == "mid") return "audio/midi";
  if (ext == "wav") return "audio/wav";
  if (ext == "svg") return "image/svg+xml";
  return "application/octet-stream";
}

// A MIDI file in the body, read leniently (damaged files are salvaged as players do); the
// reader's own line when it cannot be read, or when nothing in it sounds.
json upload(Studio& studio, const std::string& body) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(body.data());
  midi::Score score;
  try {
    score = midi::read_midi(std::span<const uint8_t>(bytes, body.size()), "upload");
  } catch (const midi::MidiError& e) {
    throw RequestError(400, e.what());
  }
  if (score.notes.empty()) throw RequestError(400, "upload: the file has no notes to continue");
  FileStore& store = studio.store();
  const std::string name = store.reserve("upload");
  const std::string file_name = name + ".mid";
  std::ofstream(store.path_of(name, ".mid"), std::ios::binary).write(body.data(), std::streamsize(body.size()));
  store.add_file(file_name);
  json warnings = json::array();
  for (const auto& w : score.warnings) warnings.push_back(w.message());
  return {{"upload", name}, {"notes", score.notes.size()}, {"warnings", warnings}};
}

// One line of the compose stream for the job's view; "" when it says nothing new.
std::string event_line(const Job& job, const JobView& v) {
  json e = {{"job", job.id}};
  switch (v.state) {
    case Job::State::queued: e["event"] = "queued", e["place"] = v.place; break;
    case Job::State::running:
      e["event"] = "running", e["tokens"] = v.tokens, e["length"] = job.request.length;
      if (job.request.seconds > 0) e["seconds"] = job.request.seconds;
      break;
    case Job::State::done: e["event"] = "done", e["piece"] = v.result; break;
    case Job::State::failed: e["event"] = "error", e["status"] = v.error_status, e["message"] = v.error; break;
    case Job::State::cancelled: e["event"] = "cancelled", e["message"] = "the composition was cancelled"; break;
  }
  if (v.started) e["started"] = v.started;
  return e.dump() + "\n";
}

void compose(Studio& studio, Pool& pool, const httplib::Request& req, httplib::Response& res) {
  ComposeRequest request = parse_compose_request(req.body);
  studio.check(request);
  const std::shared_ptr<Job> job = pool.submit(std::move(request));
  uint64_t seen = 0;
  std::string last;
  res.set_chunked_content_provider(
      "application/x-ndjson",
      [&pool, job, seen, last](size_t, httplib::DataSink& sink) mutable {
        const JobView v = pool.wait(job, seen, 100);  // also how soon a hang-up is noticed
        seen = v.version;
        const std::string line = event_line(*job, v);
        if (line != last && !sink.write(line.data(), line.size())) return false;
        last = line;
        const bool over = v.state != Job::State::queued && v.state != Job::State::running;
        if (over) sink.done();
        return true;
      },
      [&pool, job](bool success) {
        if (!success) pool.cancel(job);  // the client went away (or the server is stopping)
      });
}

void add_api(httplib::Server& http, Studio& studio, Pool& pool, const ServerOptions& options) {
  http.Get("/api/models", [&](const httplib::Request&, httplib::Response& res) {
    json models = json::array();
    for (const auto& m : studio.models()) models.push_back(to_json(m));
    send_json(res, {{"models", models},
                    {"audio", studio.audio()},
                    {"workers", pool.workers()},
                    {"max_upload", options.max_upload}});
  });
  http.Get("/api/pieces", [&](const httplib::Request&, httplib::Response& res) {
    send_json(res, {{"pieces", studio.store().pieces()}});
  });
  http.Post("/api/uploads", [&](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { send_json(res, upload(studio, req.body)); });
  });
  http.Post("/api/compose", [&](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] { compose(studio, pool, req, res); });
  });
}

}  // namespace

std::string error_body(const std::string& message) { return json{{"error", message}}.dump(); }

void add_routes(httplib::Server& http, Studio& studio, Pool& pool, const ServerOptions& options) {
  for (const PageFile& file : page_files())
    http.Get(file.route, [&file](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(file.text), file.content_type);
    });
  add_api(http, studio, pool, options);
  // Only names this server recorded as written: a request's text is looked up, never joined into a path.
  http.Get(R"(/files/([A-Za-z0-9._-]{1,64}))", [&](const httplib::Request& req, httplib::Response& res) {
    guarded(res, [&] {
      const std::string name = req.matches[1];
      const auto path = studio.store().written(name);
      if (!path) throw RequestError(404, "no file named " + name + " was written by this server");
      std::ifstream in(*path, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in && !in.eof()) throw RequestError(500, "cannot read " + name);
      res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
      res.set_content(bytes, content_type_of(name));
    });
  });
}

}  // namespace legato::serve
