#!/bin/sh
# The bundle's Turtle files validated with sord_validate against the LV2 specifications Debian
# installs (lv2-dev puts them in /usr/lib/lv2). Exit 77: skipped, with the reason.
bundle="$1"
command -v sord_validate >/dev/null || { echo "skipped: sord_validate missing (Debian: sordi)"; exit 77; }
[ -d /usr/lib/lv2/core.lv2 ] || { echo "skipped: no LV2 specifications in /usr/lib/lv2 (Debian: lv2-dev)"; exit 77; }
# shellcheck disable=SC2046 # one argument per file
out=$(sord_validate $(find /usr/lib/lv2 -name '*.ttl') "$bundle"/*.ttl 2>&1)
status=$?
echo "$out"
[ $status -eq 0 ] && echo "$out" | grep -q "Found 0 errors"
