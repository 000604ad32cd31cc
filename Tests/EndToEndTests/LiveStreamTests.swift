import Testing

/// A live stream: one line in, a pause, and the line must be visible downstream within a
/// second, decodable where compressed — through every stage that can pass it on before
/// its input ends (tail -n N and head -n -N cannot, by their nature).
@Suite struct LiveStreamTests {
    @Test(arguments: [
        ("cat", "cat $T/out"),
        ("head -n 5", "cat $T/out"),
        ("tail -n +1", "cat $T/out"),
        ("grep ERROR", "cat $T/out"),
        ("throttle 1M", "cat $T/out"),
        ("buffer 1M", "cat $T/out"),
        ("exec cat", "cat $T/out"),
        ("tee $T/copy", "cat $T/out"),
        ("gzip -p 1", "gzip -dc < $T/out 2>/dev/null"),
        ("gzip -p 2", "gzip -dc < $T/out 2>/dev/null"),
        ("gzip + gunzip", "cat $T/out"),
        ("gzip + gunzip + grep ERROR + gzip -1", "gzip -dc < $T/out 2>/dev/null"),
    ])
    func aLineIsVisibleWithinASecond(_ stages: String, _ reader: String) throws {
        let r = try sh("""
            { echo "hello ERROR line"; sleep 2; echo "the end ERROR"; } | "$SLUICE" \(stages) > $T/out &
            sleep 1
            \(reader)
            wait
            echo "--"
            \(reader)
            """, timeout: 30)
        #expect(r.text == "hello ERROR line\n--\nhello ERROR line\nthe end ERROR\n", "\(r.stderr)")
    }

    /// With the flush turned off, gzip holds what it compressed until the input ends.
    @Test func flushIdleZeroHoldsOutputBack() throws {
        let r = try sh("""
            { echo "hello"; sleep 1.5; } | "$SLUICE" gzip -p 1 --flush-idle 0 > $T/out &
            sleep 1
            gzip -dc < $T/out 2>/dev/null | wc -c
            wait
            gzip -dc < $T/out
            """, timeout: 30)
        #expect(r.text == "0\nhello\n", "\(r.stderr)")
    }

    /// A file input never idles: the output is byte for byte what it was without flushes.
    @Test func fileInputIsUnchanged() throws {
        let r = try sh("""
            seq 1 400000 > $T/in
            for p in 1 2; do
                "$SLUICE" gzip -p $p < $T/in > $T/a
                "$SLUICE" gzip -p $p --flush-idle 0 < $T/in > $T/b
                cmp $T/a $T/b && echo same
            done
            """, timeout: 60)
        #expect(r.text == "same\nsame\n", "\(r.stderr)")
    }
}

/// `kill -USR1` prints the --stats table so far, as dd prints its status, and the run
/// goes on with its output intact.
@Suite struct StatusSignalTests {
    @Test func usr1PrintsTheTableAndTheRunGoesOn() throws {
        let r = try sh("""
            seq 1 3000000 > $T/in
            "$SLUICE" throttle 8M + gzip -1 < $T/in > $T/out.gz 2> $T/err &
            pid=$!
            sleep 0.8; kill -USR1 $pid
            sleep 0.5; kill -USR1 $pid
            wait $pid; echo "status=$?"
            grep -c '^stage ' $T/err
            grep -c 'bottleneck' $T/err
            gzip -dc < $T/out.gz | cmp - $T/in && echo intact
            """, timeout: 60)
        #expect(r.text == "status=0\n2\n2\nintact\n", "\(r.stderr)")
    }
}
