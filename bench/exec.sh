#!/usr/bin/env bash
# exec -j beside the filter alone and GNU parallel --pipe -k: jq on ~40 MB of JSON
# lines, two copies. Medians and ratios against jq alone; outputs checked
# byte-identical to jq alone (sorted, for --unordered). A file on stdin is cut evenly
# (6 blocks here), a pipe in 4M blocks. Then exec -j 2 at block sizes from 256K to 8M.
# Usage: bench/exec.sh   (RUNS=N)
source "$(dirname "$0")/lib.sh"
need jq parallel
F="$CORPUS_DIR/log-40M.jsonl"
if [ ! -s "$F" ]; then
    awk 'BEGIN { split("debug info info info warn error", lv, " "); srand(1);
      for (i = 0; n < 41943040; i++) {
        s = sprintf("{\"ts\":\"2024-05-%02dT%02d:%02d:%02d.%03dZ\",\"level\":\"%s\",\"service\":\"svc-%d\",\"req\":%d,\"msg\":\"request %d took %d ms\",\"user\":{\"id\":%d,\"name\":\"user%d\"}}",
          i % 28 + 1, i % 24, i % 60, (i * 7) % 60, i % 1000, lv[int(rand() * 6) + 1], i % 17, i, i, int(rand() * 900), int(rand() * 100000), i % 5000)
        print s; n += length(s) + 1 } }' > "$F.tmp"
    mv "$F.tmp" "$F"
fi
BYTES=$(stat -c %s "$F")
Q='select(.level=="error")'
jq -c "$Q" < "$F" > "$CORPUS_DIR/jq.out"
check() {  # check LABEL CMD [sort]: the output equals jq's alone
    if [ "${3:-}" = sort ]; then
        cmp -s <(bash -c "$2" | sort) <(sort "$CORPUS_DIR/jq.out") || echo "  $1: OUTPUT DIFFERS"
    else
        cmp -s <(bash -c "$2") "$CORPUS_DIR/jq.out" || echo "  $1: OUTPUT DIFFERS"
    fi
}
echo "jq -c '$Q' on $(basename "$F") ($((BYTES >> 20)) MiB), 2 copies, median of $RUNS:"
base=$(median_seconds "jq -c '$Q' < $F > /dev/null")
row "jq alone" "$BYTES" "$base"
cmd="parallel --pipe -k -j2 --block 2M -q jq -c '$Q' < $F"
check "parallel" "$cmd"
row "parallel --pipe -k -j2 --block 2M jq" "$BYTES" "$(median_seconds "$cmd > /dev/null")" "$base"
cmd="$SLUICE exec -j 2 jq -c '$Q' < $F"
check "sluice exec -j 2" "$cmd"
row "sluice exec -j 2 jq (file cut evenly, in order)" "$BYTES" "$(median_seconds "$cmd > /dev/null")" "$base"
cmd="cat $F | $SLUICE exec -j 2 jq -c '$Q'"
check "sluice exec -j 2 from a pipe" "$cmd"
row "cat | sluice exec -j 2 jq (a pipe: 4M blocks)" "$BYTES" "$(median_seconds "$cmd > /dev/null")" "$base"
cmd="$SLUICE exec -j 2 --unordered jq -c '$Q' < $F"
check "sluice exec -j 2 --unordered" "$cmd" sort
row "sluice exec -j 2 --unordered jq" "$BYTES" "$(median_seconds "$cmd > /dev/null")" "$base"
echo "block size, sluice exec -j 2 jq, in order:"
for b in 256K 1M 2M 4M 8M; do
    row "--block $b" "$BYTES" "$(median_seconds "$SLUICE exec -j 2 --block $b jq -c '$Q' < $F > /dev/null")" "$base"
done
