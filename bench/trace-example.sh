#!/usr/bin/env bash
# Draws docs/trace-example.svg, the picture in the README: a run whose bottleneck moves.
# 16 MiB of random bytes (gzip passes them at full size, so the 8 MB/s throttle after
# it limits the run, pacing), then 48 MiB of text (gzip shrinks it fourfold and becomes
# the limit itself).
# Usage: bench/trace-example.sh
source "$(dirname "$0")/lib.sh"
T=$(SIZE=64M corpus_text)
{ head -c 16M /dev/urandom; head -c 48M "$T"; } \
    | (cd "$ROOT" && "$SLUICE" --trace docs/trace-example.svg --hwm 4M gzip -p 1 + throttle 8M > /dev/null)
echo "wrote $ROOT/docs/trace-example.svg"
