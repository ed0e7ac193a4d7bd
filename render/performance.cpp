#include "render/performance.h"

#include <algorithm>

namespace legato::render {

MessageOrder order_of(const TimedMessage& m) {
  if (m.is_note_off()) return MessageOrder::kNoteOff;
  if (m.status() == 0xC0) return MessageOrder::kProgram;
  return MessageOrder::kNoteOn;
}

namespace {

uint8_t byte(int v) { return static_cast<uint8_t>(std::clamp(v, 0, 127)); }
}  // namespace

void Performer::add(std::span<const midi::Note> notes, std::vector<TimedMessage>& out) {
  for (const midi::Note& n : notes) {
    const int ch = n.channel & 0x0F;
    const double on = timing_.seconds_at(n.start_tick), off = timing_.seconds_at(n.end_tick());
    if (!n.is_drum() && programs_[ch] != n.program) {
      programs_[ch] = n.program;
      out.push_back({on, {static_cast<uint8_t>(0xC0 | ch), byte(n.program), 0}, 2});
    }
    out.push_back({on, {static_cast<uint8_t>(0x90 | ch), byte(n.pitch), byte(std::max(1, n.velocity))}, 3});
    out.push_back({off, {static_cast<uint8_t>(0x80 | ch), byte(n.pitch), 0}, 3});
  }
}

void sort_messages(std::vector<TimedMessage>& messages) {
  std::stable_sort(messages.begin(), messages.end(), [](const TimedMessage& a, const TimedMessage& b) {
    if (a.seconds != b.seconds) return a.seconds < b.seconds;
    return order_of(a) < order_of(b);
  });
}

std::vector<TimedMessage> perform(const midi::Score& score) {
  std::vector<TimedMessage> messages;
  Performer performer(score);
  performer.add(score.notes, messages);
  sort_messages(messages);
  return messages;
}

double end_seconds(const midi::Score& score) { return score.seconds_at(score.end_tick()); }

}  // namespace legato::render
