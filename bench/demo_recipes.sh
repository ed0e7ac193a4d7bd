#!/usr/bin/env bash
# The demo's recipe, measured (issue 32): each recipe trained as tools/demo.sh trains (MINUTES on
# the default corpus), then 20 pieces composed as the demo composes them (60 s each, temperature
# 0.9, top-p 0.95), compared with the run's held-out pieces (mean OA; the ceiling is the training
# pieces against the same held-out pieces) and counted by bench/ensemble_stats.py.
#   bench/demo_recipes.sh OUT [MINUTES] [RECIPE...]     (default 3 minutes; tiny default demo)
# It prints, and writes to OUT/summary.txt, each recipe's ceiling, epochs, mean OA per seed and
# bench/ensemble_stats.py's counts (instrument changes per bar, notes and instruments per onset, ...).
# RECIPE is a name below; LEGATO_SEEDS="1 2 3" composes 20 pieces per seed (quality.md's runs);
# extra trainer flags go in LEGATO_TRAIN_FLAGS (e.g. --data DIR), extra
# composer flags in LEGATO_COMPOSE_FLAGS (e.g. --instruments piano), the corpus's folder for the
# ceiling in LEGATO_CORPUS.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$1"
minutes="${2:-3}"
shift $(($# < 2 ? $# : 2))
if [ $# -gt 0 ]; then recipes=("$@"); else recipes=(tiny default demo); fi
flags_of() {
  case "$1" in
    tiny) echo "--preset tiny" ;;
    default) echo "--preset default" ;;
    # tools/demo.sh's recipe: tiny, with the default preset's dropout, key and choice of model.
    demo) echo "--preset tiny --dropout 0.5 --normalise-key --best-by music" ;;
    *) echo "unknown recipe $1" >&2; exit 2 ;;
  esac
}
mkdir -p "$out"
# The summary also goes to OUT/summary.txt, so that a run again replaces the numbers.
exec > >(tee "$out/summary.txt")
for r in "${recipes[@]}"; do
  run="$out/$r"
  # shellcheck disable=SC2046
  build/bin/trainer $(flags_of "$r") ${LEGATO_TRAIN_FLAGS:-} --max-minutes "$minutes" --out "$run" >"$run.train.log" 2>&1
  mapfile -t held_out <"$run/validation.txt"
  best_epoch=$(grep -c . "$run/metrics.csv" || true)
  # 20 pieces per seed (LEGATO_SEEDS, default 1): a set of 20 pieces' mean OA moves by about 0.01
  # with the seed alone.
  for seed in ${LEGATO_SEEDS:-1}; do
    # shellcheck disable=SC2086
    build/bin/composer --checkpoint "$run/best.safetensors" --seconds 60 --temperature 0.9 --top-p 0.95 \
      --num-outputs 20 --seed "$seed" ${LEGATO_COMPOSE_FLAGS:-} --out "$run/pieces$seed/piece.mid" \
      --tokens-out "$run/pieces$seed/piece.txt" --against "${held_out[@]}" >"$run.compose$seed.log" 2>&1
  done
  # The ceiling: the run's training pieces against its held-out pieces.
  mapfile -t training < <(find "${LEGATO_CORPUS:-/usr/share/games/openttd/baseset/openmsx}" -name '*.mid' | sort | grep -vxF -f "$run/validation.txt")
  ceiling=$(build/bin/miditool compare "${training[@]}" --against "${held_out[@]}" 2>/dev/null | tail -1)
  echo "== $r: $(tail -1 "$run.train.log")"
  echo "   ceiling (${#training[@]} training pieces vs ${#held_out[@]} held out): $ceiling"
  echo "   epochs (rows in metrics.csv): $((best_epoch - 1)); lowest val loss: $(tail -n +2 "$run/metrics.csv" | cut -d, -f4 | sort -g | head -1)"
  for seed in ${LEGATO_SEEDS:-1}; do
    echo "   seed $seed: composed vs held-out: $(tail -1 "$run.compose$seed.log")"
    python3 bench/ensemble_stats.py "$run/pieces$seed"/piece_*.txt | sed 's/^/   /'
  done
done
