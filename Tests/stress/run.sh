#!/usr/bin/env bash
# sluice under stress: huge streams with flat memory, a gzip bomb, faults and signals.
# `make test-stress` runs it (not part of `make test`: it takes several minutes and
# moves tens of gigabytes through pipes, never storing them). Prints the figures it
# measures and one line per check; exits 1 if any check failed.
#
# STRESS_SIZES overrides the stream sizes (default "100M 1G 10G"), STRESS_WRAP the size
# for the ISIZE check (5G), STRESS_BOMB the bomb's size (10G); STRESS_DIR is the scratch
# directory (about 100 MiB are written there).
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SLUICE="${SLUICE:-$ROOT/.build/release/sluice}"
SIZES="${STRESS_SIZES:-100M 1G 10G}"
WRAP="${STRESS_WRAP:-5G}"
BOMB_SIZE="${STRESS_BOMB:-10G}"
W="${STRESS_DIR:-/tmp/sluice-stress}"
mkdir -p "$W"
export LC_ALL=C
failures=0

ok() { printf 'ok   - %s\n' "$*"; }
fail() { printf 'FAIL - %s\n' "$*"; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...: runs the command as the condition
    local what="$1"; shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}
for tool in gzip pigz pv python3 md5sum; do
    command -v "$tool" >/dev/null || { echo "stress: needs $tool" >&2; exit 1; }
done

# A 4 MiB seed of text like C source (the tests' generator), repeated to any length on the fly.
SEED="$W/source-text.txt"
[ -s "$SEED" ] || awk -v size=4M -f "$ROOT/Tests/scripts/source-text.awk" | head -c 4M > "$SEED"
[ -s "$SEED" ] || { echo "stress: could not make $SEED" >&2; exit 1; }  # else gen would loop forever
gen() { while cat "$SEED"; do :; done 2>/dev/null | head -c "$1"; }
# json FILE EXPR: EXPR of the --stats=json object in FILE (its last line starting with {;
# warnings such as a drop count may come before it).
json() { python3 -c 'import json,sys; d=json.loads([l for l in open(sys.argv[1]) if l.startswith("{")][-1]); print(eval(sys.argv[2]))' "$@"; }
# closes_early COMBO INPUT MAX: sluice COMBO on INPUT into head -c (a random count below
# MAX); a status other than 141 (or 0 when all was read), or anything on stderr, counts in
# `bad` and is shown.
closes_early() {
    local keep=$(( (RANDOM * 32768 + RANDOM) % $3 ))
    # shellcheck disable=SC2086
    timeout 60 "$SLUICE" $1 < "$2" 2> "$W/err" | head -c "$keep" > /dev/null
    local status=${PIPESTATUS[0]}
    if { [ "$status" != 141 ] && [ "$status" != 0 ]; } || [ -s "$W/err" ]; then
        bad=$((bad + 1)); echo "    '$1' | head -c $keep: status $status, stderr: $(head -c 200 "$W/err")"
    fi
}
# into_full COMBO INPUT: sluice COMBO on INPUT into /dev/full ends with status 1 and says
# why on its last line (after any --stats table).
into_full() {
    # shellcheck disable=SC2086
    timeout 60 "$SLUICE" $1 < "$2" > /dev/full 2> "$W/err"
    local status=$? last
    last=$(grep -v '^stage\|^stdin\|^stdout\|^wall\|^cat\|^ ' "$W/err" | tail -1)
    check "'$1' > /dev/full: status 1, 'sluice: stdout: No space left on device'" \
        [ "$status" = 1 -a "$last" = "sluice: stdout: No space left on device" ]
}

# under_bound KEY SIZE LABEL: the peak RSS of the run whose --stats=json is $W/KEY.json,
# kept as RSS[KEY-SIZE] for memory_is_flat, checked under that run's memory bound.
under_bound() {
    local bound
    RSS[$1-$2]=$(json "$W/$1.json" 'd["peak_rss_bytes"] >> 10')
    bound=$(json "$W/$1.json" 'd["memory_bound_bytes"] >> 10')
    check "$3 $2: peak RSS ${RSS[$1-$2]} KiB under the bound $bound KiB" [ "${RSS[$1-$2]}" -lt "$bound" ]
}

# memory_is_flat KEY...: each KEY's peak RSS at the last of $SIZES is within a quarter
# (and 2 MiB) of that at the first.
memory_is_flat() {
    local first=${SIZES%% *} last=${SIZES##* } kind a b
    for kind in "$@"; do
        a=${RSS[$kind-$first]}; b=${RSS[$kind-$last]}
        check "$kind: memory does not grow with the input ($a KiB at $first, $b KiB at $last)" [ "$b" -le $((a + a / 4 + 2048)) ]
    done
}

echo "# huge streams, flat memory (stream generated on the fly, never stored)"
declare -A RSS
for size in $SIZES; do
    # Pass-through by chunks, into a reader limited to 600 MB/s.
    want=$(gen "$size" | md5sum)
    got=$(gen "$size" | "$SLUICE" --stats=json cat + cat 2> "$W/pass.json" | pv -q -L 600M | md5sum)
    check "pass-through $size: same bytes" [ "$want" = "$got" ]
    under_bound pass "$size" "pass-through"

    # The card's pipeline on a gzip stream made on the fly; ISIZE wraps past 4 GiB.
    want=$(gen "$size" | grep -F int | md5sum)
    got=$(gen "$size" | pigz -1 | "$SLUICE" --stats=json gunzip + grep -F int + gzip -1 2> "$W/card.json" \
        | pv -q -L 300M | gzip -dc | md5sum)
    check "gunzip + grep + gzip $size: same lines as gzip -dc | grep" [ "$want" = "$got" ]
    under_bound card "$size" "gunzip + grep + gzip"
done
echo "peak RSS (KiB):"
for size in $SIZES; do printf '  %-6s pass-through %8s   gunzip+grep+gzip %8s\n' "$size" "${RSS[pass-$size]}" "${RSS[card-$size]}"; done
memory_is_flat pass card

echo "# sluice gzip past 4 GiB: ISIZE is the length modulo 2^32"
for threads in 1 2; do
    want=$(gen "$WRAP" | md5sum)
    got=$(gen "$WRAP" | "$SLUICE" gzip -1 -p $threads | tee >(gzip -t && echo valid > "$W/valid") | gzip -dc | md5sum)
    sleep 1
    check "gzip -p $threads of $WRAP decodes with gzip -dc and passes gzip -t" \
        [ "$want" = "$got" -a "$(cat "$W/valid" 2>/dev/null)" = valid ]
    rm -f "$W/valid"
done

echo "# a gzip bomb: $BOMB_SIZE of zeros in a few MiB"
BOMB="$W/bomb-$BOMB_SIZE.gz"
[ -s "$BOMB" ] || head -c "$BOMB_SIZE" /dev/zero | pigz -9 > "$BOMB"
echo "  bomb: $(stat -c %s "$BOMB") bytes"
start=$(date +%s%N)
n=$(/usr/bin/time -f '%M' -o "$W/rss" "$SLUICE" gunzip < "$BOMB" | head -c 1M | wc -c)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "bomb into head -c 1M: 1 MiB out in $ms ms, peak RSS $(tail -1 "$W/rss") KiB" \
    [ "$n" = 1048576 -a "$ms" -lt 3000 -a "$(tail -1 "$W/rss")" -lt 24576 ]
n=$(/usr/bin/time -f '%M' -o "$W/rss" "$SLUICE" gunzip < "$BOMB" | wc -c)
check "bomb decoded whole: $n bytes, peak RSS $(tail -1 "$W/rss") KiB" \
    [ "$n" = "$(head -c "$BOMB_SIZE" /dev/zero | wc -c)" -a "$(tail -1 "$W/rss")" -lt 24576 ]

echo "# zstd: huge streams with flat memory, a bomb, early closes, /dev/full"
for tool in zstd pzstd; do
    command -v "$tool" >/dev/null || { echo "stress: needs $tool" >&2; exit 1; }
done
for size in $SIZES; do
    # One frame from a pipe (zstd -T2): decoded on one thread, checked on another.
    want=$(gen "$size" | grep -F int | md5sum)
    got=$(gen "$size" | zstd -q -1 -T2 | "$SLUICE" --stats=json unzstd + grep -F int + zstd -1 2> "$W/zcard.json" \
        | pv -q -L 300M | zstd -dc | md5sum)
    check "unzstd + grep + zstd $size: same lines as zstd -dc | grep" [ "$want" = "$got" ]
    under_bound zcard "$size" "unzstd + grep + zstd"

    # sluice's own frames, in parallel both ways, into a slow reader.
    want=$(gen "$size" | md5sum)
    got=$(gen "$size" | "$SLUICE" --stats=json zstd -1 -p 2 2> "$W/zenc.json" \
        | "$SLUICE" --stats=json unzstd -p 2 2> "$W/zdec.json" | pv -q -L 600M | md5sum)
    check "zstd -p 2 | unzstd -p 2, $size: same bytes" [ "$want" = "$got" ]
    under_bound zenc "$size" "zenc -p 2"
    under_bound zdec "$size" "zdec -p 2"
done
echo "peak RSS (KiB):"
for size in $SIZES; do
    printf '  %-6s unzstd+grep+zstd %8s   zstd -p 2 %8s   unzstd -p 2 %8s\n' "$size" \
        "${RSS[zcard-$size]}" "${RSS[zenc-$size]}" "${RSS[zdec-$size]}"
done
memory_is_flat zcard zenc zdec
mid=$(echo $SIZES | awk '{ print $(NF > 1 ? 2 : 1) }')
want=$(gen "$mid" | md5sum)
got=$(gen "$mid" | pzstd -q -1 -p 2 | "$SLUICE" unzstd -p 2 | md5sum)
check "unzstd -p 2 on pzstd's frames, $mid: same bytes" [ "$want" = "$got" ]

# Bombs: one frame of zeros from a pipe (no content size), and one that states its size
# (too large for a parallel job): both stream through one context, memory flat.
ZBOMB="$W/bomb-$BOMB_SIZE.zst"
[ -s "$ZBOMB" ] || head -c "$BOMB_SIZE" /dev/zero | zstd -q -1 -T2 > "$ZBOMB"
ZSIZED="$W/bomb-1G-sized.zst"
[ -s "$ZSIZED" ] || head -c 1G /dev/zero | zstd -q -1 --stream-size=1073741824 > "$ZSIZED"
echo "  zstd bombs: $(stat -c %s "$ZBOMB") and $(stat -c %s "$ZSIZED") bytes"
start=$(date +%s%N)
n=$(/usr/bin/time -f '%M' -o "$W/rss" "$SLUICE" unzstd < "$ZBOMB" | head -c 1M | wc -c)
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "zstd bomb into head -c 1M: 1 MiB out in $ms ms, peak RSS $(tail -1 "$W/rss") KiB" \
    [ "$n" = 1048576 -a "$ms" -lt 3000 -a "$(tail -1 "$W/rss")" -lt 32768 ]
for p in 1 2; do
    n=$(/usr/bin/time -f '%M' -o "$W/rss" "$SLUICE" unzstd -p $p < "$ZBOMB" | wc -c)
    check "zstd bomb decoded whole with -p $p: $n bytes, peak RSS $(tail -1 "$W/rss") KiB" \
        [ "$n" = "$(head -c "$BOMB_SIZE" /dev/zero | wc -c)" -a "$(tail -1 "$W/rss")" -lt 32768 ]
    n=$(/usr/bin/time -f '%M' -o "$W/rss" "$SLUICE" unzstd -p $p < "$ZSIZED" | wc -c)
    check "a frame stating 1 GiB, -p $p: $n bytes, peak RSS $(tail -1 "$W/rss") KiB" \
        [ "$n" = 1073741824 -a "$(tail -1 "$W/rss")" -lt 32768 ]
done

gen 64M > "$W/z64"
zstd -q -1 -c "$W/z64" > "$W/z64.zst"
"$SLUICE" zstd -1 -p 2 < "$W/z64" > "$W/z64.own.zst"
bad=0
for i in $(seq 1 40); do
    case $((i % 4)) in
    0) combo="unzstd + grep -F -v zzzz + zstd -1"; input="$W/z64.zst" ;;
    1) combo="unzstd -p 2"; input="$W/z64.own.zst" ;;
    2) combo="zstd -1 -p 2"; input="$W/z64" ;;
    3) combo="zstd -3 -p 1"; input="$W/z64" ;;
    esac
    closes_early "$combo" "$input" $((48 << 20))
done
check "40 early closes of zstd and unzstd: every one status 141 (or 0 when all was read), silent" [ "$bad" = 0 ]
for combo in "unzstd" "unzstd -p 2" "unzstd + grep -F int + zstd" "zstd" "zstd -p 1" "zstd -19 -p 2"; do
    input="$W/z64.own.zst"; [ "${combo#unzstd}" = "$combo" ] && input="$W/z64"
    into_full "$combo" "$input"
done
rm -f "$W/z64" "$W/z64.zst" "$W/z64.own.zst"

echo "# consumers that close at random points"
gen 64M > "$W/in64"
gzip -1 -c "$W/in64" > "$W/in64.gz"
combos=("" "cat" "cat + cat + cat" "grep -F -v zzzz" "gzip -1" "gzip -1 -p 1" "tail -n +1" "buffer 4M" "exec cat" "tee $W/copy" "throttle 2G")
bad=0
for i in $(seq 1 120); do
    closes_early "${combos[$((RANDOM % ${#combos[@]}))]}" "$W/in64" $((48 << 20))
done
check "120 early closes: every one status 141 (or 0 when all was read), silent, no hang" [ "$bad" = 0 ]
for i in $(seq 1 30); do
    closes_early "gunzip + grep -F -v zzzz + gzip -1" "$W/in64.gz" $((200 << 20))
done
check "30 early closes of the card's pipeline: status 141 or 0, silent" [ "$bad" = 0 ]

echo "# /dev/full as stdout, every stage"
for combo in "" "cat" "--stats cat" "gzip" "gzip -p 1" "gunzip" "grep -F a" "grep -v zzz" "head -n 100000" \
             "tail -n 100" "tail -c +5" "throttle 1G" "buffer 1M" "buffer 1M --start 50" "exec cat" "tee $W/copy" \
             "cat + gzip + gunzip" "gunzip + grep -F int + gzip" "-P cat"; do
    input="$W/in64"; [ "${combo#gunzip}" != "$combo" ] && input="$W/in64.gz"
    into_full "$combo" "$input"
done
timeout 60 "$SLUICE" tee /dev/full < "$W/in64" > /dev/null 2> "$W/err"
check "tee /dev/full: status 1, 'sluice: tee: /dev/full: No space left on device'" \
    [ $? = 1 -a "$(cat "$W/err")" = "sluice: tee: /dev/full: No space left on device" ]

echo "# non-blocking stdin and stdout, a consumer that reads in bursts"
python3 - "$SLUICE" <<'EOF'
import os, fcntl, subprocess, sys, time, hashlib, threading
data = os.urandom(64 << 20)
for args in ([], ["cat", "+", "gzip", "-1", "+", "gunzip"], ["--chunk", "1K", "--hwm", "4K", "cat"]):
    r_in, w_in = os.pipe(); r_out, w_out = os.pipe()
    for fd in (r_in, w_out):
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    p = subprocess.Popen([sys.argv[1]] + args, stdin=r_in, stdout=w_out)
    os.close(r_in); os.close(w_out)
    def feed():
        with os.fdopen(w_in, "wb") as f:
            for i in range(0, len(data), 1 << 20):
                f.write(data[i:i + (1 << 20)]); f.flush()
                if (i >> 20) % 8 == 0: time.sleep(0.02)
    t = threading.Thread(target=feed); t.start()
    got = hashlib.sha256(); n = 0
    with os.fdopen(r_out, "rb", buffering=0) as f:
        while True:
            b = f.read(1 << 16)
            if not b: break
            got.update(b); n += len(b)
            if n % (4 << 20) < (1 << 16): time.sleep(0.02)
    t.join(); rc = p.wait()
    ok = rc == 0 and got.hexdigest() == hashlib.sha256(data).hexdigest()
    print(("ok   - " if ok else "FAIL - ") + "non-blocking ends, bursty reader, args %s: status %d, %d bytes" % (args, rc, n))
EOF
[ $? = 0 ] || failures=$((failures + 1))

echo "# a producer that writes one byte at a time, with pauses"
got=$(python3 -c '
import sys, time
for i, c in enumerate(open(sys.argv[1], "rb").read(3000)):
    sys.stdout.buffer.write(bytes([c])); sys.stdout.buffer.flush()
    if i % 100 == 0: time.sleep(0.01)
' "$SEED" | "$SLUICE" grep -F -v zzzz + gzip | gzip -dc | md5sum)
check "one byte at a time through grep + gzip: same bytes" [ "$got" = "$(head -c 3000 "$SEED" | grep -F -v zzzz | md5sum)" ]

echo "# exec of a command that fails or is killed"
out=$(gen 10M | "$SLUICE" exec false 2>&1 >/dev/null); status=$?
check "exec false: status 1, '$out'" [ $status = 1 -a "$out" = "sluice: exec: false exited with status 1" ]
gen 1G | "$SLUICE" exec sleep 30 > /dev/null 2> "$W/err" &
pid=$!
sleep 0.5; pkill -TERM -P $pid sleep; wait $pid; status=$?
check "exec sleep killed by SIGTERM: status 1, '$(cat "$W/err")'" \
    [ $status = 1 -a "$(cat "$W/err")" = "sluice: exec: sleep killed by signal 15 (SIGTERM)" ]

echo "# SIGINT and SIGTERM mid-stream"
for sig in INT TERM; do
    # env --default-signal: a shell starts background jobs with SIGINT ignored.
    gen 50G | env --default-signal=INT,TERM "$SLUICE" grep -F -v zzzz + gzip -1 > "$W/sig.gz" 2> "$W/err" &
    pid=$!
    sleep 1
    start=$(date +%s%N)
    kill -$sig $pid; wait $pid; status=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    size1=$(stat -c %s "$W/sig.gz"); sleep 0.3; size2=$(stat -c %s "$W/sig.gz")
    want=$(( 128 + $(kill -l $sig) ))
    check "SIG$sig: death by the signal (status $status, want $want) in $ms ms, nothing written after, silent" \
        [ $status = $want -a $ms -lt 1000 -a "$size1" = "$size2" -a ! -s "$W/err" ]
    check "SIG$sig: no process or thread left" bash -c "! kill -0 $pid 2>/dev/null"
done

echo "# overload: drop counts exact, spill flat, adapt decodes (${SHED_SIZE:=2G} each)"
# Numbered lines, so that order and wholeness can be checked without storing them.
numbered() { seq 1 100000000 | head -c "$1"; }
for policy in drop-newest drop-oldest; do
    numbered "$SHED_SIZE" | "$SLUICE" --stats=json --chunk 7K cat --hwm 256K --when-full=$policy 2> "$W/shed.json" \
        | pv -q -L 200M | python3 -c '
import sys
prev, count, size = 0, 0, 0
for line in sys.stdin.buffer:
    assert line.endswith(b"\n"), "a cut line"
    n = int(line)
    assert n > prev, "out of order"
    prev, count, size = n, count + 1, size + len(line)
print(count, size)' > "$W/shed.out"
    read -r out_lines out_bytes < "$W/shed.out"
    in_lines=$(numbered "$SHED_SIZE" | wc -l)
    dropped=$(json "$W/shed.json" 'd["stages"][1]["dropped_records"]')
    dropped_bytes=$(json "$W/shed.json" 'd["stages"][1]["dropped_bytes"]')
    check "$policy $SHED_SIZE: lines in $in_lines = out $out_lines + dropped $dropped, whole and in order" \
        [ "$in_lines" -eq $((out_lines + dropped)) ]
    check "$policy $SHED_SIZE: bytes in = bytes out + bytes dropped" \
        [ "$(numbered "$SHED_SIZE" | wc -c)" -eq $((out_bytes + dropped_bytes)) ]
done
mkdir -p "$W/spill"
want=$(gen "$SHED_SIZE" | md5sum)
got=$(gen "$SHED_SIZE" | "$SLUICE" --stats=json cat --hwm 1M --spill "$W/spill" --spill-max 4G 2> "$W/spill.json" \
    | pv -q -L 150M | md5sum)
check "spill $SHED_SIZE into a slow reader: same bytes" [ "$want" = "$got" ]
rss=$(json "$W/spill.json" 'd["peak_rss_bytes"] >> 10'); bound=$(json "$W/spill.json" 'd["memory_bound_bytes"] >> 10')
spilled=$(json "$W/spill.json" 'd["stages"][1]["spilled_bytes"] >> 20')
check "spill $SHED_SIZE: peak RSS $rss KiB under the bound $bound KiB, $spilled MiB spilled" [ "$rss" -lt "$bound" ] && [ "$spilled" -gt 0 ]
check "spill: nothing left in the directory" [ -z "$(ls -A "$W/spill")" ]
want=$(gen 1G | md5sum)
got=$(gen 1G | "$SLUICE" gzip --adapt + throttle 300M | gzip -dc | md5sum)
check "gzip --adapt 1G through a throttle: decodes to the input" [ "$want" = "$got" ]

echo "# exec -j: the copies' output is one copy's, memory bounded ($SHED_SIZE)"
want=$(numbered "$SHED_SIZE" | awk '{ print $1 % 7, $1 }' | md5sum)
got=$(numbered "$SHED_SIZE" | "$SLUICE" --stats=json exec -j 2 awk '{ print $1 % 7, $1 }' 2> "$W/ej.json" \
    | pv -q -L 300M | md5sum)
check "exec -j 2 awk on $SHED_SIZE into a slow reader: the bytes of one awk" [ "$want" = "$got" ]
rss=$(json "$W/ej.json" 'd["peak_rss_bytes"] >> 10'); bound=$(json "$W/ej.json" 'd["memory_bound_bytes"] >> 10')
check "exec -j 2: peak RSS $rss KiB under the bound $bound KiB" [ "$rss" -lt "$bound" ]
numbered 1G > "$W/numbered"
check "exec -j 3 cat on a 1G file (cut evenly): the same bytes" \
    bash -c "'$SLUICE' exec -j 3 cat < '$W/numbered' | cmp -s - '$W/numbered'"
want=$(awk '{ n++; s += $1 } END { printf "%d %.0f\n", n, s }' "$W/numbered")
got=$("$SLUICE" exec -j 2 --unordered awk '{ print $1 }' < "$W/numbered" | awk '{ n++; s += $1 } END { printf "%d %.0f\n", n, s }')
check "exec -j 2 --unordered on 1G: every line once ($got)" [ "$want" = "$got" ]
rm -f "$W/numbered"

echo "# many stages and odd sizes"
head -c 20M /dev/urandom > "$W/rand"
stages=$(for i in $(seq 1 64); do printf 'cat + '; done)
check "64 cat stages: identity" bash -c "'$SLUICE' ${stages}cat < '$W/rand' | cmp -s - '$W/rand'"
for spec in "--chunk 1 --hwm 1" "--chunk 3 --hwm 7" "--chunk 1K --hwm 1K" "--chunk 1M --hwm 3M" "--chunk 256M --hwm 1"; do
    check "gzip + gunzip with $spec: identity" bash -c "head -c 2M '$W/rand' | '$SLUICE' $spec gzip -p 2 + gunzip | cmp -s - <(head -c 2M '$W/rand')"
done

echo
if [ "$failures" = 0 ]; then echo "stress: all checks passed"; else echo "stress: $failures check(s) failed"; exit 1; fi
