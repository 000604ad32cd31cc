import Foundation
import Testing

/// Memory follows what is buffered, never the configured maximum, and stays under the
/// bound `--stats=json` states, whatever the chunk size and high-water mark: over a grid
/// of `--chunk` × `--hwm`, on a tiny input and on one large enough to fill small buffers,
/// through a consumer that starts late, so that buffers fill as far as they may.
@Suite struct MemoryBoundTests {
    static let chunks = ["1", "7", "4K", "128K"]
    static let marks = ["64K", "64M", "1T"]

    @Test(arguments: chunks, marks)
    func peakRSSStaysUnderTheStatedBound(_ chunk: String, _ hwm: String) throws {
        let r = try sh("""
            printf 'hello\\n' | "$SLUICE" --stats=json --chunk \(chunk) --hwm \(hwm) cat 2> $T/tiny > /dev/null
            head -c 1M /dev/urandom > $T/large
            "$SLUICE" --stats=json --pipe-size 0 --chunk \(chunk) --hwm \(hwm) cat + buffer 1T < $T/large 2> $T/large.json \\
                | { sleep 0.3; cat > /dev/null; }
            cat $T/tiny $T/large.json
            """, timeout: 300)
        let reports = r.text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(reports.count == 2, "\(r.stderr)")
        for (name, report) in zip(["tiny", "large"], reports) {
            let rss = report["peak_rss_bytes"] as? Int ?? 0
            let bound = report["memory_bound_bytes"] as? Int ?? 0
            #expect(rssWithin(rss, bound), "\(name): chunk \(chunk), hwm \(hwm): peak RSS \(rss) over the bound \(bound)")
            if name == "tiny" {
                // Nothing is buffered: the run needs what `cat` would, whatever the maximum.
                #expect(rssWithin(rss, 16 << 20), "tiny: chunk \(chunk), hwm \(hwm): peak RSS \(rss)")
            }
        }
    }

    /// grep's lazy DFA holds a cache of 2 MiB, in the bound for a regex and not for one
    /// fixed string; a pattern whose states keep filling it (`e` then 14 bytes then `x`, a
    /// state per subset of recent positions) stays under the bound.
    @Test func grepCountsItsAutomatonCache() throws {
        let r = try sh("""
            python3 -c "import random; random.seed(1); print('\\n'.join(''.join(random.choice('ex') for _ in range(random.randint(5, 60))) for _ in range(60000)))" > $T/ex
            "$SLUICE" --stats=json grep -E 'e.{14}x' < $T/ex 2> $T/dfa.json > /dev/null
            "$SLUICE" --stats=json grep -F e < $T/ex 2> $T/fixed.json > /dev/null
            cat $T/dfa.json $T/fixed.json
            """, timeout: 120)
        let reports = r.text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        try #require(reports.count == 2, "\(r.stderr)")
        let bound = reports[0]["memory_bound_bytes"] as? Int ?? 0
        #expect(bound - (reports[1]["memory_bound_bytes"] as? Int ?? 0) == 2 << 20)
        let rss = reports[0]["peak_rss_bytes"] as? Int ?? 0
        #expect(rssWithin(rss, bound), "peak RSS \(rss) over the bound \(bound)")
    }
}
