#!/usr/bin/env bash
# gzip and gunzip stages beside GNU gzip, pigz, node.js's zlib streams, and for BGZF
# htslib's bgzip and ISA-L's igzip, on 256 MiB of real text (Linux C sources). Output
# goes through a pipe to cat, as in real use.
# Usage: bench/gzip.sh   (RUNS=N, SIZE=64M for a quicker run)
source "$(dirname "$0")/lib.sh"
need gzip pigz
# Debian puts bgzip in tabix and igzip in isal.
for tool in bgzip:tabix igzip:isal; do
    command -v "${tool%%:*}" >/dev/null || { echo "bench: needs ${tool%%:*} (apt-get install ${tool#*:})" >&2; exit 1; }
done
T=$(corpus_text)
BYTES=$(stat -c %s "$T")
GZ="$T.gz"
[ -s "$GZ" ] || gzip -6 -c "$T" > "$GZ"
cat "$T" "$GZ" > /dev/null
NODE_GZIP="const z=require('zlib'),s=require('stream');s.pipeline(process.stdin,z.createGzip({level:6}),process.stdout,e=>{if(e)process.exit(1)})"
NODE_GUNZIP="const z=require('zlib'),s=require('stream');s.pipeline(process.stdin,z.createGunzip(),process.stdout,e=>{if(e)process.exit(1)})"

echo "compress $(basename "$T") ($BYTES bytes), median of $RUNS, MB/s of input:"
for level in 1 6 9; do
    base=$(median_seconds "gzip -$level < $T | cat > /dev/null")
    row "gzip -$level" "$BYTES" "$base"
    row "sluice gzip -$level -p 1" "$BYTES" "$(median_seconds "$SLUICE gzip -$level -p 1 < $T | cat > /dev/null")" "$base"
    [ $level = 6 ] && row "pigz -6 -p 1" "$BYTES" "$(median_seconds "pigz -6 -p 1 < $T | cat > /dev/null")" "$base"
    [ $level = 6 ] && command -v node >/dev/null && \
        row "node zlib.createGzip (level 6)" "$BYTES" "$(median_seconds "node -e \"$NODE_GZIP\" < $T | cat > /dev/null")" "$base"
done
echo "compressed sizes at level 6: sluice -p 1 $($SLUICE gzip -6 -p 1 < "$T" | wc -c), gzip $(gzip -6 < "$T" | wc -c)"

echo "parallel compression, $(nproc) cores, median of $RUNS:"
base=$(median_seconds "pigz -6 -p 2 < $T | cat > /dev/null")
row "pigz -6 -p 2" "$BYTES" "$base"
row "sluice gzip -6 -p 2" "$BYTES" "$(median_seconds "$SLUICE gzip -6 -p 2 < $T | cat > /dev/null")" "$base"
row "gzip -6 (for the ratio against one core)" "$BYTES" "$(median_seconds "gzip -6 < $T | cat > /dev/null")" "$base"
echo "compressed sizes at level 6, 2 threads: sluice $($SLUICE gzip -6 -p 2 < "$T" | wc -c), pigz $(pigz -6 -p 2 < "$T" | wc -c)"
GZ0="$T.gz"
[ -s "$GZ0" ] || gzip -6 -c "$T" > "$GZ0"
echo "the card's pipeline with large output (grep -v a rare word), median of $RUNS:"
base=$(median_seconds "pigz -dc < $GZ0 | grep -F -v zstd_compress | pigz -6 > $CORPUS_DIR/pipe.gz")
row "pigz -dc | grep -F -v zstd_compress | pigz -6" "$BYTES" "$base"
row "sluice gunzip + grep -F -v zstd_compress + gzip -6" "$BYTES" \
    "$(median_seconds "$SLUICE gunzip + grep -F -v zstd_compress + gzip -6 < $GZ0 > $CORPUS_DIR/pipe.gz")" "$base"

echo "decompress $(basename "$GZ"), median of $RUNS, MB/s of output:"
base=$(median_seconds "pigz -dc < $GZ | cat > /dev/null")
row "pigz -dc" "$BYTES" "$base"
row "sluice gunzip" "$BYTES" "$(median_seconds "$SLUICE gunzip < $GZ | cat > /dev/null")" "$base"
row "gzip -dc" "$BYTES" "$(median_seconds "gzip -dc < $GZ | cat > /dev/null")" "$base"
command -v node >/dev/null && \
    row "node zlib.createGunzip" "$BYTES" "$(median_seconds "node -e \"$NODE_GUNZIP\" < $GZ | cat > /dev/null")" "$base"

BGZF="$T.bgz"
[ -s "$BGZF" ] || bgzip -@2 -c "$T" > "$BGZF"
PIECES="$T.pieces.gz"
if [ ! -s "$PIECES" ]; then
    split -b 1M -a 4 "$T" "$CORPUS_DIR/piece."
    for f in "$CORPUS_DIR"/piece.*; do gzip -6 -c "$f"; done > "$PIECES"
    rm -f "$CORPUS_DIR"/piece.*
fi
cat "$BGZF" "$PIECES" > /dev/null
echo "decompress BGZF ($(basename "$BGZF"), bgzip -@2: $(stat -c %s "$BGZF") bytes), $(nproc) cores, median of $RUNS interleaved rounds, MB/s of output:"
mapfile -t t < <(interleaved_medians "bgzip -d -@2 < $BGZF | cat > /dev/null" "bgzip -d < $BGZF | cat > /dev/null" \
    "igzip -dc < $BGZF | cat > /dev/null" "pigz -dc < $BGZF | cat > /dev/null" \
    "$SLUICE gunzip -p 1 < $BGZF | cat > /dev/null" "$SLUICE gunzip < $BGZF | cat > /dev/null")
row "bgzip -d -@2" "$BYTES" "${t[0]}"
row "bgzip -d" "$BYTES" "${t[1]}" "${t[0]}"
row "igzip -dc" "$BYTES" "${t[2]}" "${t[0]}"
row "pigz -dc" "$BYTES" "${t[3]}" "${t[0]}"
row "sluice gunzip -p 1" "$BYTES" "${t[4]}" "${t[0]}"
row "sluice gunzip (one thread per core)" "$BYTES" "${t[5]}" "${t[0]}"
row "  the same, against igzip -dc" "$BYTES" "${t[5]}" "${t[2]}"
row "  the same, against sluice gunzip -p 1" "$BYTES" "${t[5]}" "${t[4]}"
echo "decompress gzip per 1 MiB piece, concatenated ($(stat -c %s "$PIECES") bytes), against one member, median of $RUNS:"
base=$(median_seconds "$SLUICE gunzip < $GZ | cat > /dev/null")
row "sluice gunzip, one member" "$BYTES" "$base"
row "sluice gunzip, 1 MiB members" "$BYTES" "$(median_seconds "$SLUICE gunzip < $PIECES | cat > /dev/null")" "$base"
echo "compress into BGZF, $(nproc) cores, median of $RUNS, MB/s of input:"
base=$(median_seconds "bgzip -@2 -c < $T | cat > /dev/null")
row "bgzip -@2" "$BYTES" "$base"
row "sluice gzip --bgzf -p 2" "$BYTES" "$(median_seconds "$SLUICE gzip --bgzf -p 2 < $T | cat > /dev/null")" "$base"
echo "BGZF sizes: sluice $($SLUICE gzip --bgzf < "$T" | wc -c), bgzip $(stat -c %s "$BGZF")"

echo "peak RSS:"
printf '  %-52s %8s KiB\n' "sluice gzip -6 -p 1" "$(peak_rss_kib "$SLUICE gzip -6 -p 1 < $T > /dev/null")"
printf '  %-52s %8s KiB\n' "sluice gzip -6 -p 2" "$(peak_rss_kib "$SLUICE gzip -6 -p 2 < $T > /dev/null")"
printf '  %-52s %8s KiB\n' "sluice gunzip" "$(peak_rss_kib "$SLUICE gunzip < $GZ > /dev/null")"
printf '  %-52s %8s KiB\n' "sluice gunzip -p 2 (BGZF)" "$(peak_rss_kib "$SLUICE gunzip -p 2 < $BGZF > /dev/null")"
printf '  %-52s %8s KiB\n' "sluice gunzip (BGZF, one thread per core)" "$(peak_rss_kib "$SLUICE gunzip < $BGZF > /dev/null")"
printf '  %-52s %8s KiB\n' "sluice gunzip into a slow reader (pv -L 200M)" \
    "$(peak_rss_kib "$SLUICE gunzip < $GZ | pv -q -L 200M > /dev/null")"
