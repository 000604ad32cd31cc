import Foundation
import Testing

/// `--spill DIR`: past the high-water mark a buffer overflows to an unnamed file and
/// reads it back in order; memory stays at the water marks and nothing is lost.
@Suite struct SpillTests {
    @Test(arguments: ["1", "4K", "128K"])
    func everyByteInOrderWithFlatMemory(_ chunk: String) throws {
        let r = try sh("""
            seq 1 \(chunk == "1" ? 100_000 : 1_500_000) > $T/in
            mkdir $T/spill
            # --pipe-size 0: a 1 MiB stdout pipe would hold the whole 589 KB of the chunk-1
            # case, and nothing would spill while the reader sleeps.
            "$SLUICE" --stats=json --pipe-size 0 --chunk \(chunk) cat --hwm 64K --spill $T/spill < $T/in 2> $T/err \\
                | { sleep 1; cat; } | cmp - $T/in && echo same
            ls -A $T/spill | wc -l
            python3 -c '
            import json, sys
            d = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][0]
            cat = d["stages"][1]
            print(cat["spilled_bytes"] > 0, cat["peak_spill_bytes"] > 0, d["peak_rss_bytes"] < d["memory_bound_bytes"])
            ' $T/err
            """, timeout: 120)
        #expect(r.text == "same\n0\nTrue True True\n", "\(r.stderr)")
    }

    /// A full disk (here the file-size limit) stops the spilling, once, with a warning
    /// naming the directory; the buffer blocks instead and nothing is lost.
    @Test func fullDiskFallsBackToBlocking() throws {
        let r = try sh("""
            seq 1 1000000 > $T/in
            mkdir $T/spill
            ( ulimit -f 256; "$SLUICE" cat --hwm 64K --spill $T/spill < $T/in 2> $T/err | { sleep 1; cat; } | cmp - $T/in && echo same )
            cat $T/err
            """, timeout: 120)
        #expect(r.text.hasPrefix("same\nsluice: cat: cannot spill to /"), "\(r.text)\(r.stderr)")
        #expect(r.text.hasSuffix(": File too large; blocking instead\n"), "\(r.text)")
        #expect(r.text.components(separatedBy: "cannot spill").count == 2, "warned once")
    }

    @Test(arguments: [
        ("--spill /nonexistent cat", "sluice: stdin: --spill /nonexistent: No such file or directory"),
        ("cat --spill /proc", "sluice: cat: --spill /proc: "),
        ("cat --spill /tmp --when-full=drop-newest", "sluice: cat: --spill and --when-full=drop-newest do not go together: spill keeps every byte"),
    ])
    func badDirectories(_ args: String, _ message: String) throws {
        let r = try sh("echo x | \"$SLUICE\" \(args)")
        #expect(r.status != 0)
        #expect(r.stderr.hasPrefix(message), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }
}
