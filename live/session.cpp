// The session's construction and its real-time side; the engine's thread is in session_engine.cpp.
#include "live/session.h"

#include <stdexcept>

namespace legato::live {

namespace {

midi::EventOptions scheme_options(const model::CheckpointMeta& meta) {
  if (meta.scheme != "event" && meta.scheme != "event:1")
    throw std::invalid_argument("listening needs a checkpoint of the event scheme (this one's is " + meta.scheme +
                                ", which keeps no time)");
  midi::EventOptions options;
  options.version = meta.scheme == "event" ? 2 : 1;
  return options;
}

}  // namespace

Session::Session(const model::MusicLSTM& net, const model::CheckpointMeta& meta, const SessionOptions& options)
    : net_(net),
      options_(options),
      vocab_(meta.vocab),
      grammar_(meta.vocab, scheme_options(meta)),
      grid_(options.grid_strength),
      generator_(net),
      tokenizer_(vocab_, 60.0 / options.tempo, options.follow_tempo),
      notes_(vocab_),
      rng_(options.seed),
      logits_(meta.vocab.size()),
      before_{{}, grammar_, grid_, tokenizer_, notes_, rng_, 0, false, 128, 0} {
  if (options.tempo <= 0 || options.answer_after <= 0 || options.answer_bars <= 0 || options.lookahead <= 0)
    throw std::invalid_argument("tempo, answer_after, answer_bars and lookahead must be positive");
  if (options.grid_strength < 0 || options.grid_strength > 1) throw std::invalid_argument("grid_strength must be 0..1");
  // Never sampled: a second beginning, an end (the conversation goes on), the unknown marker and
  // the ensemble's header, which the stream has had.
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    const TokenKind kind = vocab_.info(id).kind;
    if (kind == TokenKind::Bos || kind == TokenKind::Eos || kind == TokenKind::Unknown || kind == TokenKind::Header)
      banned_.push_back(id);
  }
  tokens_.reserve(1024);
  waiting_.reserve(128);
  begin_stream();
  if (options.own_thread) thread_ = std::thread([this] { run(); });
}

Session::~Session() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Session::midi_in(const uint8_t* bytes, size_t size, double now) {
  parser_.parse(bytes, size, [&](const ChannelMessage& m) {
    if (!m.is_note_on() && !m.is_note_off()) return;
    // The answer stops at once, here: the engine may be busy with a token. One waiting for a
    // silence that this note ends before its time stops whatever the note and the mode.
    const bool early = now < tentative_until_.load(std::memory_order_acquire);
    if (early || (m.is_note_on() && options_.mode != Mode::Accompany))
      output_.cut(answer_.load(std::memory_order_acquire));
    const NoteEvent e{now, m.is_note_on(), uint8_t(m.channel()), uint8_t(m.data1 & 0x7F), uint8_t(m.data2 & 0x7F)};
    if (!input_.push(e)) stats_.queue_full.fetch_add(1, std::memory_order_relaxed);
  });
}

void Session::tick(double now, MidiSink& out) {
  now_.store(now, std::memory_order_release);
  output_.tick(now, out);
}

void Session::cut() {
  const uint32_t answer = answer_.load(std::memory_order_acquire);
  output_.cut(answer);
  cut_request_.store(answer, std::memory_order_release);
}

void Session::silence(double now, MidiSink& out) {
  stop_ = true;
  output_.cut(answer_.load());
  output_.tick(now, out);  // the cut's note-offs
  output_.silence(now, out);
}

std::string Session::failure() const { return failed_.load() ? failure_ : std::string(); }

}  // namespace legato::live
