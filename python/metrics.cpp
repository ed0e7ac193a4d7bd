// legato.stats and legato.compare: the features and set comparison of `miditool stats` and
// `miditool compare` (eval/), for files, folders and Score objects.
#include <cmath>
#include <sstream>

#include "common.h"
#include "eval/compare.h"
#include "eval/features.h"
#include "midi/loader.h"

namespace legato::python {
namespace {

// Pieces from a path, a Score, or a list of them; folders are searched as miditool searches them.
std::vector<eval::NamedFeatures> pieces_of(const py::handle& arg, const char* what) {
  std::vector<py::handle> items;
  if (py::isinstance<py::str>(arg) || py::isinstance<PyScore>(arg) ||
      py::isinstance(arg, py::module_::import("pathlib").attr("PurePath")))
    items.push_back(arg);
  else if (py::isinstance<py::sequence>(arg))
    for (const py::handle& h : py::reinterpret_borrow<py::sequence>(arg)) items.push_back(h);
  else
    throw std::invalid_argument(std::string(what) + " must be paths, Scores or a list of them");
  std::vector<eval::NamedFeatures> out;
  std::vector<std::filesystem::path> paths;
  std::vector<const midi::Score*> scores;
  std::vector<std::string> names;
  for (size_t k = 0; k < items.size(); ++k) {
    if (py::isinstance<PyScore>(items[k])) {
      const PyScore& s = items[k].cast<const PyScore&>();
      scores.push_back(&s.score);
      names.push_back(s.path.empty() ? std::string(what) + "[" + std::to_string(k) + "]" : s.path);
    } else if (py::isinstance<py::str>(items[k]) ||
               py::isinstance(items[k], py::module_::import("pathlib").attr("PurePath"))) {
      const std::string p = py::str(items[k]);
      if (!std::filesystem::exists(p)) {
        FileError e(p + ": no such file or folder");
        e.missing = true;
        throw e;
      }
      paths.emplace_back(p);
    } else {
      throw std::invalid_argument(std::string(what) + " must be paths, Scores or a list of them");
    }
  }
  py::gil_scoped_release release;
  for (size_t k = 0; k < scores.size(); ++k) out.push_back({names[k], eval::features_of(*scores[k])});
  if (!paths.empty()) {
    std::ostringstream log;  // files that cannot be read are left out, as miditool does
    for (eval::NamedFeatures& piece : eval::features_of_files(paths, log)) out.push_back(std::move(piece));
  }
  return out;
}

py::object value(double x) { return std::isnan(x) ? py::cast(NAN) : py::cast(x); }

py::list stats(const py::handle& paths) {
  const auto pieces = pieces_of(paths, "paths");
  py::list out;
  for (const auto& p : pieces) {
    py::dict d;
    d["file"] = p.name;
    for (const eval::FeatureDef& f : eval::feature_defs()) {
      const std::vector<double> v = f.values(p.features);
      if (f.scalar)
        d[f.name] = value(v[0]);
      else if (v.size() == 144)
        d[f.name] = py::array_t<double>({12, 12}, v.data());
      else
        d[f.name] = py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data());
    }
    out.append(d);
  }
  return out;
}

py::dict compare(const py::handle& generated, const py::handle& reference) {
  const auto g = pieces_of(generated, "generated");
  const auto r = pieces_of(reference, "reference");
  eval::Comparison c;
  {
    py::gil_scoped_release release;
    c = eval::compare_sets(g, r);
  }
  py::dict out, features;
  for (const auto& f : c.features) {
    py::dict one;
    one["oa"] = value(f.oa);
    one["kl"] = value(f.kl);
    features[py::str(f.name)] = one;
  }
  out["mean_oa"] = c.mean_oa;
  out["generated"] = c.generated;
  out["corpus"] = c.corpus;
  out["features"] = features;
  return out;
}

}  // namespace

void init_metrics(py::module_& m) {
  m.def("stats", &stats, py::arg("paths"),
        "MusPy's and MGEval's features of each piece (files, folders or Scores), as `miditool stats`: a list of "
        "dicts with 'file' and every feature (scalars as float, NaN where a piece cannot have one; histograms as "
        "arrays of 12, the pitch-class transition matrix 12 x 12).");
  m.def("compare", &compare, py::arg("generated"), py::arg("reference"),
        "MGEval's comparison of two sets (files, folders or Scores), as `miditool compare`: "
        "{'mean_oa', 'generated', 'corpus', 'features': {name: {'oa', 'kl'}}}. ValueError for no generated piece "
        "or fewer than two reference pieces.");
}

}  // namespace legato::python
