#!/usr/bin/env bash
# Byte identity of two builds' outputs for the same seeds: trainer (tiny and seed presets, one
# epoch, fp32 and bf16 where the CPU has it) and composer (fp32 and bf16; a MIDI primer and a token
# primer, two pieces with their tokens and piano rolls) of BASE_BIN and NEW_BIN,
# on the MIDI folder CORPUS, in WORK (replaced). Checkpoints and composed .mid and tokens must
# match byte for byte; the state file and metrics.csv but for their wall-clock seconds.
#   tools/compare_builds.sh BASE_BIN NEW_BIN CORPUS WORK     (exit 1 when anything differs)
set -uo pipefail
case "${1:-}" in -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
[ $# = 4 ] || { echo "compare_builds.sh: needs BASE_BIN NEW_BIN CORPUS WORK (try --help)" >&2; exit 2; }
base=$1 new=$2 corpus=$3 work=$4
for b in "$base" "$new"; do
  [ -x "$b/trainer" ] && [ -x "$b/composer" ] || { echo "compare_builds.sh: no trainer and composer in $b" >&2; exit 2; }
done
[ -d "$corpus" ] || { echo "compare_builds.sh: no folder $corpus" >&2; exit 2; }
rm -rf "$work" && mkdir -p "$work"
status=0
same() {  # same LABEL FILE_A FILE_B
  if cmp -s "$2" "$3"; then echo "same   $1"; else echo "DIFFER $1"; status=1; fi
}
# A state file without its wall-clock seconds: the weights, slots and the rest of its header.
untimed_state() {
  python3 - "$1" <<'PY'
import json, re, struct, sys
b = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
header = json.loads(b[8:8 + n])
md = header.get('__metadata__', {})
md['legato.train_state'] = re.sub(r'"seconds":[0-9.e+-]+', '', md.get('legato.train_state', ''))
md['legato.metrics'] = json.dumps([r[:6] + r[7:] for r in json.loads(md.get('legato.metrics', '[]'))])
sys.stdout.buffer.write(json.dumps(header, sort_keys=True).encode() + b[8 + n:])
PY
}
common="--data $corpus --epochs 1 --hidden 32 --seed 7 --eval-pieces 2 --val-split 0.25 --no-cache"
for run in tiny-fp32 tiny-bf16 seed-fp32 seed-bf16; do
  preset=${run%-*} p=${run#*-}
  extra=$([ "$preset" = seed ] && echo "--layers 2 --batch 16 --seq-len 32" || echo "")
  for side in base new; do
    bin=$([ $side = base ] && echo "$base" || echo "$new")
    out="$work/$side-$run"
    "$bin/trainer" --preset "$preset" $common $extra --precision "$p" --out "$out" >"$out.log" 2>&1 ||
      { echo "skipped $run: $(tail -1 "$out.log")"; continue 2; }
    cut -d, -f1-6,8- "$out/metrics.csv" >"$out/metrics_untimed.csv"
    untimed_state "$out/last.state.safetensors" >"$out/state_untimed"
  done
  for f in last.safetensors best.safetensors metrics_untimed.csv state_untimed; do
    same "trainer $run $f" "$work/base-$run/$f" "$work/new-$run/$f"
  done
done
for p in fp32 bf16; do
  for side in base new; do
    bin=$([ $side = base ] && echo "$base" || echo "$new")
    "$bin/composer" --checkpoint "$work/base-tiny-fp32/best.safetensors" --length 200 --seed 11 --precision "$p" \
      --out "$work/$side-compose-$p.mid" --tokens-out "$work/$side-compose-$p.txt" >"$work/$side-compose-$p.log" 2>&1
  done
  same "composer $p .mid" "$work/base-compose-$p.mid" "$work/new-compose-$p.mid"
  same "composer $p tokens" "$work/base-compose-$p.txt" "$work/new-compose-$p.txt"
done
# The primers (a MIDI file of the corpus, then its tokens as miditool writes them) and the files
# beside the MIDI (tokens, piano roll), two pieces each.
primer=$(find "$corpus" -name '*.mid' | sort | head -1)
"$base/miditool" tokens --scheme event "$primer" 2>/dev/null | head -1 |
  awk -F'\t' '{ n = split($2, t, " "); s = $1 "\t" t[1]; for (i = 2; i <= n && i <= 100; i++) s = s " " t[i]; print s }' \
    >"$work/primer.tokens"  # its first 100 tokens
for kind in file tokens; do
  for side in base new; do
    bin=$([ $side = base ] && echo "$base" || echo "$new")
    if [ $kind = file ]; then from=(--primer "$primer"); else from=(--primer-tokens "$(cat "$work/primer.tokens")"); fi
    "$bin/composer" --checkpoint "$work/base-tiny-fp32/best.safetensors" "${from[@]}" --length 150 --seed 5 \
      --num-outputs 2 --out "$work/$side-primer-$kind/p.mid" --tokens-out "$work/$side-primer-$kind/p.txt" \
      --svg "$work/$side-primer-$kind/p.svg" >"$work/$side-primer-$kind.log" 2>&1
  done
  for f in p_1.mid p_2.mid p_1.txt p_2.txt p_1.svg p_2.svg; do
    same "composer --primer-$kind $f" "$work/base-primer-$kind/$f" "$work/new-primer-$kind/$f"
  done
done
exit $status
