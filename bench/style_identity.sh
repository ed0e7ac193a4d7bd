#!/bin/bash
# Byte identity of this build against another (main's): trainer without the style control, and composer
# without --style (or with it on a checkpoint without profiles), on the two-style corpus.
#   MAIN=main/build/bin NEW=build/bin STYLES=DIR STYLE_CK="ck1 ck2" bench/style_identity.sh   # about 3 minutes
set -u
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,4p' "$0"; exit 0; fi
MAIN=${MAIN:?give MAIN=the bin folder of the other build}; NEW=${NEW:-build/bin}; W=${W:-/tmp/style_identity}; STYLES=${STYLES:?give STYLES=the two-style corpus}
rm -rf $W; mkdir -p $W
T="--preset tiny --data $STYLES --epochs 1 --hidden 16 --embedding 8 --eval-pieces 0 --seed 3"
for ctl in "" "--controls key,density"; do
  tag=$(printf %s "x$ctl" | tr -c 'a-z0-9' _)
  OMP_NUM_THREADS=1 $MAIN/trainer $T $ctl --out $W/main$tag >/dev/null 2>&1
  OMP_NUM_THREADS=1 $NEW/trainer $T $ctl --out $W/new$tag >/dev/null 2>&1
  for f in best.safetensors last.safetensors; do
    cmp -s $W/main$tag/$f $W/new$tag/$f && echo "same   trainer $ctl $f" || echo "DIFFER trainer $ctl $f"
  done
done
n=0
for ck in $W/mainx/best.safetensors $W/mainx__controls_key_density/best.safetensors ${STYLE_CK:-}; do
  for args in "--seed 1 --seconds 20" "--seed 2 --length 300" "--seed 3 --key C --seconds 20" "--seed 4 --style openmsx --seconds 20" "--seed 5 --style classical"; do
    n=$((n+1))
    $MAIN/composer --checkpoint $ck $args --out $W/m$n.mid >/dev/null 2>&1; a=$?
    $NEW/composer --checkpoint $ck $args --out $W/n$n.mid >/dev/null 2>&1; b=$?
    if [ $a != 0 ] && [ $b != 0 ]; then echo "both refuse   $ck $args"; continue; fi
    cmp -s $W/m$n.mid $W/n$n.mid && echo "same   $ck $args" || echo "DIFFER $ck $args (main $a, new $b)"
  done
done
