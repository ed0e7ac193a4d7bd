#include "serve/request.h"

#include <cmath>
#include <random>
#include <set>

namespace legato::serve {

using nlohmann::json;

namespace {

RequestError bad(const std::string& message) { return RequestError(400, message); }

std::string shown(const json& v) { return v.dump(); }

double number_field(const json& v, const std::string& name) {
  if (!v.is_number()) throw bad(name + " must be a number, not " + shown(v));
  return v.get<double>();
}

int64_t whole_field(const json& v, const std::string& name, int64_t lo, int64_t hi) {
  const double x = number_field(v, name);
  if (x != std::floor(x) || x < double(lo) || x > double(hi))
    throw bad(name + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", not " +
              shown(v));
  return static_cast<int64_t>(x);
}

// A name the server made ("upload-3", "piece-12"); anything else (a path, "../x") is refused here.
std::string made_name(const json& v, const std::string& field, const std::string& prefix) {
  const std::string text = v.is_string() ? v.get<std::string>() : "";
  bool ok = text.size() > prefix.size() && text.size() < prefix.size() + 10 && text.rfind(prefix, 0) == 0;
  for (size_t k = prefix.size(); ok && k < text.size(); ++k) ok = text[k] >= '0' && text[k] <= '9';
  if (!ok) throw bad(field + " must name " + prefix + "N as the server gave it, not " + shown(v));
  return text;
}

void read_primer(const json& v, ComposeRequest& r) {
  if (v.is_null()) return;
  if (!v.is_object() || v.size() != 1 || !(v.contains("upload") || v.contains("piece")))
    throw bad("primer must be {\"upload\": \"upload-N\"} or {\"piece\": \"piece-N\"}, not " + shown(v));
  if (v.contains("upload"))
    r.primer_upload = made_name(v["upload"], "primer.upload", "upload-");
  else
    r.primer_piece = made_name(v["piece"], "primer.piece", "piece-");
}

// "controls": each value a string (key, density, style) or a strength of 0 or more; unknown ones refused.
void read_controls(const json& v, ComposeRequest& r) {
  if (v.is_null()) return;
  if (!v.is_object()) throw bad("controls must be an object such as {\"key\": \"D minor\"}, not " + shown(v));
  for (const auto& [name, value] : v.items()) {
    std::string* text = name == "key"       ? &r.controls.key
                        : name == "density" ? &r.controls.density
                        : name == "style"   ? &r.controls.style
                                            : nullptr;
    double* strength = name == "key_strength"       ? &r.controls.key_strength
                       : name == "density_strength" ? &r.controls.density_strength
                       : name == "range_strength"   ? &r.controls.range_strength
                                                    : nullptr;
    if (name == "pitch_range") {
      if (!value.is_string()) throw bad("controls.pitch_range must be a string \"LO-HI\", not " + shown(value));
      try {
        r.controls.pitch_range = model::parse_pitch_range(value.get<std::string>(), "controls.pitch_range");
      } catch (const std::invalid_argument& e) {
        throw bad(e.what());
      }
    } else if (text) {
      if (!value.is_string()) throw bad("controls." + name + " must be a string, not " + shown(value));
      *text = value.get<std::string>();
    } else if (strength) {
      const double s = number_field(value, "controls." + name);
      if (!(s >= 0 && s <= 100)) throw bad("controls." + name + " must be from 0 to 100, not " + shown(value));
      *strength = s;
    } else {
      throw bad("unknown control " + shown(json(name)) +
                " (known: key, density, style, key_strength, density_strength, pitch_range, range_strength)");
    }
  }
}

void read_field(const std::string& name, const json& v, ComposeRequest& r) {
  if (name == "model") {
    if (!v.is_string() || v.get<std::string>().empty()) throw bad("model must be a checkpoint's name from the list");
    r.model = v.get<std::string>();
  } else if (name == "length") {
    r.length = whole_field(v, "length", 1, kMaxLength);
    r.length_given = true;
  } else if (name == "seconds") {
    const double s = number_field(v, "seconds");
    if (!(s >= 0 && s <= kMaxSeconds)) throw bad("seconds must be from 0 to 3600, not " + shown(v));
    r.seconds = s;
  } else if (name == "temperature") {
    const double t = number_field(v, "temperature");
    if (!(t > 0 && t <= 10)) throw bad("temperature must be above 0 and at most 10, not " + shown(v));
    r.sampling.temperature = t;
  } else if (name == "top_k") {
    r.sampling.top_k = static_cast<int>(whole_field(v, "top_k", 0, 100000));
  } else if (name == "top_p") {
    const double p = number_field(v, "top_p");
    if (!(p > 0 && p <= 1)) throw bad("top_p must be above 0 and at most 1, not " + shown(v));
    r.sampling.top_p = p;
  } else if (name == "seed") {
    r.seed = static_cast<uint64_t>(whole_field(v, "seed", 0, int64_t(1) << 53));  // JavaScript's exact integers
  } else if (name == "key") {
    if (!v.is_null()) r.key = static_cast<int>(whole_field(v, "key", 0, 11));
  } else if (name == "one_part") {
    if (!v.is_boolean()) throw bad("one_part must be true or false, not " + shown(v));
    r.one_part = v.get<bool>();
  } else if (name == "primer") {
    read_primer(v, r);
  } else if (name == "controls") {
    read_controls(v, r);
  } else {
    throw bad("unknown field " + shown(json(name)) +
              " (known: model, length, seconds, temperature, top_k, top_p, seed, key, one_part, primer, controls)");
  }
}

}  // namespace

ComposeRequest parse_compose_request(const std::string& body) {
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw bad("the request must be a JSON object");
  ComposeRequest r;
  r.seed = std::random_device{}() % 1000000;  // printed with the piece: the same seed composes it again
  for (const auto& [name, value] : j.items()) read_field(name, value, r);
  if (r.model.empty()) throw bad("model is missing: choose a checkpoint");
  return r;
}

}  // namespace legato::serve
