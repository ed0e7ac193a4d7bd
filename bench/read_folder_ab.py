#!/usr/bin/env python3
"""Two builds of legato.read_folder side by side in one run (issue 28), alternated round by round.

Each round runs BASE's module and then NEW's (each in a fresh /usr/bin/python3 whose PYTHONPATH is
that build's python folder) on FOLDER: the best wall clock of --repeat calls on every core (what
bench/midi_python.py reports against the goal), the best CPU time of --repeat calls on one thread,
and the page faults per call. Prints every round, the median ratios NEW/BASE and the load around.

  bench/read_folder_ab.py BASE_PYTHONPATH NEW_PYTHONPATH [FOLDER] [--rounds N] [--repeat N]
  e.g. bench/read_folder_ab.py /tmp/main/python build/python ../shared/data/seed-midi

Alternating spreads a loaded machine's slow spells over both builds; the ratio is the figure.
"""
import argparse
import os
import pathlib
import statistics
import subprocess
import sys

# Run in the child: one build's figures as "wall_ms cpu_ms faults" on stdout.
MEASURE = r"""
import resource, sys, time, legato
folder, repeat = sys.argv[1], int(sys.argv[2])
legato.read_folder(folder, threads=1)
def best(threads, clock):
    times = []
    for _ in range(repeat):
        start = clock()
        legato.read_folder(folder, threads=threads)
        times.append(clock() - start)
    return min(times)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
wall = best(0, time.perf_counter)
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / repeat
cpu = best(1, time.process_time)
print(f"{wall * 1e3:.4f} {cpu * 1e3:.4f} {faults:.0f}")
"""


def measure(pythonpath, folder, repeat):
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    out = subprocess.run(["/usr/bin/python3", "-c", MEASURE, str(folder), str(repeat)], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1]), float(out[2])


def load():
    return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", type=pathlib.Path, help="the base build's python folder (PYTHONPATH)")
    parser.add_argument("new", type=pathlib.Path, help="the new build's python folder (PYTHONPATH)")
    parser.add_argument("folder", type=pathlib.Path, nargs="?", default=pathlib.Path("../shared/data/seed-midi"))
    parser.add_argument("--rounds", type=int, default=7, help="rounds of BASE then NEW (default 7)")
    parser.add_argument("--repeat", type=int, default=20, help="calls per figure; the best counts (default 20)")
    args = parser.parse_args()
    for p in (args.base, args.new):
        if not (p / "legato").is_dir():
            print(f"read_folder_ab.py: {p} holds no legato module (give a build's python folder)", file=sys.stderr)
            return 2
    if not args.folder.is_dir():
        print(f"read_folder_ab.py: {args.folder} is not a folder", file=sys.stderr)
        return 2
    if args.rounds < 1 or args.repeat < 1:
        print("read_folder_ab.py: --rounds and --repeat must be 1 or more", file=sys.stderr)
        return 2
    megabytes = sum(p.stat().st_size for p in args.folder.rglob("*")
                    if p.suffix.lower() in (".mid", ".midi")) * 1e-6
    cpu_model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                     "?")
    print(f"machine: {cpu_model}, {os.cpu_count()} cores; load before: {load()}")
    wall_ratios, cpu_ratios = [], []
    for k in range(1, args.rounds + 1):
        base, new = measure(args.base, args.folder, args.repeat), measure(args.new, args.folder, args.repeat)
        wall_ratios.append(new[0] / base[0])
        cpu_ratios.append(new[1] / base[1])
        print(f"round {k}: every core (wall) base {base[0]:.3f} ms ({megabytes / base[0] * 1e3:.0f} MB/s), "
              f"new {new[0]:.3f} ms ({megabytes / new[0] * 1e3:.0f} MB/s), new/base {wall_ratios[-1]:.3f}; "
              f"1 thread (CPU) new/base {cpu_ratios[-1]:.3f}; faults/call base {base[2]:.0f} new {new[2]:.0f}")
    wall, cpu = statistics.median(wall_ratios), statistics.median(cpu_ratios)
    print(f"median time ratio new/base: every core {wall:.3f} ({1 / wall:.2f}x the speed), "
          f"1 thread {cpu:.3f} ({1 / cpu:.2f}x); load after: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
