// legato-serve's API without a browser: a real server process on the loopback address, real HTTP.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "engine/cpu/products.h"
#include "midi/reader.h"
#include "run_program.h"
#include "serve_process.h"

using namespace legato;
using legato::testing::compose;
using legato::testing::compose_to_end;
using legato::testing::ServeProcess;
using nlohmann::json;

namespace {

const std::string kModel = "run/best.safetensors";

// Every response says what it is and forbids sniffing (a MIDI file must never run as a page).
void check_headers(const httplib::Result& r, const std::string& type) {
  REQUIRE(r);
  CHECK(r->get_header_value("Content-Type").rfind(type, 0) == 0);
  CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
}

// A 4xx answer whose body is one readable line containing `words`.
void check_refused(const httplib::Result& r, int status, const std::string& words) {
  REQUIRE(r);
  CHECK(r->status == status);
  check_headers(r, "application/json");
  const json body = json::parse(r->body, nullptr, false);  // not JSON: the checks below fail, without throwing
  const std::string error = body.is_object() ? body.value("error", "") : "";
  CHECK_MESSAGE(!error.empty(), r->body.substr(0, 200));
  CHECK_MESSAGE(error.find(words) != std::string::npos, error);
  CHECK(error.find('\n') == std::string::npos);
}

httplib::Result post_json(const ServeProcess& server, const std::string& path, const json& body) {
  return server.client().Post(path, body.dump(), "application/json");
}

}  // namespace

TEST_CASE("serve: the page, the checkpoints and a composition with its files") {
  ServeProcess server("--workers 1");
  httplib::Client c = server.client();
  const auto page = c.Get("/");
  check_headers(page, "text/html");
  CHECK(page->body.find("id=\"compose\"") != std::string::npos);
  check_headers(c.Get("/app.js"), "text/javascript");
  check_headers(c.Get("/style.css"), "text/css");

  const auto models = c.Get("/api/models");
  check_headers(models, "application/json");
  const json list = json::parse(models->body).at("models");
  REQUIRE(list.size() == 2);  // best and last; the trainer's state file is not a checkpoint to offer
  CHECK(list[0]["name"] == kModel);
  CHECK(!list[0]["preset"].get<std::string>().empty());  // from run.json
  CHECK(list[0]["vocabulary"].get<int>() > 10);

  const json done = compose_to_end(server, {{"model", kModel}, {"length", 60}, {"seed", 5}});
  REQUIRE_MESSAGE(done["event"] == "done", done.dump());
  const json piece = done["piece"];
  CHECK(piece["tokens"] == 60);
  CHECK(piece["seed"] == 5);
  const auto mid = c.Get("/files/" + piece["files"]["mid"].get<std::string>());
  check_headers(mid, "audio/midi");
  const auto* bytes = reinterpret_cast<const uint8_t*>(mid->body.data());
  const midi::Score score = midi::read_midi(std::span<const uint8_t>(bytes, mid->body.size()), "piece");
  CHECK(score.notes.size() == piece["notes"].get<size_t>());
  check_headers(c.Get("/files/" + piece["files"]["svg"].get<std::string>()), "image/svg+xml");
  const auto pieces = json::parse(c.Get("/api/pieces")->body).at("pieces");
  REQUIRE(pieces.size() == 1);
  CHECK(pieces[0]["name"] == piece["name"]);
  // The same seed composes the same piece again.
  const json again = compose_to_end(server, {{"model", kModel}, {"length", 60}, {"seed", 5}});
  CHECK(again["piece"]["notes"] == piece["notes"]);
  CHECK(again["piece"]["name"] != piece["name"]);
  // The last piece continued, in a key chosen on the page: its notes lead into the new ones.
  const json continued =
      compose_to_end(server, {{"model", kModel}, {"length", 30}, {"key", 7}, {"primer", {{"piece", piece["name"]}}}});
  REQUIRE_MESSAGE(continued["event"] == "done", continued.dump());
  CHECK(continued["piece"]["notes"].get<int>() > 0);
}

TEST_CASE("serve: bad parameters each get a 4xx with one line saying what is wrong") {
  ServeProcess server("--workers 1");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"length", -5}}), 400, "length must be");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"temperature", 0}}), 400,
                "temperature must be above 0");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"top_p", 1.5}}), 400, "top_p");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"seconds", 1e6}}), 400, "seconds must be");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"key", 12}}), 400, "key must be");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"length", "long"}}), 400,
                "length must be a number");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"tempreature", 1}}), 400, "unknown field");
  check_refused(post_json(server, "/api/compose", {{"model", "nothing.safetensors"}}), 404, "no checkpoint named");
  check_refused(server.client().Post("/api/compose", "{not json", "application/json"), 400, "JSON object");
  check_refused(server.client().Get("/api/nothing"), 404, "no such page");
  check_refused(server.client().Delete("/api/models"), 404, "");
}

TEST_CASE("serve: names from a request are never paths") {
  ServeProcess server("--workers 1");
  for (const std::string name : {"../run/best.safetensors", "run/../run/best.safetensors", "/etc/passwd"})
    check_refused(post_json(server, "/api/compose", {{"model", name}}), 404, "no checkpoint named");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"primer", {{"upload", "../../etc/passwd"}}}}),
                400, "primer.upload must name upload-N");
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"primer", {{"piece", "piece-999"}}}}), 404,
                "no piece named piece-999");
  httplib::Client c = server.client();
  // Files beside the pieces, the checkpoints and the system's are not served, by any spelling.
  std::ofstream(server.out() / "secret.txt") << "not for the network";
  for (const std::string path : {"/files/secret.txt", "/files/..%2F..%2F..%2Fetc%2Fpasswd", "/files/../secret.txt",
                                 "/files/%2E%2E/run/best.safetensors", "/../../etc/passwd"}) {
    const auto r = c.Get(path);
    REQUIRE(r);
    CHECK_MESSAGE(r->status == 404, path);
    CHECK(r->body.find("not for the network") == std::string::npos);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
  }
}

TEST_CASE("serve: uploads: a 100 MB body, a file that is not MIDI, a damaged one salvaged") {
  ServeProcess server("--workers 1");
  httplib::Client c = server.client();
  check_refused(c.Post("/api/uploads", std::string(100 << 20, 'M'), "audio/midi"), 413,
                "larger than the limit of 4 MB");
  check_refused(c.Post("/api/uploads", "<html><script>alert(1)</script></html>", "audio/midi"), 400, "upload");
  // A real piece cut short: the lenient reader keeps what it can, and the piece continues it.
  const auto done = compose_to_end(server, {{"model", kModel}, {"length", 80}, {"seed", 1}});
  std::string file = c.Get("/files/" + done["piece"]["files"]["mid"].get<std::string>())->body;
  file.resize(file.size() * 2 / 3);
  const auto upload = c.Post("/api/uploads", file, "audio/midi");
  check_headers(upload, "application/json");
  REQUIRE(upload->status == 200);
  const json uploaded = json::parse(upload->body);
  CHECK(uploaded["notes"].get<int>() > 0);
  CHECK(!uploaded["warnings"].empty());
  const json continued =
      compose_to_end(server, {{"model", kModel}, {"length", 40}, {"primer", {{"upload", uploaded["upload"]}}}});
  REQUIRE_MESSAGE(continued["event"] == "done", continued.dump());
  CHECK(continued["piece"]["notes"].get<int>() >= uploaded["notes"].get<int>());  // the primer leads in
  // The server is still there after all that.
  CHECK(c.Get("/api/models")->status == 200);
}

TEST_CASE("serve: 32 clients at once are all answered, in the order they were queued") {
  ServeProcess server("");
  std::vector<json> last(32);
  std::vector<std::thread> clients;
  for (int k = 0; k < 32; ++k)
    clients.emplace_back([&, k] {
      last[k] = compose_to_end(server, {{"model", kModel}, {"length", 300}, {"seed", k % 16}});
    });
  for (auto& t : clients) t.join();
  std::vector<std::pair<int64_t, int64_t>> order;  // (place in the queue, place in starting)
  for (const json& e : last) {
    REQUIRE_MESSAGE(e["event"] == "done", e.dump());
    order.emplace_back(e["job"].get<int64_t>(), e["started"].get<int64_t>());
  }
  // Two workers share one network: pieces of the same seed, composed side by side, are the same.
  for (int k = 0; k < 16; ++k) CHECK(last[k]["piece"]["notes"] == last[k + 16]["piece"]["notes"]);
  std::sort(order.begin(), order.end());
  for (size_t k = 0; k < order.size(); ++k) {
    CHECK(order[k].first == int64_t(k + 1));   // none lost
    CHECK(order[k].second == int64_t(k + 1));  // started in the order they came
  }
  CHECK(json::parse(server.client().Get("/api/pieces")->body)["pieces"].size() == 32);
}

TEST_CASE("serve: a client that goes away cancels its composition") {
  ServeProcess server("--workers 1");
  // An hour of music (a few seconds' work for this network), given up as soon as it runs.
  const int status =
      compose(server, {{"model", kModel}, {"seconds", 3600}}, [](const json& e) { return e["event"] != "running"; });
  CHECK(status == 0);
  const auto started = std::chrono::steady_clock::now();
  const json next = compose_to_end(server, {{"model", kModel}, {"length", 20}});
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  REQUIRE(next["event"] == "done");
  CHECK(next["started"] == 2);
  const json pieces = json::parse(server.client().Get("/api/pieces")->body)["pieces"];
  REQUIRE(pieces.size() == 1);  // the abandoned piece was never finished
  // The second request's piece: at most its 20 tokens (fewer when the network ends it with EOS; the
  // seed is drawn at random), far from the hour the abandoned one asked for.
  CHECK(pieces[0]["tokens"].get<int>() >= 1);
  CHECK(pieces[0]["tokens"].get<int>() <= 20);
  MESSAGE("the next composition waited " << waited << " s");
}

TEST_CASE("serve: a full queue is refused with 503 and a message, the waiting place shown") {
  ServeProcess server("--workers 1 --queue 1");
  std::atomic<int> running{0}, queued_place{0};
  auto hold = [&](std::atomic<int>& seen, const char* event, const char* field) {
    return std::thread([&, event, field] {
      compose(server, {{"model", kModel}, {"seconds", 3600}}, [&](const json& e) {
        if (e["event"] == event) seen = e.value(field, 0);
        return e["event"] == "queued" || e["event"] == "running";
      });
    });
  };
  std::thread first = hold(running, "running", "started");
  while (running == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::thread second = hold(queued_place, "queued", "place");
  while (queued_place == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(queued_place == 1);
  check_refused(post_json(server, "/api/compose", {{"model", kModel}, {"length", 10}}), 503, "the queue is full");
  CHECK(server.stop() == 0);  // Ctrl-C ends both: the running one at its next token, the waiting one at once
  first.join(), second.join();
}

TEST_CASE("serve: memory after 200 compositions is within 20 MB of memory after 10") {
  ServeProcess server("");
  int64_t after_10 = 0;
  for (int k = 1; k <= 200; ++k) {
    const json e = compose_to_end(server, {{"model", kModel}, {"length", 30}, {"seed", k}});
    REQUIRE_MESSAGE(e["event"] == "done", e.dump());
    if (k == 10) after_10 = server.memory();
  }
  const int64_t after_200 = server.memory();
  MESSAGE("resident memory after 10 compositions " << after_10 / 1e6 << " MB, after 200 " << after_200 / 1e6 << " MB");
  REQUIRE(after_10 > 0);
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer freed memory is held in quarantine (up to 256 MB) by design, so resident
  // memory says nothing there; LeakSanitizer checks instead, and a leak changes the exit status.
  CHECK(server.stop() == 0);
#else
  CHECK(after_200 - after_10 < (20 << 20));
#endif
}

TEST_CASE("serve: Ctrl-C stops it cleanly with the pieces on disk; it answers only where it was told") {
  ServeProcess server("--workers 1 --host 127.0.0.2");
  CHECK(server.log().find("warning: listening on 127.0.0.2") != std::string::npos);
  httplib::Client elsewhere("127.0.0.1", server.port());
  CHECK(!elsewhere.Get("/api/models"));  // the loopback's usual address is not the one it was told
  const json done = compose_to_end(server, {{"model", kModel}, {"length", 40}});
  REQUIRE(done["event"] == "done");
  // Ctrl-C while a long piece is composing: it stops at once.
  std::thread busy([&] { compose(server, {{"model", kModel}, {"seconds", 3600}}, [](const json&) { return true; }); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto stopping = std::chrono::steady_clock::now();
  CHECK(server.stop() == 0);
  busy.join();
  CHECK(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(5));
  CHECK(server.log().find("stopped; the pieces stay in") != std::string::npos);
  CHECK(std::filesystem::file_size(server.out() / done["piece"]["files"]["mid"].get<std::string>()) > 0);
}

TEST_CASE("serve: --help, and one line with exit code 2 for a bad command line") {
  const auto help = testing::run_program("legato-serve", "--help");
  CHECK(help.status == 0);
  CHECK(help.output.find("--models") != std::string::npos);
  CHECK(help.output.find("--host") != std::string::npos);
  for (const std::string args :
       {"--port 70000", "--models /no/such/folder", "--workers 0", "--max-upload-mb -1", "--hots 0.0.0.0"}) {
    const auto r = testing::run_program("legato-serve", args);
    CHECK_MESSAGE(r.status == 2, args << ": " << r.output);
    CHECK_MESSAGE(std::count(r.output.begin(), r.output.end(), '\n') == 1, r.output);
    CHECK(r.output.rfind("legato-serve: ", 0) == 0);
  }
}

TEST_CASE("serve: --precision reaches every checkpoint it loads; tf32 and unknown names refused in one line") {
  for (const std::string args : {"--precision tf32", "--precision fp16"}) {
    const auto r = testing::run_program("legato-serve", args);
    CHECK_MESSAGE(r.status == 2, args << ": " << r.output);
    CHECK_MESSAGE(std::count(r.output.begin(), r.output.end(), '\n') == 1, r.output);
    CHECK(r.output.rfind("legato-serve: ", 0) == 0);
    CHECK(r.output.find("precision") != std::string::npos);
  }
  CHECK(testing::run_program("legato-serve", "--precision tf32").output.find("GPU") != std::string::npos);
  std::string why;
  if (!cpu::bf16_supported(&why)) {  // refused with the CPU's reason, as composer refuses it
    const auto r = testing::run_program("legato-serve", "--precision bf16");
    CHECK(r.status == 2);
    CHECK_MESSAGE(r.output.find(why) != std::string::npos, r.output);
    return;
  }
  for (const std::string precision : {"fp32", "bf16"}) {
    ServeProcess server("--workers 1" + (precision == "fp32" ? std::string() : " --precision " + precision));
    // Its first line, the CPU's (cpu_description), ends with the precision.
    CHECK_MESSAGE(server.log().rfind("cpu: ", 0) == 0, server.log());
    CHECK_MESSAGE(server.log().find(", " + precision + "\n") != std::string::npos, server.log());
    const json done = compose_to_end(server, {{"model", kModel}, {"length", 20}, {"seed", 5}});
    REQUIRE_MESSAGE(done["event"] == "done", done.dump());
    CHECK(done["piece"]["precision"] == precision);  // what the loaded network multiplies at
  }
}

TEST_CASE("serve: controls pass through to the pipeline, listed per checkpoint, refused as composer refuses") {
  ServeProcess server("--workers 1", {}, testing::serve_control_models());
  const json list = json::parse(server.client().Get("/api/models")->body).at("models");
  REQUIRE_FALSE(list.empty());
  const std::string name = list[0]["name"];
  const json controls = list[0]["controls"];
  REQUIRE_FALSE(controls["density"].empty());  // the classes of its pieces (three pieces: not all three)
  REQUIRE_FALSE(controls["key"].empty());
  CHECK_FALSE(controls.contains("style"));  // trained without it
  const std::string key = controls["key"][0], density = controls["density"][0];
  const json done = compose_to_end(
      server, {{"model", name}, {"length", 40}, {"seed", 3}, {"controls", {{"key", key}, {"density", density}}}});
  REQUIRE_MESSAGE(done["event"] == "done", done.dump());
  CHECK(done["piece"]["controls"] == "key " + key + ", density " + density);
  const json plain = compose_to_end(server, {{"model", name}, {"length", 40}, {"seed", 3}});
  REQUIRE_MESSAGE(plain["event"] == "done", plain.dump());
  CHECK(plain["piece"]["controls"] == "");  // none asked: composed from BOS alone, as before controls came

  auto refused = [&](const json& c, const std::string& words) {
    check_refused(post_json(server, "/api/compose", {{"model", name}, {"controls", c}}), 400, words);
  };
  refused({{"density", "dense"}}, "--density dense: unknown to this checkpoint; known: " + density);
  refused({{"style", "jazz"}}, "trained without the style control");
  refused({{"key", "H minor"}}, "not a key");
  refused({{"density", 2}}, "controls.density must be a string");
  refused({{"key_strength", -1}}, "controls.key_strength must be from 0 to 100");
  refused({{"tempo", "fast"}}, "unknown control");
  refused({{"pitch_range", "72-36"}}, "controls.pitch_range 72-36: give LO-HI");
  refused({{"pitch_range", 60}}, "controls.pitch_range must be a string");
  refused({{"range_strength", -1}}, "controls.range_strength must be from 0 to 100");
  // controls.pitch_range as composer's --pitch-range: the piece's span of pitches narrows to it (at strength 0 it
  // does not); with a plain checkpoint too, since it is guidance, not a control token.
  auto span = [&](ServeProcess& s, const std::string& model, double strength) {
    const json done = compose_to_end(s, {{"model", model},
                                         {"length", 300},
                                         {"seed", 4},
                                         {"controls", {{"pitch_range", "60-66"}, {"range_strength", strength}}}});
    REQUIRE_MESSAGE(done["event"] == "done", done.dump());
    return done["piece"]["features"]["pitch_range"].get<double>();
  };
  CHECK(span(server, name, 8) < span(server, name, 0));
  refused("D minor", "controls must be an object");
  check_refused(post_json(server, "/api/compose", {{"model", name}, {"key", 2}, {"controls", {{"key", key}}}}), 400,
                "give one or the other");
  ServeProcess plain_server("--workers 1");
  check_refused(post_json(plain_server, "/api/compose", {{"model", kModel}, {"controls", {{"key", "C major"}}}}), 400,
                "trained without control tokens");
  CHECK(span(plain_server, kModel, 8) < span(plain_server, kModel, 0));
}

TEST_CASE("serve: a style with a profile brings its length when the request gives none, as composer's") {
  // Two styles (folders) of the small corpus's pieces; the checkpoint holds their profiles.
  const auto dir = testing::temp_dir("serve_style_models");
  const auto corpus = testing::write_small_corpus("serve_style_corpus", 4);
  size_t k = 0;
  for (const auto& f : std::filesystem::directory_iterator(corpus)) {
    const auto style = dir / "data" / (k++ % 2 ? "odd" : "even");
    std::filesystem::create_directories(style);
    std::filesystem::copy_file(f.path(), style / f.path().filename());
  }
  model::TrainOptions o = testing::small_training(dir / "data", dir / "models" / "styled");
  o.recipe.epochs = 1;
  o.recipe.val_split = 0;
  o.recipe.controls = {"style"};
  std::ostringstream log;
  REQUIRE(model::train(o, log) == 0);
  const auto meta = model::load_checkpoint(dir / "models" / "styled" / "best.safetensors").meta;
  const model::StyleProfile* profile = model::style_profile(meta, "odd");
  REQUIRE(profile);
  ServeProcess server("--workers 1", {}, dir / "models");
  const std::string name = json::parse(server.client().Get("/api/models")->body).at("models")[0]["name"];
  auto tokens = [&](json request) {
    request["model"] = name, request["seed"] = 3, request["controls"] = {{"style", "odd"}};
    const json done = compose_to_end(server, request);
    REQUIRE_MESSAGE(done["event"] == "done", done.dump());
    return done["piece"]["tokens"].get<int64_t>();
  };
  const int64_t by_profile = tokens(json::object());
  CHECK(by_profile == tokens({{"seconds", profile->seconds}}));  // the profile's length
  CHECK(by_profile != tokens({{"length", 500}}));                // not the 500 tokens a plain request gets
}
