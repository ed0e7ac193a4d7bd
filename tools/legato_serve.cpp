// legato-serve: a page in the browser that composes, shows and plays music from the checkpoints in
// a folder (serve/server.h has the API). It listens on 127.0.0.1 unless --host says otherwise;
// Ctrl-C stops it, and the pieces it wrote stay in --out.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <thread>

#include "cli_errors.h"
#include "device.h"
#include "serve/server.h"
#include "tools/openmp_waits.h"

namespace {

using namespace legato;

// Returns -1 to go on, or the exit code (0 after --help, 2 after a bad command line).
int parse_options(int argc, char** argv, serve::ServerOptions& o) {
  CLI::App app{"Serve a page that composes music from trained checkpoints: open the printed address in a browser.",
               "legato-serve"};
  std::string models = o.models.string(), out = o.out.string();
  double max_upload_mb = double(o.max_upload >> 20);
  bool no_audio = false;
  std::string precision = to_string(o.precision);
  app.add_option("--models", models, "Folder searched (3 levels deep) for *.safetensors checkpoints")
      ->check(tools::existing_path())
      ->capture_default_str();
  app.add_option("--out", out, "Folder the composed pieces and uploads are written to")->capture_default_str();
  app.add_option("--host", o.host, "Address to listen on; another than 127.0.0.1 opens the page to the network")
      ->capture_default_str();
  app.add_option("--port", o.port, "Port to listen on (0: any free one)")
      ->check(tools::whole_in(0, 65535))
      ->capture_default_str();
  app.add_option("--workers", o.workers, "Compositions at once (default: one per core)")
      ->check(tools::whole_in(1, 256));
  app.add_option("--queue", o.places, "Compositions that may wait for a worker")
      ->check(tools::whole_in(1, 1000))
      ->capture_default_str();
  app.add_option("--max-upload-mb", max_upload_mb, "Largest request body (a MIDI file to continue)")
      ->check(tools::number_in(0, 1024, true))
      ->capture_default_str();
  app.add_flag("--no-audio", no_audio, "Write no WAV files (the page then plays nothing)");
  app.add_option("--precision", precision,
                 "Products' precision: fp32, or bf16 on CPUs that have it (tf32 is the GPU's)")
      ->capture_default_str();
  if (const int code = tools::parse_command_line(app, argc, argv); code >= 0) return code;
  if (const std::string problem = tools::precision_flag_problem(precision, Device::CPU); !problem.empty()) {
    std::cerr << "legato-serve: " << problem << "\n";
    return tools::kUsageError;
  }
  o.precision = tools::precision_of(precision);
  o.models = models, o.out = out, o.audio = !no_audio;
  o.max_upload = static_cast<size_t>(max_upload_mb * (1 << 20));
  tools::OutputCheck check{"legato-serve"};
  check.folder("--out", out);
  return check.code;
}

bool loopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

}  // namespace

int main(int argc, char** argv) {
  legato::tools::shorten_openmp_waits(argv);  // before any OpenMP work (tools/openmp_waits.h)
  serve::ServerOptions o;
  if (const int code = parse_options(argc, argv, o); code >= 0) return code;
  // Ctrl-C and SIGTERM reach one thread that stops the server: blocked here, before any thread
  // starts, so every thread inherits the mask. A client that goes away must not kill us (SIGPIPE).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  try {
    std::cout << tools::runs_on(Device::CPU, o.precision) << std::endl;  // the first line, as every program's
    serve::Server server(o, std::cerr);
    const int port = server.bind();
    if (!loopback(o.host))
      std::cerr << "legato-serve: warning: listening on " << o.host
                << ": anyone who reaches this machine can compose on it and fetch its pieces\n";
    std::cout << "legato-serve: " << server.model_count() << " checkpoint(s) in " << o.models.string()
              << ", pieces written to " << o.out.string() << "\n"
              << "open http://" << (o.host.find(':') != std::string::npos ? "[" + o.host + "]" : o.host) << ":" << port
              << "/ in a browser (Ctrl-C stops)" << std::endl;
    std::thread([&server, stop_signals] {
      int signal_number = 0;
      sigwait(&stop_signals, &signal_number);
      server.stop();
    }).detach();
    server.run();
    std::cout << "legato-serve: stopped; the pieces stay in " << o.out.string() << std::endl;
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "legato-serve: " << tools::describe(e) << "\n";
    return tools::kUsageError;
  }
}
