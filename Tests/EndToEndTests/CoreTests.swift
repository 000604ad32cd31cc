import Foundation
import Testing

@Suite(.tags(.threads)) struct IdentityThreadTests {
    /// Sizes around the default chunk (128 KiB) and a large one.
    @Test(arguments: [0, 1, 131_071, 131_072, 131_073, 30_000_017])
    func identityThroughFilesAndPipes(_ size: Int) throws {
        let r = try sh("""
            head -c \(size) /dev/urandom > $T/in
            "$SLUICE" < $T/in > $T/out1 || exit 11
            cat $T/in | "$SLUICE" | cat > $T/out2 || exit 12
            "$SLUICE" cat + cat < $T/in > $T/out3 || exit 13
            "$SLUICE" --chunk 7 --hwm 20 cat < $T/in > $T/out4 || exit 14
            cmp $T/in $T/out1 && cmp $T/in $T/out2 && cmp $T/in $T/out3 && { [ \(size) -gt 1000000 ] || cmp $T/in $T/out4; }
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
    }

    @Test func tinyChunksAndMarks() throws {
        let r = try sh("""
            head -c 100000 /dev/urandom > $T/in
            "$SLUICE" --chunk 1 --hwm 1 cat + cat --hwm 3 --lwm 0 < $T/in | cmp - $T/in
            """)
        #expect(r.status == 0, "\(r.stderr)")
    }
}

@Suite(.tags(.threads)) struct StopThreadTests {
    @Test func yesIntoHeadEndsAtOnce() throws {
        let r = try sh("yes | \"$SLUICE\" head -n 3", timeout: 20)
        #expect(r.text == "y\ny\ny\n")
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
    }

    @Test func quietStdinDoesNotHoldHeadBack() throws {
        // Process substitution keeps the sleeping writer out of the pipeline's wait; the
        // elapsed time is taken inside the script (the harness itself may wait for the
        // sleep, which holds inherited descriptors).
        let r = try timed("""
            "$SLUICE" head -c 0 < <(sleep 8); echo status=$?
            "$SLUICE" cat + head -n 1 < <(echo first; sleep 8); echo status=$?
            """, timeout: 60)
        let lines = r.text.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["status=0", "first", "status=0"])
        #expect((milliseconds(in: r.text) ?? .max) < 4000)
    }

    @Test func headBytesAcrossStages() throws {
        let r = try sh("seq 100000 | \"$SLUICE\" cat + head -c 10 + cat")
        #expect(r.text == "1\n2\n3\n4\n5\n")
        #expect(r.status == 0)
    }

    @Test func headObsoleteDigitsForm() throws {
        let r = try sh("seq 10 | \"$SLUICE\" head -3")
        #expect(r.text == "1\n2\n3\n")
    }
}

@Suite(.tags(.threads)) struct OutputFailureThreadTests {
    @Test func closedStdoutIsSigpipe() throws {
        let r = try sh("""
            seq 10000000 | "$SLUICE" | head -c1 > /dev/null
            echo "${PIPESTATUS[1]}"
            """, timeout: 30)
        #expect(r.text == "141\n")
        #expect(r.stderr.isEmpty)
    }

    @Test func closedStdoutPrintsStatsFirst() throws {
        let r = try sh("""
            seq 10000000 | "$SLUICE" --stats=json cat | head -c1 > /dev/null
            echo "${PIPESTATUS[1]}"
            """, timeout: 30)
        #expect(r.text == "141\n")
        #expect(r.stderr.hasPrefix("{\"wall_s\""))
    }

    @Test func closedStdoutAfterStagesIsSigpipe() throws {
        let r = try sh("""
            yes | "$SLUICE" cat + cat + cat | head -c 100000 > /dev/null
            echo "${PIPESTATUS[1]}"
            """, timeout: 30)
        #expect(r.text == "141\n")
        #expect(r.stderr.isEmpty)
    }

    @Test func fullDevice() throws {
        let r = try sh("seq 100000 | \"$SLUICE\" cat > /dev/full")
        #expect(r.status == 1)
        #expect(r.stderr == "sluice: stdout: No space left on device\n")
    }

    @Test func readErrorIsReported() throws {
        let r = try sh("\"$SLUICE\" < /")
        #expect(r.status == 1)
        #expect(r.stderr == "sluice: stdin: Is a directory\n")
    }
}

@Suite(.tags(.threads)) struct NonBlockingThreadTests {
    /// A parent that hands sluice non-blocking pipe ends, then reads in bursts with pauses.
    static let script = #"""
        import os, fcntl, subprocess, sys, time, hashlib
        data = os.urandom(8 << 20)
        r_in, w_in = os.pipe(); r_out, w_out = os.pipe()
        for fd in (r_in, w_out):
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        p = subprocess.Popen([os.environ["SLUICE"]] + sys.argv[1:], stdin=r_in, stdout=w_out)
        os.close(r_in); os.close(w_out)
        import threading
        def feed():
            with os.fdopen(w_in, "wb") as f:
                for i in range(0, len(data), 1 << 16):
                    f.write(data[i:i + (1 << 16)]); f.flush()
                    if i % (1 << 20) == 0: time.sleep(0.05)
        t = threading.Thread(target=feed); t.start()
        got = bytearray()
        with os.fdopen(r_out, "rb", buffering=0) as f:
            while True:
                b = f.read(1 << 16)
                if not b: break
                got += b
                if len(got) % (1 << 20) < (1 << 16): time.sleep(0.05)
        t.join()
        rc = p.wait()
        print(rc, hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest())
        """#

    @Test(arguments: [[String](), ["cat", "+", "cat"], ["--chunk", "4K", "--hwm", "8K", "cat"]])
    func nonBlockingEndsLoseNothing(_ args: [String]) throws {
        let quoted = args.map { "'\($0)'" }.joined(separator: " ")
        let r = try sh("python3 - \(quoted) <<'EOF'\n\(Self.script)\nEOF", timeout: 120)
        #expect(r.text == "0 True\n", "\(r.stderr)")
    }
}

@Suite struct UsageTests {
    @Test(arguments: [
        (["hed"], "sluice: unknown stage 'hed' (did you mean 'head'?)"),
        (["head", "--lnes", "3"], "sluice: head: unknown option '--lnes' (did you mean '--lines'?)"),
        (["--hwm", "12X", "cat"], "sluice: --hwm: invalid size '12X' (bytes, or with K, M, G, T: 64K, 1.5M, 1G)"),
        (["--hwm"], "sluice: option '--hwm' needs a value"),
        (["--bogus"], "sluice: unknown option '--bogus'"),
        (["cat", "+"], "sluice: missing stage after '+'"),
        (["head", "-n", "-x"], "sluice: head: -n: invalid number '-x'"),
        (["cat", "--hwm", "1K", "--lwm", "1K"], "sluice: cat: low-water mark 1 KiB must be below the high-water mark 1 KiB"),
        (["--chunk", "0"], "sluice: --chunk: size must be at least 1 B: '0'"),
        // Spilling is --spill DIR, not a --when-full policy: the message says which flag.
        (["--when-full=spill", "cat"],
         "sluice: --when-full: 'spill' is not a policy: to spill to disk, use --spill DIR (use block, drop-newest or drop-oldest)"),
        (["cat", "--when-full", "spill"],
         "sluice: cat: --when-full: 'spill' is not a policy: to spill to disk, use --spill DIR (use block, drop-newest or drop-oldest)"),
        (["--help", "grpe"], "sluice: unknown stage 'grpe' (did you mean 'grep'?)"),
        // gzip's own way to decompress points at the stage that does.
        (["gzip", "-d"], "sluice: gzip: -d: to decompress, use the gunzip stage"),
        (["gzip", "-9", "--decompress"], "sluice: gzip: --decompress: to decompress, use the gunzip stage"),
    ])
    func usageError(_ args: [String], _ firstLine: String) throws {
        let quoted = args.map { "'\($0)'" }.joined(separator: " ")
        let r = try sh("echo hi | \"$SLUICE\" \(quoted)")
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first.map(String.init) == firstLine)
        #expect(lines.dropFirst().first?.hasPrefix("usage: sluice") == true)
    }

    /// The triple for a stage's usage error: its message, that stage's synopsis (not the
    /// global one), and where to read more.
    @Test func stageUsageErrorShowsTheStageSynopsis() throws {
        let r = try sh("echo hi | \"$SLUICE\" grep -K x")
        #expect(r.status == 2)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == """
            sluice: grep: unknown option '-K'
            usage: sluice [OPTION]... grep [-EFGbcinoqvwxz] [-m NUM] [-ABC NUM]
                          [-e PATTERN]... [-f FILE] [PATTERN]
            Try 'sluice grep --help' for more information.

            """)
    }

    /// A file named where standard input is meant: say so, with the command that works.
    @Test func fileOperandPointsToStandardInput() throws {
        let r = try sh("\"$SLUICE\" gunzip app.log.gz")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("""
            sluice: gunzip: unexpected argument 'app.log.gz' (sluice reads standard input: sluice gunzip < app.log.gz)
            usage: sluice [OPTION]... gunzip
            """))
    }

    /// The suggested command keeps every option and word the user typed, quoted for the
    /// shell, and moves only the file to standard input.
    @Test(arguments: [
        ("head -n 3 app.log", "sluice head -n 3 < app.log"),
        ("--stats grep -F 'a b' app.log + head -n 1", "sluice --stats grep -F 'a b' + head -n 1 < app.log"),
        ("tail -n 2 \"it's here\"", "sluice tail -n 2 < 'it'\\''s here'"),
        ("gunzip + grep -c -e x app.log", "sluice grep -c -e x < app.log"),
    ])
    func fileOperandHintKeepsTheOptions(_ args: String, _ hint: String) throws {
        let r = try sh("\"$SLUICE\" \(args) < /dev/null")
        #expect(r.status == 2)
        let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasSuffix("(sluice reads standard input: \(hint))"), "\(first)")
    }

    /// A word with bytes that are not UTF-8 comes back in the hint as those bytes, quoted.
    @Test func fileOperandHintKeepsRawBytes() throws {
        let r = try sh("""
            "$SLUICE" grep $'caf\\xe9' $'\\xff.log' < /dev/null 2> $T/err
            echo "status=$?"
            printf "sluice: grep: unexpected argument '\\377.log' (sluice reads standard input: sluice grep 'caf\\351' < '\\377.log')\\n" > $T/want
            head -n 1 $T/err | cmp - $T/want && echo same
            """)
        #expect(r.text == "status=2\nsame\n", "\(r.stderr)")
    }

    @Test func helpGoesToStdout() throws {
        let r = try sh("\"$SLUICE\" --help")
        #expect(r.status == 0)
        #expect(r.stderr.isEmpty)
        #expect(r.text.hasPrefix("usage: sluice"))
    }

    @Test func stageHelp() throws {
        let r = try sh("\"$SLUICE\" head --help")
        #expect(r.status == 0)
        #expect(r.text.contains("--lines"))
    }

    /// `sluice --help grep` is `sluice grep --help`, as `git help log` is `git log --help`.
    @Test(arguments: ["grep", "head", "rate"])
    func helpBeforeAStageIsThatStagesHelp(_ stage: String) throws {
        let r = try sh("\"$SLUICE\" --help \(stage) > $T/a; echo \"status=$?\"; \"$SLUICE\" \(stage) --help > $T/b; cmp $T/a $T/b && head -n 1 $T/a")
        #expect(r.text.hasPrefix("status=0\nusage: sluice [OPTION]... \(stage == "rate" ? "throttle" : stage)"), "\(r.text) \(r.stderr)")
        #expect(r.stderr.isEmpty)
    }

    @Test func version() throws {
        let r = try sh("\"$SLUICE\" --version")
        #expect(r.status == 0)
        #expect(r.text.hasPrefix("sluice "))
    }

    @Test func helpToFullDevice() throws {
        let r = try sh("\"$SLUICE\" --help > /dev/full")
        #expect(r.status == 1)
        #expect(r.stderr == "sluice: stdout: No space left on device\n")
    }
}

@Suite(.tags(.threads)) struct BackpressureThreadTests {
    /// A slow reader: every stage's queue stays within hwm + one chunk, and memory within
    /// the stated bound.
    @Test func slowReaderKeepsBuffersBounded() throws {
        let r = try sh("""
            head -c 24M /dev/urandom > $T/in
            "$SLUICE" --hwm 256K --chunk 64K --stats=json cat + cat --hwm 100K + cat < $T/in 2> $T/stats \
              | python3 -c '
            import sys, time
            n = 0
            while True:
                b = sys.stdin.buffer.read(1 << 16)
                if not b: break
                n += len(b); time.sleep(0.002)
            print(n)'
            cat $T/stats >&2
            """, timeout: 120)
        #expect(r.text == "\(24 << 20)\n")
        let json = try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as! [String: Any]
        let stages = json["stages"] as! [[String: Any]]
        #expect(stages.map { $0["name"] as! String } == ["stdin", "cat", "cat", "cat", "stdout"])
        var sawPressure = false
        for stage in stages.dropLast() {
            let hwm = stage["hwm"] as! Int, peak = stage["peak_buffered_bytes"] as! Int
            #expect(peak < hwm + (64 << 10), "\(stage)")
            #expect(peak >= hwm - (64 << 10), "the slow reader should have filled \(stage)")
            if (stage["blocked_on_output_s"] as! Double) > 0.1 { sawPressure = true }
        }
        #expect(sawPressure)
        #expect(rssWithin(json["peak_rss_bytes"] as! Int, json["memory_bound_bytes"] as! Int))
        #expect(json["bottleneck"] as? String == "stdout")
    }
}
