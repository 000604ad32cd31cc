import Foundation
import Testing

@Suite struct ThrottleTests {
    @Test func rateIsKeptWithinGenerousBounds() throws {
        // 6 MiB at 2 MiB/s: 3 s. A busy machine can only make it slower, so the upper
        // bound is loose; running much faster would mean no throttling at all.
        let r = try timed(#"head -c 6M /dev/zero | "$SLUICE" throttle 2M | wc -c"#, timeout: 60)
        #expect(r.text.hasPrefix("\(6 << 20)\n"))
        let ms = milliseconds(in: r.text) ?? 0
        #expect(ms >= 2700 && ms < 9000, "took \(ms) ms")
    }

    @Test func aPauseDoesNotBankCredit() throws {
        // After 2 s of silence, 4 MiB at 2 MiB/s still takes about 2 s more.
        let r = try timed(#"{ sleep 2; head -c 4M /dev/zero; } | "$SLUICE" rate 2M/s | wc -c"#, timeout: 60)
        #expect(r.text.hasPrefix("\(4 << 20)\n"))
        let ms = milliseconds(in: r.text) ?? 0
        #expect(ms >= 3700, "took \(ms) ms")
    }

    @Test func smallInputsArePacedFromTheFirstByte() throws {
        // The bucket starts empty: 1000 bytes at 500 bytes/s take about 2 s, not one
        // chunk's worth of free burst (which would pass them at once).
        let r = try timed(#"head -c 1000 /dev/zero | "$SLUICE" throttle 500 | wc -c"#, timeout: 60)
        #expect(r.text.hasPrefix("1000\n"))
        let ms = milliseconds(in: r.text) ?? 0
        #expect(ms >= 1800, "took \(ms) ms")
    }

    @Test func compressedOrRawDependsOnWhere() throws {
        let r = try sh("""
            head -c 2M /dev/zero | gzip -1 > $T/z.gz
            s=$(date +%s%N)
            "$SLUICE" throttle 1M + gunzip < $T/z.gz | wc -c
            echo "ms=$(( ($(date +%s%N) - s) / 1000000 ))"
            """, timeout: 60)
        #expect(r.text.hasPrefix("\(2 << 20)\n"))
        #expect((milliseconds(in: r.text) ?? .max) < 1500, "compressed bytes are few: no wait")
    }

    @Test func usage() throws {
        let r = try sh("""
            "$SLUICE" throttle < /dev/null; echo "s=$?"
            "$SLUICE" throttle 0 < /dev/null; echo "s=$?"
            "$SLUICE" throttle 5X < /dev/null; echo "s=$?"
            """)
        #expect(r.text == "s=2\ns=2\ns=2\n")
        #expect(r.stderr.contains("sluice: throttle: missing operand (usage: throttle RATE)"))
        #expect(r.stderr.contains("sluice: throttle: RATE: size must be at least 1 B: '0'"))
    }
}

@Suite struct BufferTests {
    @Test func passesEverything() throws {
        let r = try sh("""
            head -c 20M /dev/urandom > $T/in
            "$SLUICE" buffer 4M < $T/in | cmp - $T/in && echo same
            "$SLUICE" buffer 4M --start 80 < $T/in | cmp - $T/in && echo same
            cat $T/in | "$SLUICE" --chunk 4K buffer 64K --start 100% | cmp - $T/in && echo same
            """)
        #expect(r.text == "same\nsame\nsame\n", "\(r.stderr)")
    }

    @Test func startHoldsOutputUntilFull() throws {
        // A producer that writes 1 KiB, waits 2 s, then ends: with --start 100 nothing
        // may come out before the input ends.
        let r = try sh("""
            s=$(date +%s%N)
            { head -c 1024 /dev/zero; sleep 2; } | "$SLUICE" buffer 1M --start 100 | { head -c 1 > /dev/null; echo "ms=$(( ($(date +%s%N) - s) / 1000000 ))"; cat > /dev/null; }
            """, timeout: 30)
        #expect((milliseconds(in: r.text) ?? 0) >= 1800)
    }

    @Test func withoutStartOutputFlowsAtOnce() throws {
        let r = try sh("""
            s=$(date +%s%N)
            { head -c 1024 /dev/zero; sleep 2; } | "$SLUICE" buffer 1M | { head -c 1 > /dev/null; echo "ms=$(( ($(date +%s%N) - s) / 1000000 ))"; cat > /dev/null; }
            """, timeout: 30)
        #expect((milliseconds(in: r.text) ?? .max) < 1500)
    }

    @Test func memoryFollowsTheFill() throws {
        // A 64 MiB buffer that fills (slow reader) reaches tens of MiB; a 64 MiB buffer
        // that never fills (fast reader) stays small: memory is taken as it fills.
        let r = try sh("""
            head -c 200M /dev/zero | "$SLUICE" --stats=json buffer 64M 2> $T/full.json | pv -q -L 100M > /dev/null
            head -c 200M /dev/zero | "$SLUICE" --stats=json buffer 64M 2> $T/fast.json > /dev/null
            python3 -c '
            import json, sys
            full = json.load(open(sys.argv[1])); fast = json.load(open(sys.argv[2]))
            print(full["stages"][1]["peak_buffered_bytes"] > (48 << 20), full["peak_rss_bytes"] < (90 << 20), fast["peak_rss_bytes"] < (40 << 20))
            ' $T/full.json $T/fast.json
            """, timeout: 60)
        #expect(r.text == "True True True\n", "\(r.stderr)")
    }
}

@Suite(.tags(.threads)) struct ExecThreadTests {
    @Test func commandPipesFollowPipeSize() throws {
        // F_GETPIPE_SZ (1032) on the command's stdin and stdout.
        let probe = "exec python3 -c 'import fcntl; print(fcntl.fcntl(0, 1032), fcntl.fcntl(1, 1032))'"
        let r = try sh("""
            "$SLUICE" \(probe) < /dev/null
            "$SLUICE" --pipe-size 256K \(probe) < /dev/null
            "$SLUICE" --pipe-size 0 \(probe) < /dev/null
            """)
        #expect(r.text == "1048576 1048576\n262144 262144\n65536 65536\n", "\(r.stderr)")
    }

    @Test func runsAFilterInTheChain() throws {
        let r = try sh("""
            seq 100000 > $T/in
            "$SLUICE" exec cat < $T/in | cmp - $T/in && echo same
            "$SLUICE" gzip + exec gzip -dc + exec sed -n '$p' < $T/in
            """)
        #expect(r.text == "same\n100000\n", "\(r.stderr)")
    }

    @Test func aCommandThatStopsReadingEndsInputLikeHead() throws {
        let r = try sh("yes | \"$SLUICE\" exec head -n 2 + cat; echo \"status=$?\"", timeout: 20)
        #expect(r.text == "y\ny\nstatus=0\n")
    }

    @Test(arguments: [
        ("exec sh -c 'cat > /dev/null; exit 3'", "sluice: exec: sh exited with status 3"),
        ("exec sh -c 'kill -KILL $$'", "sluice: exec: sh killed by signal 9 (SIGKILL)"),
        ("exec no-such-command-here", "sluice: exec: no-such-command-here: No such file or directory"),
    ])
    func failuresNameTheCommand(_ stage: String, _ message: String) throws {
        let r = try sh("seq 10 | \"$SLUICE\" \(stage); echo \"status=$?\"")
        #expect(r.text.hasSuffix("status=1\n"))
        #expect(r.stderr == message + "\n")
    }

    @Test func stderrPassesThroughAndNoShellIsInvolved() throws {
        let r = try sh("echo hi | \"$SLUICE\" exec sh -c 'echo to-stderr >&2; cat' + exec printf '%s|' 'a b' '$HOME'")
        #expect(r.text == "a b|$HOME|")
        #expect(r.stderr == "to-stderr\n")
    }

    @Test func consumerGoneStopsTheCommand() throws {
        let r = try sh("""
            yes | "$SLUICE" exec cat | head -c 10 > /dev/null
            echo "status=${PIPESTATUS[1]}"
            """, timeout: 20)
        #expect(r.text == "status=141\n")
    }
}

@Suite(.tags(.threads)) struct TeeThreadTests {
    @Test func copiesTheStream() throws {
        let r = try sh("""
            seq 200000 > $T/in
            "$SLUICE" tee $T/copy + gzip < $T/in | gzip -dc | cmp - $T/in || exit 1
            cmp $T/copy $T/in || exit 2
            echo more | "$SLUICE" tee -a $T/copy > /dev/null
            tail -n 1 $T/copy
            """)
        #expect(r.text == "more\n", "\(r.stderr)")
    }

    @Test func fullFileIsAnError() throws {
        let r = try sh("seq 100000 | \"$SLUICE\" tee /dev/full > /dev/null; echo \"status=$?\"")
        #expect(r.text == "status=1\n")
        #expect(r.stderr == "sluice: tee: /dev/full: No space left on device\n")
    }

    @Test func unopenableFileIsAnError() throws {
        let r = try sh("echo x | \"$SLUICE\" tee /nonexistent/dir/f; echo \"status=$?\"")
        #expect(r.text == "status=1\n")
        #expect(r.stderr == "sluice: tee: /nonexistent/dir/f: No such file or directory\n")
    }
}

@Suite struct BottleneckTests {
    func bottleneck(_ script: String) throws -> String? {
        let r = try sh(script, timeout: 120)
        guard let data = r.stderr.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
              let json = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any] else {
            Issue.record("no stats: \(r.stderr)")
            return nil
        }
        return json["bottleneck"] as? String
    }

    @Test func slowConsumer() throws {
        // About 3.7 s of stdout waiting on its reader against 0.3 s of gzip -1 on 20 MiB:
        // still stdout if a loaded machine slows gzip tenfold.
        #expect(try bottleneck("""
            head -c 20M /dev/urandom | "$SLUICE" --stats=json cat + gzip -1 2> $T/stats | pv -q -L 5M > /dev/null
            cat $T/stats >&2
            """) == "stdout")
    }

    @Test func cpuBoundStage() throws {
        #expect(try bottleneck("""
            \(realText("12M"))
            "$SLUICE" --stats=json cat + gzip -9 + cat < $T/text > /dev/null
            """) == "gzip")
    }

    @Test func slowProducer() throws {
        #expect(try bottleneck("""
            head -c 40M /dev/zero | pv -q -L 20M | "$SLUICE" --stats=json cat + gzip -1 > /dev/null
            """) == "stdin")
    }

    @Test func statsCarryBusyTime() throws {
        let r = try sh("seq 100000 | \"$SLUICE\" --stats=json gzip > /dev/null")
        let json = try JSONSerialization.jsonObject(with: Data(r.stderr.utf8)) as! [String: Any]
        for stage in json["stages"] as! [[String: Any]] { #expect(stage["busy_s"] is Double) }
    }
}

@Suite struct ProgressTests {
    @Test func drawsInATerminal() throws {
        // The bottleneck is the node busy or pacing longest over the last two seconds.
        // 20 MiB gzips to 5.7 MiB: throttled to 2 MiB/s, that is 2.9 s of throttle against
        // about 0.45 s of gzip, so throttle stays the bottleneck even if a loaded machine
        // slows gzip sixfold.
        let r = try sh("""
            \(realText("20M"))
            script -qfec '"$SLUICE" --progress gzip -6 + throttle 2M < '$T/text' > /dev/null' /dev/null > $T/tty
            cat -v $T/tty
            """, timeout: 120)
        #expect(r.text.contains("stdin"))
        #expect(r.text.contains("gzip"))
        #expect(r.text.contains("throttle"))
        #expect(r.text.contains("^[[K"), "redraws in place")
        #expect(r.text.contains("bottleneck: throttle"))
        #expect(r.text.contains("100% of 20 MiB"), "final line left on screen")
    }

    @Test func absentWhenStderrIsAFile() throws {
        let r = try sh("seq 100000 | \"$SLUICE\" --progress gzip > /dev/null 2> $T/err; wc -c < $T/err")
        #expect(r.text == "0\n")
    }

    @Test func forcedToAFile() throws {
        let r = try sh("seq 100000 | \"$SLUICE\" --progress=force gzip 2>&1 > /dev/null | grep -c elapsed")
        #expect(r.text != "0\n")
    }
}

@Suite(.tags(.threads)) struct StallThreadTests {
    @Test func quietProducer() throws {
        let r = try timed(#""$SLUICE" --stall-timeout 1 cat < <(sleep 20); echo "status=$?""#, timeout: 60)
        #expect(r.text.hasPrefix("status=1\n"))
        #expect((milliseconds(in: r.text) ?? .max) < 8000)
        #expect(r.stderr.hasPrefix("sluice: stalled: no data moved for 1."))
        #expect(r.stderr.contains("stdin has been waiting in read(2) for input"))
    }

    /// A duration as every duration option reads it: 300ms, not only bare seconds.
    @Test func timeoutInMilliseconds() throws {
        let r = try timed(#""$SLUICE" --stall-timeout 300ms cat < <(sleep 20); echo "status=$?""#, timeout: 60)
        #expect(r.text.hasPrefix("status=1\n"), "\(r.stderr)")
        #expect((milliseconds(in: r.text) ?? .max) < 8000)
        #expect(r.stderr.hasPrefix("sluice: stalled: no data moved for 0."), "\(r.stderr)")
    }

    @Test func consumerThatDoesNotRead() throws {
        let r = try sh("""
            "$SLUICE" --stall-timeout 1 cat < /dev/zero | sleep 6
            """, timeout: 60)
        #expect(r.stderr.contains("stdout has been waiting in write(2) for its reader"), "\(r.stderr)")
    }

    @Test func busyPipelineDoesNotTrip() throws {
        let r = try sh("head -c 50M /dev/zero | \"$SLUICE\" --stall-timeout 0.5 gzip -1 | wc -c > /dev/null; echo \"status=${PIPESTATUS[1]}\"")
        #expect(r.text == "status=0\n")
    }
}
