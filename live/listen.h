#pragma once
// composer --listen: a Session (live/session.h) between a MIDI input port and an output port,
// with a sending thread of its own that ticks the session on the steady clock.
#include <atomic>
#include <ostream>
#include <string>

#include "live/session.h"

namespace legato::live {

struct ListenOptions {
  std::string input_port, output_port;  // as --play names ports: index, (part of a) name, or empty
  SessionOptions session;
};

// Listens and answers until `stop` turns true (SIGINT), then silences every note and returns
// 130; 1 when the engine failed. Throws render::PlaybackError for a port that cannot be opened.
// `log` gets a line on each port and on each answer.
int listen(const model::MusicLSTM& net, const model::CheckpointMeta& meta, const ListenOptions& options,
           const std::atomic<bool>& stop, std::ostream& log);

}  // namespace legato::live
