import Testing

/// When upstream fails, a stage that speaks at the end writes what the same stage would
/// write after `gzip -dc` in a shell pipeline, byte for byte, and what follows it passes
/// that on; then the error, and exit 1, as before.
@Suite(.tags(.threads)) struct UpstreamFailureThreadTests {
    @Test(arguments: [
        ("tail -n 3", "tail -n 3"),
        ("tail -c 100", "tail -c 100"),
        ("grep -c 7", "grep -c 7"),
        ("grep -c nomatch", "grep -c nomatch"),
        ("grep -n 860", "grep -n 860"),
        // The decoded part ends in the middle of a line, "8": grep selects it and ends it.
        ("grep -x 8", "grep -x 8"),
        ("head -n -5", "head -n -5"),
        ("head -n 1000000", "head -n 1000000"),
        ("tail -n 50 + grep -c 7", "tail -n 50 | grep -c 7"),
        ("tail -n 3 + cat + head -n 2", "tail -n 3 | head -n 2"),
    ])
    func endOfStreamOutputOfATruncatedInput(_ stages: String, _ shell: String) throws {
        let r = try sh("""
            seq 100000 | gzip | head -c 20000 > $T/trunc.gz
            gzip -dc < $T/trunc.gz 2> /dev/null | \(shell) > $T/want
            "$SLUICE" gunzip + \(stages) < $T/trunc.gz > $T/got
            echo "status=$?"
            [ -s $T/want ] && cmp $T/want $T/got && echo same
            """)
        #expect(r.text == "status=1\nsame\n", "\(r.text)")
        #expect(r.stderr == "sluice: gunzip: unexpected end of input in member 1 at byte 20000\n")
    }

    /// gzip still writes no trailer for half an input: it must not look whole.
    @Test func gzipAfterAFailureWritesNoTrailer() throws {
        let r = try sh("""
            seq 100000 | gzip | head -c 20000 > $T/trunc.gz
            "$SLUICE" gunzip + gzip < $T/trunc.gz > $T/out.gz
            echo "status=$?"
            gzip -t $T/out.gz 2> /dev/null || echo incomplete
            """)
        #expect(r.text == "status=1\nincomplete\n", "\(r.text)\(r.stderr)")
    }
}
