# Shared helpers for the bench scripts: medians of repeated runs, MB/s, ratios.
# Source it; it sets SLUICE, RUNS and CORPUS_DIR.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SLUICE="${SLUICE:-$ROOT/.build/release/sluice}"
RUNS="${RUNS:-5}"
CORPUS_DIR="${CORPUS_DIR:-/tmp/sluice-bench}"
mkdir -p "$CORPUS_DIR"
[ -x "$SLUICE" ] || { echo "bench: build first (make): $SLUICE" >&2; exit 1; }

# need TOOL...: fail early, naming the Debian package to install.
need() {
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "bench: needs $t (apt-get install $t)" >&2; exit 1; }
    done
}

# corpus_text: prints the path of 256 MiB of real text (C sources of linux-source-6.1;
# apt-get install linux-source-6.1), made once. SIZE overrides the size.
corpus_text() {
    local size="${SIZE:-256M}"
    local f="$CORPUS_DIR/linux-$size.txt"
    if [ ! -s "$f" ]; then
        local src=/usr/src/linux-source-6.1.tar.xz
        [ -f "$src" ] || { echo "bench: needs $src (apt-get install linux-source-6.1)" >&2; exit 1; }
        tar -xOf "$src" --wildcards '*.c' '*.h' 2>/dev/null | head -c "$size" > "$f.tmp" || true
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

# corpus_random: prints the path of 1 GiB of random bytes, made once.
corpus_random() {
    local f="$CORPUS_DIR/random-1G"
    [ -s "$f" ] || head -c 1G /dev/urandom > "$f"
    echo "$f"
}

# median_seconds CMD: runs `bash -c CMD` RUNS times (after one warm-up) and prints the
# median wall time in seconds.
median_seconds() {
    local cmd="$1" times=() i s e
    bash -c "$cmd" >/dev/null 2>&1 || true
    for ((i = 0; i < RUNS; i++)); do
        s=$(date +%s%N)
        bash -c "$cmd" >/dev/null 2>&1 || true
        e=$(date +%s%N)
        times+=("$(( e - s ))")
    done
    printf '%s\n' "${times[@]}" | median_of_nanos
}

# median_of_nanos: the median of the nanosecond counts on stdin, a line each, in seconds.
median_of_nanos() {
    sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.4f\n", m/1e9}'
}

# interleaved_medians CMD...: runs the commands in turn, RUNS rounds (after one warm-up
# each), and prints each one's median wall time in seconds, a line each, in the order
# given. On a machine whose speed drifts (a VM beside other VMs), commands compared in
# the same rounds see the same drift, so their ratios hold where separate series of
# `median_seconds` can be 10% apart.
interleaved_medians() {
    local cmd i k s e
    local -a times=()
    for cmd in "$@"; do bash -c "$cmd" >/dev/null 2>&1 || true; done
    for ((i = 0; i < RUNS; i++)); do
        k=0
        for cmd in "$@"; do
            s=$(date +%s%N)
            bash -c "$cmd" >/dev/null 2>&1 || true
            e=$(date +%s%N)
            times+=("$k $(( e - s ))")
            k=$((k + 1))
        done
    done
    for ((k = 0; k < $#; k++)); do
        printf '%s\n' "${times[@]}" | awk -v k="$k" '$1 == k { print $2 }' | median_of_nanos
    done
}

# peak_rss_kib CMD: peak resident memory of the last command of a pipeline, via GNU time.
peak_rss_kib() {
    /usr/bin/time -f '%M' -o "$CORPUS_DIR/.rss" bash -c "$1" >/dev/null 2>&1 || true
    tail -1 "$CORPUS_DIR/.rss"
}

# row LABEL BYTES SECONDS [BASELINE_SECONDS]: one aligned line with MB/s and the speed
# ratio against the baseline (>1 means faster than the baseline).
row() {
    local label="$1" bytes="$2" secs="$3" base="${4:-}"
    local mbs ratio=""
    mbs=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.0f", b / s / 1e6 }')
    [ -n "$base" ] && ratio=$(awk -v a="$base" -v s="$secs" 'BEGIN { printf "%.2fx", a / s }')
    printf '  %-52s %8.3f s %7s MB/s %8s\n' "$label" "$secs" "$mbs" "$ratio"
}
