#include "midi/tokenizer.h"

#include <stdexcept>

#include "midi/tokenizer_event.h"
#include "midi/tokenizer_seed.h"

namespace legato::midi {

std::unique_ptr<Tokenizer> make_tokenizer(std::string_view scheme, const EventOptions& event_options,
                                          const SeedOptions& seed_options) {
  if (scheme == "seed") return std::make_unique<SeedTokenizer>(seed_options);
  if (scheme == "event") return std::make_unique<EventTokenizer>(event_options);
  throw std::invalid_argument("unknown tokenizer scheme '" + std::string(scheme) + "' (use seed or event)");
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

}  // namespace legato::midi
