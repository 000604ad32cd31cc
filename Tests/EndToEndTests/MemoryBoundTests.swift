import Foundation
import Testing

/// Memory follows what is buffered, never the configured maximum, and stays under the
/// bound `--stats=json` states, whatever the chunk size and high-water mark.
@Suite struct MemoryBoundTests {
    static let chunks = ["1", "7", "4K", "128K"]
    static let marks = ["64K", "64M", "1T"]

    /// A tiny input through buffers of any size: nothing is buffered, so the run needs
    /// what `cat` would, whatever the maximum.
    @Test(arguments: chunks, marks)
    func memoryFollowsWhatIsBuffered(_ chunk: String, _ hwm: String) throws {
        let r = try sh("""
            printf 'hello\\n' | "$SLUICE" --stats=json --chunk \(chunk) --hwm \(hwm) cat + buffer \(hwm) 2>&1 > /dev/null
            """)
        let report = try statsJSON(r.text)
        let rss = report["peak_rss_bytes"] as? Int ?? 0
        let bound = report["memory_bound_bytes"] as? Int ?? 0
        #expect(rssWithin(rss, bound), "chunk \(chunk), hwm \(hwm): peak RSS \(rss) over the bound \(bound)")
        #expect(rssWithin(rss, 16 << 20), "chunk \(chunk), hwm \(hwm): peak RSS \(rss)")
    }

    /// An input that, held whole in chunks, would take twice the stated bound, into a
    /// consumer that starts late, so that the buffers fill as far as they may: the peak
    /// RSS stays under the bound. (N bytes in chunks of C take N (C + 192) / C, 192 being
    /// `Chunk.overheadBytes`.) The buffer is sized so that it states some 16 MiB, twice
    /// the base's slack, so a buffer that held more than the bound says shows; at chunk 1,
    /// where each byte costs 193, the reader is not fast enough to fill more.
    @Test(arguments: [("1", "64K"), ("7", "512K"), ("4K", "16M"), ("128K", "16M")])
    func peakRSSStaysUnderTheStatedBound(_ chunk: String, _ buffer: String) throws {
        let options = "--stats=json --pipe-size 0 --chunk \(chunk) --hwm 64K cat + buffer \(buffer)"
        let stated = try statsJSON(try sh("printf x | \"$SLUICE\" \(options) 2>&1 > /dev/null").text)
        let bound = try #require(stated["memory_bound_bytes"] as? Int)
        let chunkBytes = try #require(stated["chunk_bytes"] as? Int)
        let inputBytes = 2 * bound / (chunkBytes + 192) * chunkBytes
        let r = try sh("""
            head -c \(inputBytes) /dev/urandom > $T/large
            "$SLUICE" \(options) < $T/large 2> $T/large.json | { sleep 0.3; cat > /dev/null; }
            cat $T/large.json
            """, timeout: 300)
        let report = try statsJSON(r.text)
        #expect(report["memory_bound_bytes"] as? Int == bound)
        let stages = report["stages"] as? [[String: Any]] ?? []
        #expect(stages.last?["bytes_in"] as? Int == inputBytes, "\(r.stderr)")
        let rss = report["peak_rss_bytes"] as? Int ?? 0
        #expect(rssWithin(rss, bound), "chunk \(chunk), buffer \(buffer): \(inputBytes) bytes in: peak RSS \(rss) over the bound \(bound)")
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
