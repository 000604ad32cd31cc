import Testing

/// A live stream: one line in, a pause, and the line must be visible downstream within a
/// second, decodable where compressed — through every stage that can pass it on before
/// its input ends (tail -n N and head -n -N cannot, by their nature).
@Suite struct LiveStreamTests {
    @Test(arguments: [
        ("cat", false),
        ("head -n 5", false),
        ("tail -n +1", false),
        ("grep ERROR", false),
        ("throttle 1M", false),
        ("buffer 1M", false),
        ("exec cat", false),
        ("tee $T/copy", false),
        ("gzip -p 1", true),
        ("gzip -p 2", true),
        ("gzip + gunzip", false),
        ("gzip + gunzip + grep ERROR + gzip -1", true),
        ("zstd -p 1 + unzstd", false),
        ("zstd -p 2 + unzstd", false),
        ("zstd -19 + unzstd + grep ERROR + gzip -1", true),
    ])
    func aLineIsVisibleWithinASecond(_ stages: String, _ decodes: Bool) throws {
        // The reader tells the writer it saw the line through the fifo on fd 3; the
        // writer waits for that, a second at most, before it writes the next one.
        let r = try sh("""
            \(Self.lineReader)
            mkfifo $T/seen; exec 3<> $T/seen
            { echo "hello ERROR line"; read -t 1 -u 3 || echo "not seen within a second" >&2; echo "the end ERROR"; } \\
                | "$SLUICE" \(stages) 3>&- | python3 $T/reader.py \(decodes ? "gunzip" : "")
            """, timeout: 30)
        #expect(r.text == "hello ERROR line\nthe end ERROR\n")
        #expect(r.stderr == "")
    }

    /// Writes `$T/reader.py`: copies its input (with an argument, gunzipped member by
    /// member as it comes) to stdout as it arrives, and writes a line to fd 3 once it has
    /// copied a whole line.
    static let lineReader = """
        cat > $T/reader.py <<'EOF'
        import os, sys, zlib
        inflater = zlib.decompressobj(31) if len(sys.argv) > 1 else None
        told = False
        while True:
            data = os.read(0, 65536)
            if not data:
                break
            if inflater:
                out = b''
                while data:
                    out += inflater.decompress(data)
                    data = inflater.unused_data if inflater.eof else b''
                    if inflater.eof:
                        inflater = zlib.decompressobj(31)
                data = out
            os.write(1, data)
            if not told and b'\\n' in data:
                os.write(3, b'seen\\n')
                told = True
        EOF
        """

    /// With the flush turned off, gzip holds what it compressed until the input ends:
    /// after another gzip, beside it, flushed the same line after a second of idle.
    @Test func flushIdleZeroHoldsOutputBack() throws {
        let r = try sh("""
            \(Self.lineReader)
            mkfifo $T/seen $T/in; exec 3<> $T/seen 4>&1
            "$SLUICE" gzip -p 1 --flush-idle 0 < $T/in > $T/held 3>&- & held=$!
            { echo "hello"; read -t 5 -u 3 || echo "not flushed after a second" >&2
              echo "held: $(gzip -dc < $T/held 2>/dev/null | wc -c)" >&4; } \\
                | tee $T/in | "$SLUICE" gzip -p 1 --flush-idle 1s 3>&- | python3 $T/reader.py gunzip > /dev/null
            wait $held
            gzip -dc < $T/held
            """, timeout: 30)
        #expect(r.text == "held: 0\nhello\n")
        #expect(r.stderr == "")
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
