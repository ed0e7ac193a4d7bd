#!/bin/sh
# `cmake --install BUILD --component lv2` puts a bundle that lilv finds: installed under a scratch
# DESTDIR (the install folder itself is the cache's LEGATO_LV2_DIR, ~/.lv2 by default).
set -eu
build="$1" dir="$2"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
DESTDIR="$scratch" cmake --install "$build" --component lv2 >/dev/null
bundle="$scratch$dir/legato.lv2"
for f in manifest.ttl legato.ttl legato.so; do
  [ -f "$bundle/$f" ] || { echo "lv2 install: $bundle/$f missing"; exit 1; }
done
command -v lv2info >/dev/null || { echo "skipped: lv2info missing (Debian: lilv-utils)"; exit 77; }
LV2_PATH="$scratch$dir" lv2info urn:legato:lv2 | grep -q "Name: *Legato" || { echo "lv2 install: lv2info does not find urn:legato:lv2"; exit 1; }
echo "lv2 install: $dir/legato.lv2 found by lilv"
