import CZlib
import Glibc

// Used by the unit tests and the fuzz targets, so that both drive stages through the
// very loop production runs.

/// Runs one stage exactly as the pipeline does (`StageLoop.run` on a channel fed by a
/// producer thread and drained by a consumer thread), with input cut into `chunkSize`
/// pieces and output chunks of the same capacity.
public enum StageHarness {
    public struct Result: Sendable {
        public var output: [UInt8]
        public var end: StageEnd
        /// Bytes of input the feeder managed to send before the stage stopped reading.
        public var bytesSent: Int
        /// The largest output chunk seen.
        public var largestChunk: Int
    }

    /// `outputLimit`: the collector stops (and the stage sees its consumer go away) once
    /// it holds that many bytes, so a fuzzer's gzip bomb cannot exhaust memory.
    public static func run(_ stage: any Stage, input: [UInt8], chunkSize: Int,
                           highWaterMark: Int? = nil, outputLimit: Int = Int.max) -> Result {
        let hwm = highWaterMark ?? max(4 * chunkSize, 16)
        let pool = ChunkPool(chunkBytes: chunkSize, maxIdleChunks: 64)
        let source = NodeStats(name: "feeder"), node = NodeStats(name: "stage"), sink = NodeStats(name: "collector")
        let inChannel = BoundedChannel(highWaterMark: hwm, lowWaterMark: hwm / 2, chunkBytes: chunkSize,
                                       pool: pool, producer: source, consumer: node)
        let outChannel = BoundedChannel(highWaterMark: hwm, lowWaterMark: hwm / 2, chunkBytes: chunkSize,
                                        pool: pool, producer: node, consumer: sink)
        let box = Box()
        let feeder = Thread {
            var offset = 0
            while offset < input.count {
                let chunk = pool.take()
                let n = input[offset...].prefix(chunkSize).withUnsafeBytes { chunk.append($0) }
                offset += n
                if inChannel.send(chunk) == .closed { break }
                box.lock.withLock { box.sent = offset }
            }
            inChannel.finish()
        }
        let collector = Thread {
            var out: [UInt8] = []
            var largest = 0
            while let chunk = outChannel.receive() {
                out.append(contentsOf: chunk.bytes)
                largest = max(largest, chunk.count)
                pool.recycle(chunk)
                if out.count > outputLimit {
                    outChannel.cancel()
                    break
                }
            }
            box.lock.withLock { box.output = out; box.largest = largest }
        }
        var stage = stage
        let end = StageLoop.run(&stage, input: inChannel, output: outChannel, pool: pool)
        feeder.join()
        collector.join()
        return box.lock.withLock {
            Result(output: box.output, end: end, bytesSent: box.sent, largestChunk: box.largest)
        }
    }

    /// The chunk sizes every stage case runs at: boundaries break stream code.
    public static let chunkSizes = [1, 2, 3, 7, 4096, 65536]

    /// Runs a fresh stage from `make` at every size in `sizes`, and returns the
    /// results (callers assert they are all identical and right).
    public static func runAtAllSizes(_ input: [UInt8], sizes: [Int] = StageHarness.chunkSizes,
                                     _ make: () -> any Stage) -> [Int: Result] {
        var results: [Int: Result] = [:]
        for size in sizes { results[size] = run(make(), input: input, chunkSize: size) }
        return results
    }

    private final class Box: @unchecked Sendable {
        let lock = Lock()
        var output: [UInt8] = []
        var sent = 0
        var largest = 0
    }
}


/// Slow, obviously right models of what stages do, as oracles for tests and fuzzers.
public enum Reference {
    /// `grep -F` line by line: each line of `text` (the last one given a newline) that
    /// contains one of `patterns` (with -i, -x, -w as GNU grep reads them), or, with
    /// `invert`, that contains none; at most `max` lines.
    public static func grepFixed(_ text: [UInt8], _ patterns: [[UInt8]], invert: Bool = false,
                                 ignoreCase: Bool = false, line: Bool = false, word: Bool = false,
                                 max: Int? = nil) -> [UInt8] {
        var lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if text.last == 0x0A || text.isEmpty { lines.removeLast() }
        let fold = { (b: [UInt8]) in ignoreCase ? b.map(asciiLower) : b }
        var out: [UInt8] = []
        var selected = 0
        for l in lines {
            let t = fold(l)
            let hit = patterns.contains { matches(t, fold($0), line: line, word: word) }
            if hit != invert {
                if let max, selected == max { break }
                out += l + [0x0A]
                selected += 1
            }
        }
        return out
    }

    /// zlib's own decoding of `data` as one or more whole gzip members and nothing else
    /// (no padding, no trailing bytes); nil when zlib does not read it so, or when the
    /// output passes `limit` bytes.
    public static func gunzipMembers(_ data: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
        if data.isEmpty { return nil }
        var result: [UInt8] = []
        var rest = data[...]
        while !rest.isEmpty {
            var s = z_stream()
            guard sluice_inflateInit2(&s, 31) == Z_OK else { return nil }
            defer { inflateEnd(&s) }
            var input = Array(rest)
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var status: Int32 = Z_OK
            let consumed: Int = input.withUnsafeMutableBufferPointer { inp in
                s.next_in = inp.baseAddress
                s.avail_in = uInt(inp.count)
                while status == Z_OK && result.count <= limit {
                    buffer.withUnsafeMutableBufferPointer { b in
                        s.next_out = b.baseAddress
                        s.avail_out = uInt(b.count)
                        status = inflate(&s, Z_NO_FLUSH)
                    }
                    result += buffer.prefix(buffer.count - Int(s.avail_out))
                }
                return inp.count - Int(s.avail_in)
            }
            if status != Z_STREAM_END { return nil }
            rest = rest.dropFirst(consumed)
        }
        return result
    }

    private static func matches(_ t: [UInt8], _ p: [UInt8], line: Bool, word: Bool) -> Bool {
        if line { return t == p }
        if p.isEmpty && !word { return true }
        var i = 0
        while i + p.count <= t.count {
            if Array(t[i..<(i + p.count)]) == p {
                let before = i == 0 || !isWordByte(t[i - 1])
                let after = i + p.count == t.count || !isWordByte(t[i + p.count])
                if !word || (before && after) { return true }
            }
            i += 1
        }
        return false
    }
}
