#!/bin/bash
# make test-scale: the README's "Scaling out" recipes, run on this machine. sluice
# inside GNU parallel (--pipepart, --pipe, and -S over ssh to an sshd this script starts
# on 127.0.0.1), inside PySpark's RDD.pipe in local mode, as a Hadoop Streaming mapper
# (under Tests/scripts/streaming-task.py: no Hadoop distribution installs from Debian or
# PyPI), and its shell completions installed where bash, zsh and fish look. Each check
# compares with one sluice over the whole input. The Makefile installs the tools first.
#
#     SLUICE=/abs/sluice PYTHON=/abs/venv/bin/python Tests/scale/run.sh [CHECK...]
#
# With CHECK names (parallel-pipe, spark-rdd-pipe...), only those run.
set -u
: "${SLUICE:?set SLUICE to the built binary}" "${PYTHON:?set PYTHON to a python with pyspark}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCRIPTS=$ROOT/Tests/scripts
W=$(mktemp -d "${TMPDIR:-/tmp}/sluice-scale.XXXXXX")
SSHD_PID=
cleanup() {
    [ -n "$SSHD_PID" ] && kill "$SSHD_PID" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
export LC_ALL=C PARALLEL=--will-cite
passed=0 failed=0 skipped=0

# check NAME COMMAND...: runs COMMAND, its output kept in $W/NAME.log, shown if it fails
# (its "info:" lines always).
ONLY=" $* "
check() {
    local name=$1 start=$SECONDS
    shift
    [ "$ONLY" = "  " ] || [[ $ONLY == *" $name "* ]] || return 0
    if "$@" > "$W/$name.log" 2>&1; then
        echo "ok      $name ($((SECONDS - start)) s)"
        sed -n 's/^info: /        /p' "$W/$name.log"
        passed=$((passed + 1))
    else
        echo "FAILED  $name ($((SECONDS - start)) s)"
        sed 's/^/        /' "$W/$name.log" | tail -30
        failed=$((failed + 1))
    fi
}
skip() { echo "skipped $1: $2"; skipped=$((skipped + 1)); }

# A log of 160 MiB, 1% ERROR lines: three 64 MiB blocks for --pipepart.
echo "making a 160 MiB log"
awk 'BEGIN { seed = 1
    for (i = 0; written < 160 * 1048576; i++) {
        seed = (seed * 16807) % 2147483647
        line = sprintf("%d %s request %d took %d ms", i, seed % 100 == 0 ? "ERROR" : "INFO", seed % 65536, seed % 977)
        print line; written += length(line) + 1 } }' > "$W/big.log"
"$SLUICE" grep -F ERROR < "$W/big.log" > "$W/expected"

# --- GNU parallel ---------------------------------------------------------------
pipepart() {
    parallel --pipepart -a "$W/big.log" --block 64M -k "$SLUICE" grep -F ERROR > "$W/out" &&
        cmp "$W/expected" "$W/out"
}
pipe() {
    cat "$W/big.log" | parallel --pipe --block 16M -k "$SLUICE" grep -F ERROR > "$W/out" &&
        cmp "$W/expected" "$W/out"
}
# Each part compressed on its own: concatenated gzip members, one stream to gunzip.
pipepart_gzip() {
    parallel --pipepart -a "$W/big.log" --block 64M -k "$SLUICE" grep -F ERROR + gzip > "$W/out.gz" &&
        [ "$(gzip -t "$W/out.gz" && gzip -dc "$W/out.gz" | cmp - "$W/expected" && echo same)" = same ] &&
        "$SLUICE" gunzip < "$W/out.gz" | cmp - "$W/expected"
}
check parallel-pipepart pipepart
check parallel-pipe pipe
check parallel-pipepart-gzip pipepart_gzip

# Over ssh: an sshd on 127.0.0.1 with its own host key, config and authorized key;
# nothing of the machine's ssh setup is touched.
start_sshd() {
    [ "$(id -u)" = 0 ] && [ -x /usr/sbin/sshd ] || return 1
    mkdir -p /run/sshd "$W/ssh"
    ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/id" || return 1
    cp "$W/ssh/id.pub" "$W/ssh/authorized_keys"
    local port=$((20000 + RANDOM % 20000))
    cat > "$W/ssh/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $W/ssh/host_key
AuthorizedKeysFile $W/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $W/ssh/sshd.pid
EOF
    cat > "$W/ssh/config" <<EOF
Host sluicehost
    HostName 127.0.0.1
    Port $port
    User $(id -un)
    IdentityFile $W/ssh/id
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    BatchMode yes
EOF
    /usr/sbin/sshd -D -e -f "$W/ssh/sshd_config" 2> "$W/ssh/sshd.log" &
    SSHD_PID=$!
    for _ in $(seq 50); do
        ssh -F "$W/ssh/config" sluicehost true 2>/dev/null && return 0
        sleep 0.2
    done
    cat "$W/ssh/sshd.log"
    return 1
}
over_ssh() {
    parallel --ssh "ssh -F $W/ssh/config" -S 2/sluicehost --pipepart -a "$W/big.log" --block 64M -k \
        "$SLUICE" grep -F ERROR > "$W/out" && cmp "$W/expected" "$W/out"
}
if [ "$ONLY" != "  " ] && [[ $ONLY != *" parallel-ssh-hosts "* ]]; then
    :
elif start_sshd; then
    check parallel-ssh-hosts over_ssh
else
    skip parallel-ssh-hosts "no sshd could be started on 127.0.0.1 (needs root and openssh-server)"
fi

# --- Spark -----------------------------------------------------------------------
# Four gzip files, one partition each; one of them without any ERROR line.
spark() {
    mkdir -p "$W/gz" "$W/spark"
    split -n l/3 -d "$W/big.log" "$W/gz/part-" && gzip "$W/gz"/part-0[0-2]
    grep -v ERROR "$W/big.log" | head -n 100000 | gzip > "$W/gz/part-quiet.gz"
    SPARK_LOCAL_IP=127.0.0.1 "$PYTHON" "$ROOT/Tests/scale/spark-pipe.py" "$SLUICE" "$W/gz" "$W/spark" \
        > "$W/spark/stdout" 2> "$W/spark/stderr" || { tail -40 "$W/spark/stderr"; return 1; }
    # The same filter run locally, on every file; partitions may come in any order.
    for f in "$W"/gz/*.gz; do gzip -dc "$f" | "$SLUICE" grep -F ERROR; done | sort > "$W/spark/local"
    sort "$W/spark/grep.txt" | cmp - "$W/spark/local" || return 1
    echo "info: lines per partition: $(sort -n "$W/spark/partitions.txt" | tr '\n' ' ')"
    [ "$(sort -n "$W/spark/partitions.txt" | head -n 1)" = 0 ] || return 2
    [ "$(cat "$W/spark/failing.txt")" = "exited with 2" ] || { cat "$W/spark/failing.txt"; return 3; }
    [ "$(wc -l < "$W/spark/head.txt")" = 4 ] && [ "$(wc -l < "$W/spark/drain-head.txt")" = 4 ] || return 4
    # head without --drain leaves PySpark's writer thread with a broken pipe; with it, none.
    local broken drained
    broken=$(sed -n '/== head$/,/== drain-head$/p' "$W/spark/stderr" | grep -c BrokenPipeError)
    drained=$(sed -n '/== drain-head$/,/== end$/p' "$W/spark/stderr" | grep -c BrokenPipeError)
    echo "info: BrokenPipeError tracebacks: head $broken, --drain head $drained"
    # Without --drain PySpark shows its broken pipe (else this check sees nothing).
    [ "$broken" -gt 0 ] && [ "$drained" = 0 ] || return 5
}
if [ "$ONLY" != "  " ] && [[ $ONLY != *" spark-rdd-pipe "* ]]; then
    :
elif command -v java > /dev/null && "$PYTHON" -c 'import pyspark' 2> /dev/null; then
    check spark-rdd-pipe spark
else
    skip spark-rdd-pipe "no java or no pyspark in $PYTHON"
fi

# --- Hadoop Streaming -------------------------------------------------------------
# Neither Debian nor PyPI has a Hadoop distribution with hadoop-streaming.jar (PySpark's
# jars hold Hadoop's client, not streaming). Each part of the log runs as a map task under
# streaming-task.py, which feeds, reads and fails a task as Hadoop Streaming does.
streaming_job() {
    mkdir -p "$W/job"
    split -n l/4 -d "$W/big.log" "$W/job/in-"
    local part pids=()
    for part in "$W"/job/in-0[0-3]; do
        python3 "$SCRIPTS/streaming-task.py" --report "$part.report" --output "$part.out" "$part" -- \
            "$SLUICE" --stats=hadoop,json grep -F ERROR &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || return 1; done
    cat "$W"/job/in-0[0-3].out | cmp - "$W/expected" || return 2
    for part in "$W"/job/in-0[0-3]; do python3 "$SCRIPTS/hadoop-counters.py" "$part.report" || return 3; done
    python3 - "$W"/job/in-0[0-3].report <<'EOF'
import json, sys
totals = {}
for path in sys.argv[1:]:
    for name, value in json.load(open(path))["counters"]["sluice"].items():
        totals[name] = totals.get(name, 0) + value
print("info: job counters: " + ", ".join("%s=%d" % (k, totals[k]) for k in ("stdin.bytes_in", "grep.bytes_out")))
EOF
}
early_stop() {
    seq 2000000 > "$W/seq"
    if python3 "$SCRIPTS/streaming-task.py" --report "$W/r1" --output "$W/o1" "$W/seq" -- "$SLUICE" head -n 3; then
        echo "head without --drain did not break the task"; return 1
    fi
    grep -q 'Broken pipe' "$W/r1" || return 2
    python3 "$SCRIPTS/streaming-task.py" --report "$W/r2" --output "$W/o2" "$W/seq" -- \
        "$SLUICE" --drain --stats=hadoop grep -m 3 7 || { cat "$W/r2"; return 3; }
    [ "$(cat "$W/o2")" = "$(printf '7\n17\n27')" ]
}
keeps_alive() {
    head -n 80000 "$W/big.log" > "$W/slow"  # 3 MiB: 10 s at 300K/s
    python3 "$SCRIPTS/streaming-task.py" --task-timeout 5 --report "$W/r3" --output "$W/o3" "$W/slow" -- \
        "$SLUICE" --stats=hadoop,json throttle 300K || { cat "$W/r3"; return 1; }
    cmp "$W/slow" "$W/o3" && python3 "$SCRIPTS/hadoop-counters.py" "$W/r3"
}
echo "note: no Hadoop distribution installs from Debian or PyPI; map tasks run under streaming-task.py"
check streaming-mapper-job streaming_job
check streaming-early-stop early_stop
check streaming-keeps-alive keeps_alive

# --- Shell completions, installed -------------------------------------------------
completions() {
    make -C "$ROOT" --no-print-directory install-completions DESTDIR="$W/root" PREFIX=/usr COMPLETION_BIN="$SLUICE" || return 1
    local share=$W/root/usr/share
    ls "$share/bash-completion/completions/sluice" "$share/zsh/site-functions/_sluice" \
        "$share/fish/vendor_completions.d/sluice.fish" || return 2
    # bash-completion's loader finds it by the command's name, on first use.
    [ -f /usr/share/bash-completion/bash_completion ] || return 3
    local got
    got=$(XDG_DATA_DIRS=$share bash -c '
        source /usr/share/bash-completion/bash_completion
        _completion_loader sluice
        complete -p sluice
        COMP_WORDS=(sluice gzip + gr) COMP_CWORD=3; _sluice; echo "${COMPREPLY[*]}"') || return 4
    echo "$got"
    [ "$got" = "$(printf 'complete -F _sluice sluice\ngrep')" ] || return 5
    zsh -n "$share/zsh/site-functions/_sluice" && fish -n "$share/fish/vendor_completions.d/sluice.fish" || return 6
    # zsh: compinit finds _sluice on the fpath; autoloaded, it completes the words it is
    # given, through a compadd that prints its candidates instead.
    got=$(zsh -f -c "fpath=($share/zsh/site-functions \$fpath); autoload -U compinit; compinit -u -d $W/zcompdump
        echo \$_comps[sluice]
        compadd() { shift \${@[(i)--]}; print -l -- \"\$@\"; }
        words=(sluice gzip + gr) CURRENT=4; _sluice | grep '^gr'
        words=(sluice grep --) CURRENT=3; _sluice | grep -c '^--'") || return 7
    echo "$got"
    [ "$(echo "$got" | head -n 2)" = "$(printf '_sluice\ngrep')" ] && [ "$(echo "$got" | tail -n 1)" -ge 15 ] || return 8
    # fish: finds the vendor directory under XDG_DATA_DIRS, for a sluice on PATH.
    mkdir -p "$W/bin" && ln -sf "$SLUICE" "$W/bin/sluice"
    got=$(PATH=$W/bin:$PATH XDG_DATA_DIRS=$share fish -c "
        complete -C'sluice gz'; complete -C'sluice gzip + gr'; complete -C'sluice grep --' | count" | cut -f1) || return 9
    echo "$got"
    [ "$(echo "$got" | head -n 2)" = "$(printf 'gzip\ngrep')" ] && [ "$(echo "$got" | tail -n 1)" -ge 15 ]
}
check completions-installed completions

echo "test-scale: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
