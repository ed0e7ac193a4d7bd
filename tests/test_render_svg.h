#pragma once
// A small XML reader for the SVG files the tests check: elements with their attributes and text,
// in document order. Throws on anything malformed (unclosed or mismatched tags, bad attributes),
// so a test that parses an SVG also checks that it is well formed.
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace legato::testing {

struct SvgElement {
  std::string name;
  std::map<std::string, std::string> attributes;
  std::string text;  // character data directly inside, entities decoded
  int depth = 0;

  bool has(const std::string& key) const { return attributes.count(key) > 0; }
  const std::string& at(const std::string& key) const {
    const auto it = attributes.find(key);
    if (it == attributes.end()) throw std::runtime_error("<" + name + "> has no attribute " + key);
    return it->second;
  }
  double number(const std::string& key) const {
    const std::string& v = at(key);
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end) throw std::runtime_error("<" + name + "> " + key + "=\"" + v + "\" is not a number");
    return x;
  }
  bool is(const std::string& element, const std::string& css_class) const {
    return name == element && has("class") && at("class") == css_class;
  }
};

inline std::string decode_entities(const std::string& s) {
  std::string out;
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] != '&') {
      out += s[k];
      continue;
    }
    const size_t semi = s.find(';', k);
    if (semi == std::string::npos) throw std::runtime_error("unterminated entity in '" + s + "'");
    const std::string e = s.substr(k + 1, semi - k - 1);
    if (e == "amp")
      out += '&';
    else if (e == "lt")
      out += '<';
    else if (e == "gt")
      out += '>';
    else if (e == "quot")
      out += '"';
    else if (e == "apos")
      out += '\'';
    else
      throw std::runtime_error("unknown entity &" + e + ";");
    k = semi;
  }
  return out;
}

inline std::vector<SvgElement> parse_svg(const std::string& xml) {
  std::vector<SvgElement> elements;
  std::vector<size_t> open;  // indices of the elements not yet closed
  size_t k = 0;
  auto fail = [&](const std::string& why) { throw std::runtime_error("SVG byte " + std::to_string(k) + ": " + why); };
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; };
  while (k < xml.size()) {
    if (xml[k] != '<') {
      const size_t next = xml.find('<', k);
      const std::string text = xml.substr(k, next == std::string::npos ? std::string::npos : next - k);
      if (!open.empty())
        elements[open.back()].text += decode_entities(text);
      else if (text.find_first_not_of(" \n\t\r") != std::string::npos)
        fail("text outside the root element");
      k = next == std::string::npos ? xml.size() : next;
      continue;
    }
    if (xml.compare(k, 4, "<!--") == 0 || xml.compare(k, 2, "<?") == 0) {
      const size_t end = xml.find(xml[k + 1] == '!' ? "-->" : "?>", k);
      if (end == std::string::npos) fail("unterminated comment or declaration");
      k = end + 2;
      continue;
    }
    if (xml.compare(k, 2, "</") == 0) {
      const size_t end = xml.find('>', k);
      if (end == std::string::npos) fail("unterminated end tag");
      const std::string name = xml.substr(k + 2, end - k - 2);
      if (open.empty() || elements[open.back()].name != name) fail("</" + name + "> closes nothing open");
      open.pop_back();
      k = end + 1;
      continue;
    }
    SvgElement e;
    e.depth = int(open.size());
    ++k;
    while (k < xml.size() && !space(xml[k]) && xml[k] != '>' && xml[k] != '/') e.name += xml[k++];
    if (e.name.empty()) fail("tag without a name");
    bool closed = false;
    for (;;) {
      while (k < xml.size() && space(xml[k])) ++k;
      if (k >= xml.size()) fail("unterminated tag <" + e.name);
      if (xml[k] == '>') {
        ++k;
        break;
      }
      if (xml.compare(k, 2, "/>") == 0) {
        k += 2;
        closed = true;
        break;
      }
      std::string key;
      while (k < xml.size() && xml[k] != '=' && !space(xml[k])) key += xml[k++];
      if (k + 1 >= xml.size() || xml[k] != '=' || xml[k + 1] != '"') fail("attribute " + key + " has no quoted value");
      const size_t end = xml.find('"', k + 2);
      if (end == std::string::npos) fail("unterminated value of " + key);
      if (!e.attributes.emplace(key, decode_entities(xml.substr(k + 2, end - k - 2))).second)
        fail("attribute " + key + " twice");
      k = end + 1;
    }
    if (open.empty() && !elements.empty()) fail("a second root element <" + e.name + ">");
    elements.push_back(std::move(e));
    if (!closed) open.push_back(elements.size() - 1);
  }
  if (!open.empty()) throw std::runtime_error("SVG ends with <" + elements[open.back()].name + "> open");
  if (elements.empty() || elements.front().name != "svg") throw std::runtime_error("SVG has no <svg> root");
  return elements;
}

// The elements of one kind and class, in document order.
inline std::vector<SvgElement> select(const std::vector<SvgElement>& all, const std::string& name,
                                      const std::string& css_class) {
  std::vector<SvgElement> out;
  for (const SvgElement& e : all)
    if (e.is(name, css_class)) out.push_back(e);
  return out;
}

// "x1,y1 x2,y2 ..." of a polyline.
inline std::vector<std::pair<double, double>> polyline_points(const SvgElement& e) {
  std::vector<std::pair<double, double>> points;
  const std::string& s = e.at("points");
  const char* p = s.c_str();
  while (*p) {
    char* end = nullptr;
    const double x = std::strtod(p, &end);
    if (end == p || *end != ',') throw std::runtime_error("bad points: " + s);
    p = end + 1;
    const double y = std::strtod(p, &end);
    if (end == p) throw std::runtime_error("bad points: " + s);
    points.emplace_back(x, y);
    p = end;
    while (*p == ' ') ++p;
  }
  return points;
}

}  // namespace legato::testing
