import Glibc
@testable import SluiceCore

/// The chunk sizes every stage case runs at: boundaries break stream code.
let chunkSizes = [1, 2, 3, 7, 4096, 65536]

/// Runs one stage exactly as the pipeline does (`StageLoop.run` on a channel fed by a
/// producer thread and drained by a consumer thread), with input cut into `chunkSize`
/// pieces and output chunks of the same capacity.
struct StageHarness {
    struct Result {
        var output: [UInt8]
        var end: StageEnd
        /// Bytes of input the feeder managed to send before the stage stopped reading.
        var bytesSent: Int
        /// The largest output chunk seen.
        var largestChunk: Int
    }

    static func run(_ stage: any Stage, input: [UInt8], chunkSize: Int,
                    highWaterMark: Int? = nil) -> Result {
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

    /// Runs a fresh stage from `make` at every size in `chunkSizes`, and returns the
    /// results (callers assert they are all identical and right).
    static func runAtAllSizes(_ input: [UInt8], _ make: () -> any Stage) -> [Int: Result] {
        var results: [Int: Result] = [:]
        for size in chunkSizes { results[size] = run(make(), input: input, chunkSize: size) }
        return results
    }

    private final class Box: @unchecked Sendable {
        let lock = Lock()
        var output: [UInt8] = []
        var sent = 0
        var largest = 0
    }
}

extension Array where Element == UInt8 {
    init(_ s: String) { self = Array(s.utf8) }
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E3779B97F4A7C15) -> [UInt8] {
    var x = seed
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out[i] = UInt8(truncatingIfNeeded: x)
    }
    return out
}
