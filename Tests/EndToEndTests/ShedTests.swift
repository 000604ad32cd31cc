import Foundation
import Testing

/// `--when-full=drop-newest|drop-oldest`: a producer that never waits, lines dropped whole
/// and counted exactly: lines in = lines out + lines dropped, and what comes out is a
/// subsequence of whole input lines, in order.
@Suite struct ShedTests {
    @Test(arguments: [
        "cat --hwm 64K --when-full=drop-newest",
        "cat --hwm 64K --when-full=drop-oldest",
        "grep 1 --hwm 32K --when-full=drop-oldest",
        "buffer 64K --when-full=drop-newest",
        "cat --hwm 8K --when-full=drop-newest + cat --hwm 16K --when-full=drop-oldest",
    ])
    func dropsWholeLinesAndCountsThem(_ stages: String) throws {
        let r = try sh("""
            seq 1 300000 > $T/in
            "$SLUICE" --stats=json --chunk 7K \(stages) < $T/in 2> $T/err | { sleep 1; cat; } > $T/out
            echo "status=${PIPESTATUS[0]}"
            python3 - $T <<'EOF'
            import json, sys
            t = sys.argv[1]
            expected = [l for l in open(t + '/in').read().split('\\n')[:-1] if \(stages.hasPrefix("grep") ? "'1' in l" : "True")]
            out = open(t + '/out').read()
            assert out.endswith('\\n'), 'a cut line'
            got = out.split('\\n')[:-1]
            pos = {v: i for i, v in enumerate(expected)}
            order = [pos[v] for v in got]
            assert all(a < b for a, b in zip(order, order[1:])), 'not a subsequence in order'
            err = open(t + '/err').read().splitlines()
            stats = json.loads([l for l in err if l.startswith('{')][0])
            dropped = sum(s['dropped_records'] for s in stats['stages'])
            dropped_bytes = sum(s['dropped_bytes'] for s in stats['stages'])
            assert len(got) + dropped == len(expected), (len(got), dropped, len(expected))
            assert len(out) + dropped_bytes == sum(len(l) + 1 for l in expected)
            warnings = [l for l in err if l.startswith('sluice:')]
            assert dropped > 0 and warnings, 'nothing was dropped: the test proves nothing'
            assert all(' when its buffer was full' in w for w in warnings), warnings
            print('exact')
            EOF
            """, timeout: 60)
        #expect(r.text == "status=0\nexact\n", "\(r.stderr)")
    }

    @Test func warningNamesTheStageAndCounts() throws {
        let r = try sh("""
            seq 1 300000 | "$SLUICE" cat --hwm 16K --when-full=drop-newest 2> $T/err | { sleep 1; cat; } > /dev/null
            cat $T/err
            """, timeout: 60)
        #expect(r.text.hasPrefix("sluice: cat: dropped "), "\(r.text)")
        #expect(r.text.range(of: #"^sluice: cat: dropped [0-9,]+ lines \([0-9.]+ [KM]iB\) when its buffer was full\n$"#,
                             options: .regularExpression) != nil, "\(r.text)")
    }

    @Test(arguments: [
        ("gzip --when-full=drop-newest", "sluice: gzip: --when-full=drop-newest: the output is compressed bytes, not lines, and dropping any would corrupt it"),
        ("--when-full=sometimes cat", "sluice: --when-full: unknown policy 'sometimes' (use block, drop-newest or drop-oldest)"),
        ("cat --when-full", "sluice: cat: option '--when-full' needs a value"),
    ])
    func badPolicies(_ args: String, _ message: String) throws {
        let r = try sh("echo x | \"$SLUICE\" \(args)")
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").first.map(String.init) == message)
    }

    /// A global drop policy leaves gzip's compressed output whole (it blocks).
    @Test func globalDropPolicyLeavesCompressedOutputWhole() throws {
        let r = try sh("""
            seq 1 300000 | "$SLUICE" --when-full=drop-oldest cat --hwm 16K + gzip 2> $T/err | { sleep 1; gzip -dc > $T/out; echo "gz=$?"; }
            grep -c 'sluice: cat: dropped' $T/err
            grep -c 'gzip' $T/err
            """, timeout: 60)
        #expect(r.text == "gz=0\n1\n0\n", "\(r.stderr)")
    }
}
