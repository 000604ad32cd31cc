import Testing

/// How an `exec` command's end is judged when the run stops from below: as the shell
/// judges `yes | head -n 3` — the writer's SIGPIPE is the normal end, not an error —
/// while a command that fails on its own is still an error.
@Suite(.tags(.threads)) struct ExecEndThreadTests {
    @Test(arguments: [
        // A producer followed by head: the command dies of SIGPIPE once head has its lines.
        ("seq 200000 > $T/big; \"$SLUICE\" exec cat $T/big + head -n 2 < /dev/null", "1\n2\n"),
        ("\"$SLUICE\" exec yes + head -n 3 < /dev/null", "y\ny\ny\n"),
        ("seq 200000 | gzip > $T/f.gz; \"$SLUICE\" exec zcat $T/f.gz + grep -m1 99 < /dev/null", "99\n"),
        // The command exits non-zero because its stdout closed (Python reports EPIPE).
        ("\"$SLUICE\" exec python3 -c 'import itertools, sys; [sys.stdout.write(\"x\\n\") for _ in itertools.count()]' + head -n 1 < /dev/null", "x\n"),
        // Input still coming while head stops.
        ("yes | \"$SLUICE\" exec cat + head -n 2", "y\ny\n"),
    ])
    func producerStoppedFromBelowIsANormalEnd(_ script: String, _ expected: String) throws {
        let r = try sh("\(script); echo \"status=$?\"", timeout: 60)
        #expect(r.text == expected + "status=0\n")
        // The command's own stderr is passed through (Python prints BrokenPipeError, as
        // it does in a shell pipe); sluice itself says nothing.
        #expect(!r.stderr.contains("sluice"), "\(r.stderr)")
    }

    @Test func signalDeathWhileNotStoppingIsAnError() throws {
        let r = try sh("\"$SLUICE\" exec sh -c 'kill -PIPE $$' + head -n 1 < /dev/null; echo \"status=$?\"")
        #expect(r.text == "status=1\n")
        #expect(r.stderr == "sluice: exec: sh killed by signal 13 (SIGPIPE)\n")
    }

    @Test func failureBeforeTheStopIsStillAnError() throws {
        let r = try sh("\"$SLUICE\" exec sh -c 'exit 4' + head -n 1 < /dev/null; echo \"status=$?\"")
        #expect(r.text == "status=1\n")
        #expect(r.stderr == "sluice: exec: sh exited with status 4\n")
    }

    /// A signal sent to sluice alone is forwarded to its commands' process groups; what
    /// is still running a second later is killed; sluice dies by the signal, silently,
    /// and leaves nothing behind (the `sleep` of a shell that ignores TERM included). The
    /// signal is sent once the command has said it started.
    @Test(arguments: [
        ("TERM", "exec sh -c 'echo up >&4; exec sleep 30'", 143),
        ("TERM", "exec sh -c 'trap \"\" TERM; echo up >&4; sleep 30; :'", 143),
        ("INT", "exec sh -c 'trap \"\" INT; echo up >&4; sleep 30; :'", 130),
        ("HUP", "exec sh -c 'echo up >&4; exec sleep 30' + cat", 129),
    ])
    func endingSignalEndsTheCommandsToo(_ signal: String, _ stages: String, _ status: Int) throws {
        let r = try sh(commandWatch + """
            watch_gone
            watch_started 1
            "$SLUICE" \(stages) < /dev/null > /dev/null 2> $T/err &
            pid=$!
            wait_started
            kill -\(signal) $pid
            wait $pid
            echo "status=$?"
            wait_gone
            cat $T/err
            """, timeout: 30)
        #expect(r.text == "started=1\nstatus=\(status)\ngone=0\n", "\(r.stderr)")
    }

    /// A stage before a plain `exec` failing ends its command: SIGTERM, and SIGKILL a
    /// grace later for one that ignores it (the run used to wait for it to exit on its
    /// own). The input is a FIFO, written once the command has set its trap.
    @Test func upstreamFailureEndsACommandIgnoringSigterm() throws {
        let r = try sh(commandWatch + """
            (seq 100000 | gzip | head -c 20000) > $T/trunc.gz
            mkfifo $T/in
            watch_gone
            watch_started 1
            "$SLUICE" gunzip + exec sh -c 'trap "" TERM; echo up >&4; cat > /dev/null; exec sleep 30' < $T/in > /dev/null 2> $T/err &
            pid=$!
            exec 5> $T/in
            wait_started
            cat $T/trunc.gz >&5
            exec 5>&-
            wait $pid
            echo "status=$?"
            wait_gone
            cat $T/err
            """, timeout: 25)
        #expect(r.text == "started=1\nstatus=1\ngone=0\nsluice: gunzip: unexpected end of input in member 1 at byte 20000\n",
                "\(r.stderr)")
    }

    /// As mbuffer prints its summary when interrupted, --stats is printed before the death.
    @Test func statsArePrintedBeforeTheSignalDeath() throws {
        let r = try sh("""
            yes | "$SLUICE" --stats=json exec cat > /dev/null 2> $T/err &
            pid=$!
            sleep 0.5
            kill -INT $pid
            wait $pid
            echo "status=$?"
            grep -c '"bottleneck"' $T/err
            """, timeout: 30)
        #expect(r.text == "status=130\n1\n", "\(r.stderr)")
    }
}
