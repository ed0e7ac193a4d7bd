#include "midi/tokenizer.h"

#include <algorithm>
#include <stdexcept>

#include "midi/tokenizer_event.h"
#include "midi/tokenizer_seed.h"

namespace legato::midi {

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view scheme, const EventOptions& event_options,
                                          const SeedOptions& seed_options) {
  if (scheme == "seed") return std::make_unique<SeedTokenizer>(seed_options);
  if (scheme == "event") return std::make_unique<EventTokenizer>(event_options);
  if (scheme == "event:1") {
    EventOptions v1 = event_options;
    v1.version = 1;
    return std::make_unique<EventTokenizer>(v1);
  }
  throw std::invalid_argument("unknown tokenizer scheme '" + std::string(scheme) + "' (use seed, event or event:1)");
}

std::optional<Score> transpose(const Score& score, int semitones) {
  Score out = score;
  for (Note& n : out.notes) {
    if (n.is_drum()) continue;
    n.pitch += semitones;
    if (n.pitch < 0 || n.pitch > 127) return std::nullopt;
  }
  return out;
}

void pitched_range(const Score& score, TokenizedScore& tokenized) {
  for (const Note& n : score.notes)
    if (!n.is_drum()) {
      tokenized.lowest = std::min(tokenized.lowest, n.pitch);
      tokenized.highest = std::max(tokenized.highest, n.pitch);
    }
}

}  // namespace legato::midi
