#!/usr/bin/env bash
# A/B: the same sluice commands with two binaries, runs interleaved (A, B, A, B, ...; lib.sh's
# interleaved_medians) so that a busy machine slows both alike; prints each median and B's
# time over A's.
# Usage: bench/ab.sh BINARY_A BINARY_B   (RUNS=N; SIZE=64M for a quicker corpus)
# Example: bench/ab.sh /tmp/sluice-before .build/release/sluice
source "$(dirname "$0")/lib.sh"
A="$1" B="$2"
T=$(corpus_text)
GZ="$T.gz"
[ -s "$GZ" ] || gzip -6 -c "$T" > "$GZ"
R=$(corpus_random)
OUT="$CORPUS_DIR/ab.out"
ab() {  # ab ARGS-WITH-@-FOR-THE-BINARY
    local cmd="$1" ma mb
    { read -r ma; read -r mb; } < <(interleaved_medians "${cmd//@/$A}" "${cmd//@/$B}")
    printf '  %-58s A %7.3f s  B %7.3f s  B/A %5.3f\n' "$cmd" "$ma" "$mb" "$(awk -v a="$ma" -v b="$mb" 'BEGIN{print b/a}')"
}
echo "A = $A, B = $B, median of $RUNS interleaved runs, corpus $(basename "$T")"
export LC_ALL=C
ab "@ grep -F zstd_compress < $T > $OUT"
ab "@ grep -v -F e < $T > $OUT"
ab "@ grep -E 'static (int|void) [a-z_]+\\(' < $T > $OUT"
ab "@ grep -i -F zstd_compress < $T > $OUT"
ab "@ grep -w int < $T > $OUT"
ab "@ grep -i -E 'static (int|void) [a-z_]+\\(' < $T > $OUT"
ab "@ grep -E '[aeiou]{3}' < $T > $OUT"
ab "@ tail -n 1000 < $T > $OUT"
ab "cat $T | @ tail -n 1000 > $OUT"
ab "@ head -n 1000000 < $T > $OUT"
ab "@ gunzip + grep -F zstd_compress + gzip < $GZ > $OUT"
ab "@ gzip -6 -p 1 < $T | cat > /dev/null"
ab "@ gzip -6 -p 2 < $T | cat > /dev/null"
ab "@ gunzip < $GZ | cat > /dev/null"
ab "cat $R | @ | cat > /dev/null"
ab "cat $R | @ cat + cat | cat > /dev/null"
