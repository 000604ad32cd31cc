#if canImport(SluiceCore)
import SluiceCore
#endif

extension StageHarness {
    /// `run` without threads, for fuzzers, which would otherwise pay two thread starts and
    /// a hand-off per chunk on every input. The input is queued whole, cut into
    /// `chunkSize` pieces, and closed before the stage starts, and the output channel's
    /// high-water mark is past anything a stage writes, so `StageLoop.run` — the loop
    /// production runs — never waits; the output is collected after it. Not for stages
    /// with threads of their own that need a reader while they run, nor for tests of
    /// backpressure: nothing ever waits here.
    public static func runOnOneThread(_ stage: any Stage, input: [UInt8], chunkSize: Int) -> Result {
        var stage = stage
        let pool = ChunkPool(chunkBytes: chunkSize, maxIdleChunks: 64)
        // Room for every input chunk: below the byte mark and below the chunk cap.
        let inBytes = input.count + chunkSize
        let inChannel = BoundedChannel(WaterMarks(highWaterMark: inBytes, lowWaterMark: inBytes / 2, chunkBytes: chunkSize),
                                       pool: pool)
        let outChannel = BoundedChannel(WaterMarks(highWaterMark: Int.max / 2, lowWaterMark: 0, chunkBytes: chunkSize),
                                        pool: pool)
        var offset = 0
        while offset < input.count {
            let chunk = pool.take()
            offset += input[offset...].prefix(chunkSize).withUnsafeBytes { chunk.append($0) }
            _ = inChannel.send(chunk)
        }
        inChannel.close(reason: .endOfInput)
        let end = StageLoop.run(&stage, input: inChannel, output: outChannel, pool: pool)
        var output: [UInt8] = []
        var largest = 0
        while case .chunk(let chunk) = outChannel.receive() {
            output.append(contentsOf: chunk.bytes)
            largest = max(largest, chunk.count)
            pool.recycle(chunk)
        }
        return Result(output: output, end: end, bytesSent: input.count, largestChunk: largest,
                      bytesSentWhileStalled: nil, verdict: stage.verdict)
    }
}
