#pragma once
// A composition as the page asks for it (POST /api/compose, a JSON object), checked field by field:
// anything out of range is a RequestError whose message the page shows as it is.
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "model/controls.h"
#include "model/generator.h"

namespace legato::serve {

// An error the client caused or must hear about: an HTTP status (4xx, or 503 for a full queue)
// and one line saying what is wrong.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
  int status;
};

// The most tokens one request may cost, with `length` or `seconds`: about a minute's work for the
// default preset's network on one core (and its files' writing), so no request holds a worker for long.
constexpr int64_t kMaxLength = 100000;
constexpr double kMaxSeconds = 3600;

struct ComposeRequest {
  std::string model;  // a name from the catalog (never a path)
  int64_t length = 500;
  bool length_given = false;  // "length" in the request: else a style's pieces last as its profile says
  double seconds = 0;         // > 0 (event scheme): until the music lasts this long, EOS forbidden before
  model::SamplingOptions sampling;
  uint64_t seed = 0;
  std::optional<int> key;     // major tonic 0..11 the piece is moved to; none: the corpus's keys
  bool one_part = false;      // the piano in one track instead of two hands
  std::string primer_upload;  // "upload-N": an uploaded MIDI file continues
  std::string primer_piece;   // "piece-N": a piece of this session continues
  // "controls": {"key": "D minor", "density": "low", "style": NAME, "key_strength": 4,
  // "density_strength": 3, "pitch_range": "36-72", "range_strength": 8}: control tokens for a
  // checkpoint trained with them, and the pitches to keep to (any checkpoint; docs/controls.md).
  model::ControlRequest controls;
};

// The request's fields, each checked (unknown fields are refused too, so that a misspelt one is
// not silently ignored); a missing seed is drawn at random.
ComposeRequest parse_compose_request(const std::string& body);

}  // namespace legato::serve
