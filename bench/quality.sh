#!/usr/bin/env bash
# The quality protocol of bench/results/quality.md, after the two trainings it describes:
# composes 20 pieces of 500 tokens from each run's best checkpoint (`default` sampled, `seed`
# sampled and greedy; seeds 1..20, so the seed scheme starts from its stored windows in turn),
# compares each set with the held-out pieces (the run's validation.txt), and the ceiling: the
# training pieces compared with the held-out pieces the same way. Prints one markdown table.
#   bench/quality.sh RUNS_DIR DATA_DIR [BIN_DIR]
# RUNS_DIR holds default/ and seed/ (trainer --out folders, the same --seed and so the same split).
set -euo pipefail
runs="${1:?usage: bench/quality.sh RUNS_DIR DATA_DIR [BIN_DIR]}"
data="${2:?usage: bench/quality.sh RUNS_DIR DATA_DIR [BIN_DIR]}"
bin="${3:-$(dirname "$0")/../build/bin}"
mapfile -t held_out < "$runs/default/validation.txt"
cmp -s "$runs/default/validation.txt" "$runs/seed/validation.txt" || { echo "quality: the runs held out different pieces" >&2; exit 1; }

compose() {  # compose RUN NAME [composer flags]: 20 pieces into RUN/NAME/
  local run="$1" name="$2"; shift 2
  rm -rf "$runs/$run/$name"; mkdir -p "$runs/$run/$name"
  for k in $(seq 1 20); do
    "$bin/composer" --checkpoint "$runs/$run/best.safetensors" --length 500 --seed "$k" "$@" \
      --out "$runs/$run/$name/piece$k.mid" > /dev/null
  done
}
compose default sampled
compose seed sampled
compose seed greedy --greedy

mapfile -t training < <(find "$data" -type f \( -iname '*.mid' -o -iname '*.midi' \) | sort | grep -vxF -f "$runs/default/validation.txt")
"$bin/miditool" compare --json "$runs/default/sampled" --against "${held_out[@]}" > "$runs/default-sampled.json" 2>/dev/null
"$bin/miditool" compare --json "$runs/seed/sampled" --against "${held_out[@]}" > "$runs/seed-sampled.json" 2>/dev/null
"$bin/miditool" compare --json "$runs/seed/greedy" --against "${held_out[@]}" > "$runs/seed-greedy.json" 2>/dev/null
"$bin/miditool" compare --json "${training[@]}" --against "${held_out[@]}" > "$runs/ceiling.json" 2>/dev/null

/usr/bin/python3 - "$runs" <<'PY'
import json, sys, csv, math
runs = sys.argv[1]
cols = [("`default` sampled", "default-sampled", "default"), ("`seed` sampled", "seed-sampled", "seed"),
        ("`seed` greedy", "seed-greedy", "seed"), ("ceiling (training pieces)", "ceiling", None)]
data = {key: json.load(open(f"{runs}/{key}.json")) for _, key, _ in cols}
def val_loss(run):
    if run is None: return "–"
    rows = [r for r in csv.DictReader(open(f"{runs}/{run}/metrics.csv")) if r["val_loss"]]
    return f"{min(float(r['val_loss']) for r in rows):.3f}" if rows else "–"
fmt = lambda v: "–" if v is None else f"{v:.3f}"
print("| feature | " + " | ".join(name for name, _, _ in cols) + " |")
print("|---|" + "---|" * len(cols))
for feature in data["ceiling"]["features"]:
    print(f"| {feature} | " + " | ".join(fmt(data[key]["features"][feature]["oa"]) for _, key, _ in cols) + " |")
print("| **mean OA** | " + " | ".join(f"**{fmt(data[key]['mean_oa'])}**" for _, key, _ in cols) + " |")
print("| validation loss (best) | " + " | ".join(val_loss(run) for _, _, run in cols) + " |")
PY
