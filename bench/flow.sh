#!/usr/bin/env bash
# throttle, buffer, exec and tee beside the tools a user would otherwise pick: pv -L,
# mbuffer, a shell pipe, and tee. 1 GiB through pipes, medians and ratios; and the
# throttle's accuracy beside pv's.
# Usage: bench/flow.sh   (RUNS=N)
source "$(dirname "$0")/lib.sh"
need pv mbuffer
F=$(corpus_random)
BYTES=$(stat -c %s "$F")
cat "$F" > /dev/null

echo "1 GiB through a stage in the middle of a pipe, median of $RUNS:"
base=$(median_seconds "cat $F | mbuffer -q -m 64M | cat > /dev/null")
row "cat F | mbuffer -q -m 64M | cat" "$BYTES" "$base"
row "cat F | sluice buffer 64M | cat" "$BYTES" "$(median_seconds "cat $F | $SLUICE buffer 64M | cat > /dev/null")" "$base"
base=$(median_seconds "cat $F | pv -q -L 100G | cat > /dev/null")
row "cat F | pv -q -L 100G | cat" "$BYTES" "$base"
row "cat F | sluice throttle 100G | cat" "$BYTES" "$(median_seconds "cat $F | $SLUICE throttle 100G | cat > /dev/null")" "$base"
base=$(median_seconds "cat $F | cat | cat | cat > /dev/null")
row "cat F | cat | cat | cat (a shell pipe)" "$BYTES" "$base"
row "cat F | sluice exec cat | cat" "$BYTES" "$(median_seconds "cat $F | $SLUICE exec cat | cat > /dev/null")" "$base"
base=$(median_seconds "cat $F | tee $CORPUS_DIR/tee.out | cat > /dev/null")
row "cat F | tee FILE | cat" "$BYTES" "$base"
row "cat F | sluice tee FILE | cat" "$BYTES" "$(median_seconds "cat $F | $SLUICE tee $CORPUS_DIR/tee.out | cat > /dev/null")" "$base"
rm -f "$CORPUS_DIR/tee.out"

echo "rate limiting 100 MiB to 20 MiB/s (5 s wanted):"
for tool in "pv -q -L 20M" "$SLUICE throttle 20M"; do
    s=$(date +%s%N)
    head -c 100M "$F" | $tool > /dev/null
    e=$(date +%s%N)
    awk -v n="$(( e - s ))" -v t="${tool##*/}" 'BEGIN { printf "  %-52s %8.3f s (%+.1f%%)\n", t, n / 1e9, (n / 1e9 - 5) / 5 * 100 }'
done

# Overload policies, on 256 MiB of text. Shedding has no Unix tool to beside it: its
# cost is read against the same buffer blocking. Spilling beside mbuffer's own temporary
# file (-T), both into a reader at 100 MB/s. gzip --adapt beside fixed levels, into a
# 20 MB/s link: time and bytes on the link.
T=$(corpus_text)
TB=$(stat -c %s "$T")
echo "overload, $(basename "$T"), median of $RUNS:"
base=$(median_seconds "$SLUICE cat --hwm 1M < $T | cat > /dev/null")
row "sluice cat --hwm 1M (block)" "$TB" "$base"
row "sluice cat --hwm 1M --when-full=drop-newest" "$TB" "$(median_seconds "$SLUICE cat --hwm 1M --when-full=drop-newest < $T | cat > /dev/null")" "$base"
row "sluice cat --hwm 1M --when-full=drop-oldest" "$TB" "$(median_seconds "$SLUICE cat --hwm 1M --when-full=drop-oldest < $T | cat > /dev/null")" "$base"
mkdir -p "$CORPUS_DIR/spill"
base=$(median_seconds "cat $T | mbuffer -q -m 1M -T $CORPUS_DIR/spill/mbuffer.tmp | pv -q -L 100M > /dev/null")
row "cat F | mbuffer -m 1M -T FILE | pv -L 100M" "$TB" "$base"
row "cat F | sluice cat --hwm 1M --spill DIR | pv -L 100M" "$TB" "$(median_seconds "cat $T | $SLUICE cat --hwm 1M --spill $CORPUS_DIR/spill | pv -q -L 100M > /dev/null")" "$base"
rm -f "$CORPUS_DIR/spill/mbuffer.tmp"
for g in "gzip -6" "gzip -1" "gzip -9" "gzip --adapt"; do
    s=$(date +%s%N)
    n=$($SLUICE $g + throttle 20M < "$T" | wc -c)
    e=$(date +%s%N)
    printf '  %-52s %8.3f s %10s bytes on a 20 MB/s link\n' "sluice $g + throttle 20M" "$(awk -v n=$((e - s)) 'BEGIN{print n/1e9}')" "$n"
done
