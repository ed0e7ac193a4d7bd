#!/usr/bin/python3
"""Writes tests/data/kde_reference.json: SciPy's answers for the densities eval/kde.h computes.

For a few fixed pairs of distance lists: scipy.stats.gaussian_kde (Scott's bandwidth) at some
points, the overlapped area as a numerical integral of min(p, q) (scipy.integrate.quad, over the
whole line in practice: 12 bandwidths past the data, as eval/kde.cpp), and MGEval's KL divergence
(mgeval/utils.py kl_dist: each density sampled at 1000 points over its own data's range,
scipy.stats.entropy). Run once with Debian's python3-scipy; the C++ test reads the file, so no
Python is needed at test time:  /usr/bin/python3 tools/make_kde_reference.py
"""
import json
import pathlib

import numpy as np
from scipy import integrate, stats


def overlap(a, b):
    pa, pb = stats.gaussian_kde(a), stats.gaussian_kde(b)
    h = max(np.sqrt(pa.covariance[0, 0]), np.sqrt(pb.covariance[0, 0]))
    lo, hi = min(a.min(), b.min()) - 12 * h, max(a.max(), b.max()) + 12 * h
    # quad is told where the data lie, where min(p, q) bends.
    points = np.unique(np.concatenate([a, b]))
    value, error = integrate.quad(lambda x: min(pa(x)[0], pb(x)[0]), lo, hi, points=points, limit=5000,
                                  epsabs=1e-13, epsrel=1e-12)
    assert error < 1e-9, error
    # A second, independent integral: the trapezoid rule on a fine grid.
    xs = np.linspace(lo, hi, 400001)
    check = np.trapz(np.minimum(pa(xs), pb(xs)), xs)
    assert abs(check - value) < 1e-7, (check, value)
    return value


def kl(a, b, n=1000):
    pa, pb = stats.gaussian_kde(a), stats.gaussian_kde(b)
    return stats.entropy(pa(np.linspace(a.min(), a.max(), n)), pb(np.linspace(b.min(), b.max(), n)))


def case(name, a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    xs = np.linspace(min(a.min(), b.min()) - 1, max(a.max(), b.max()) + 1, 9)
    pa, pb = stats.gaussian_kde(a), stats.gaussian_kde(b)
    return {"name": name, "a": a.tolist(), "b": b.tolist(), "x": xs.tolist(), "pdf_a": pa(xs).tolist(),
            "pdf_b": pb(xs).tolist(), "bandwidth_a": float(np.sqrt(pa.covariance[0, 0])),
            "bandwidth_b": float(np.sqrt(pb.covariance[0, 0])), "oa": overlap(a, b), "kl": float(kl(a, b))}


rng = np.random.default_rng(14)
cases = [
    case("skewed against shifted", rng.gamma(2.0, 1.5, 40).round(6), (rng.normal(4.0, 1.2, 25)).round(6)),
    case("nearly the same", rng.normal(1.0, 0.3, 60).round(6), rng.normal(1.05, 0.32, 50).round(6)),
    case("far apart", rng.normal(0.0, 0.1, 20).round(6), rng.normal(3.0, 0.2, 15).round(6)),
    case("few values", [0.5, 1.0, 1.5], [1.2, 2.0, 2.2, 3.1]),
]
out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "kde_reference.json"
out.write_text(json.dumps({"scipy": __import__("scipy").__version__, "cases": cases}, indent=1) + "\n")
print("wrote", out)
