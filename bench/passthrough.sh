#!/usr/bin/env bash
# Pass-through and buffering: sluice against cat, pv and mbuffer in the middle of a
# pipe, startup against cat, and peak RSS on a 2 GiB stream into a slow reader.
# Usage: bench/passthrough.sh   (RUNS=N for more repetitions)
source "$(dirname "$0")/lib.sh"
need pv mbuffer
F=$(corpus_random)
BYTES=$(stat -c %s "$F")
cat "$F" > /dev/null

echo "pass-through, 1 GiB of random bytes, median of $RUNS:"
base=$(median_seconds "cat $F | cat | cat > /dev/null")
row "cat F | cat | cat" "$BYTES" "$base"
row "cat F | sluice | cat" "$BYTES" "$(median_seconds "cat $F | $SLUICE | cat > /dev/null")" "$base"
row "cat F | sluice cat + cat | cat" "$BYTES" "$(median_seconds "cat $F | $SLUICE cat + cat | cat > /dev/null")" "$base"
row "cat F | sluice --pipe-size 0 | cat" "$BYTES" "$(median_seconds "cat $F | $SLUICE --pipe-size 0 | cat > /dev/null")" "$base"
row "cat F | pv -q | cat" "$BYTES" "$(median_seconds "cat $F | pv -q | cat > /dev/null")" "$base"
row "cat F | mbuffer -q | cat" "$BYTES" "$(median_seconds "cat $F | mbuffer -q | cat > /dev/null")" "$base"

echo "startup, median of 200 runs each:"
startup() {
    local s e
    s=$(date +%s%N)
    for _ in $(seq 200); do "$@" > /dev/null; done
    e=$(date +%s%N)
    awk -v n="$(( e - s ))" 'BEGIN { printf "%.3f", n / 200 / 1e6 }'
}
c=$(startup cat /dev/null)
s=$(startup "$SLUICE" --version)
printf '  %-52s %8s ms\n' "cat /dev/null" "$c"
printf '  %-52s %8s ms  (%.2fx cat)\n' "sluice --version" "$s" "$(awk -v a="$s" -v b="$c" 'BEGIN{print a/b}')"

echo "peak RSS, 2 GiB into a reader limited to 400 MB/s:"
rss=$(peak_rss_kib "head -c 2G /dev/zero | $SLUICE --hwm 1M cat + cat | pv -q -L 400M > /dev/null")
printf '  %-52s %8s KiB\n' "sluice --hwm 1M cat + cat" "$rss"
