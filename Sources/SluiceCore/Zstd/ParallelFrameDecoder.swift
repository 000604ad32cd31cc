import CZstd

// # Parallel unzstd, frame by frame
//
// zstd frames are independent: each can be decoded without the one before. But a frame's
// end is known only by following its blocks, so the stage's thread (the dispatcher) reads
// each frame's header, and for a frame that is eligible (a zstd frame whose window is at
// most `maxWindowBytes` and whose content, if its header states it, is at most
// `maxOutputBytes`; with no content size, a window of at most a quarter of that, as
// pzstd's level-3 frames have), it copies the frame into a job while a `BlockWalker`
// follows its blocks, and submits the job once the frame is whole. A thread decodes it
// with a streaming context of its own into chunks from the pool, at most
// `maxOutputBytes` of them; the dispatcher forwards those chunks in order through the
// stage's emitter. Frames one after another, as pzstd and `zstd -p` write them, are so
// decoded side by side; skippable frames (pzstd's size frames) go through the sequential
// decoder, which skips them, at no cost to the order.
//
// The threads only ever take the happy path, as for gunzip -p. A job whose frame did
// not decode exactly (libzstd's error, a content size that does not match, input left
// over or missing) is not reported by the worker: the dispatcher, on reaching it in
// order, reads that one frame again with the sequential decoder (`FrameDecoder`), which
// finds the error and names it as with -p 1: same message, same offset, same output
// before it; if the frame decodes there after all, the pool goes on with the jobs after
// it. A job whose output outgrew `maxOutputBytes` is a frame
// too large for a job, not an error: the sequential decoder reads that frame, and the
// jobs after it stay in the pool. A frame that is not eligible, that outgrows a job's
// input while it is collected, or that is cut short by a pause in the input (a live
// stream: its output must not wait for the frame's end) or by the end of input, is read
// by the sequential decoder once every job before it is written.
//
// The N threads are N - 1 workers and the dispatcher, which decodes the oldest queued
// job while it waits for the one it must write.
//
// Memory: `slotsPerThread × N` jobs, each with at most `maxInputBytes` of input and
// `maxOutputChunks` chunks of output, and N streaming contexts for a window of
// `maxWindowBytes` — besides the sequential decoder's own. A job's input and chunks are
// taken as the frame needs them (an 8 MiB slot holding a 1 MiB frame costs 1 MiB); a
// job is reused only once its output was written, and the dispatcher writes through the
// stage's emitter, which blocks while downstream is full, so a slow consumer stops it
// and the workers idle.

final class ParallelFrameDecoder: @unchecked Sendable {
    /// 8 MiB: the output a job may hold, the content of pzstd's frames at level 3 (four
    /// times its 2 MiB window) and twice `zstd -p`'s 4 MiB blocks.
    static let maxOutputBytes = 8 << 20
    /// A frame's compressed bytes a job may hold: its output and the block headers of
    /// incompressible data.
    static let maxInputBytes = maxOutputBytes + (64 << 10)
    /// The window a frame may have to be decoded here (each thread's context holds one).
    static let maxWindowBytes = UInt64(8 << 20)
    static let slotsPerThread = 2

    /// How a worker's decoding of a job ended.
    enum Outcome {
        /// Exactly one frame, all of the job's input, the content size its header states.
        case clean
        /// More output than a job holds: the sequential decoder reads the frame instead.
        case tooLarge
        /// Anything else: the sequential decoder reads the frame again, to name its error.
        case unclean
    }

    final class Job: PoolJob {
        /// The frame's bytes, from its first.
        var input: [UInt8] = []
        /// Its number (skippable frames count) and offset in the stream, for replaying.
        var frame = 0
        var start = 0
        /// The content size the header states, if it does.
        var contentBytes: UInt64?
        var chunks: [Chunk] = []
        var outcome = Outcome.unclean
        /// Never set: a job that did not decode is replayed, not failed.
        var failure: String? { nil }

        init() { input.reserveCapacity(ParallelFrameDecoder.maxInputBytes) }

        /// Ready to collect frame `frame` at `start`; any chunks left go back to `pool`.
        func reset(frame: Int, start: Int, contentBytes: UInt64?, pool: ChunkPool) {
            input.removeAll(keepingCapacity: true)
            (self.frame, self.start, self.contentBytes) = (frame, start, contentBytes)
            recycleChunks(into: pool)
            outcome = .unclean
        }

        func recycleChunks(into pool: ChunkPool) {
            for chunk in chunks { pool.recycle(chunk) }
            chunks.removeAll(keepingCapacity: true)
        }
    }

    /// One thread's decompression context; nil if libzstd could not make one.
    final class Worker {
        let decompressor: ZstdDecompressor?

        init() {
            let d = try? ZstdDecompressor()
            if let d, !Zstd.isError(ZSTD_DCtx_setMaxWindowSize(d.context, Int(ParallelFrameDecoder.maxWindowBytes))) {
                decompressor = d
            } else {
                decompressor = nil
            }
        }
    }

    private let pool: OrderedJobPool<Job, Worker>
    let chunkPool: ChunkPool

    /// The chunks a job's output may take: `maxOutputBytes` of them, and one more for the
    /// call that finds the frame's end with the last one full.
    static func maxOutputChunks(chunkBytes: Int) -> Int { (maxOutputBytes + chunkBytes - 1) / chunkBytes + 1 }

    /// The memory this holds for `threads` decoding threads, for the bound.
    static func heldBytes(threads: Int, chunkBytes: Int) -> Int {
        let chunks = maxOutputChunks(chunkBytes: chunkBytes) * (chunkBytes + Chunk.overheadBytes)
        return slotsPerThread * threads * (maxInputBytes + chunks + 4096)
            + threads * ZSTD_estimateDStreamSize(Int(maxWindowBytes))
    }

    /// The chunks jobs may hold at once, for the pool's sizing.
    static func heldChunks(threads: Int, chunkBytes: Int) -> Int {
        slotsPerThread * threads * maxOutputChunks(chunkBytes: chunkBytes)
    }

    /// Whether a frame with this header is decoded on the threads.
    static func isEligible(_ header: ZSTD_frameHeader) -> Bool {
        // A frame made with a dictionary is libzstd's to refuse, on the stage's thread.
        guard header.frameType == ZSTD_frame, header.windowSize <= maxWindowBytes, header.dictID == 0 else { return false }
        if header.frameContentSize == UInt64.max {  // ZSTD_CONTENTSIZE_UNKNOWN
            return header.windowSize <= UInt64(maxOutputBytes / 4)
        }
        return header.frameContentSize <= UInt64(maxOutputBytes)
    }

    /// - Parameter workers: threads besides the dispatcher (default `threads - 1`); with
    ///   0 the dispatcher decodes every job itself, as the fuzzer runs it.
    init(threads: Int, workers: Int? = nil, chunkPool: ChunkPool) {
        self.chunkPool = chunkPool
        let maxChunks = Self.maxOutputChunks(chunkBytes: chunkPool.chunkBytes)
        pool = OrderedJobPool(slots: (0..<(Self.slotsPerThread * threads)).map { _ in Job() },
                              workers: workers ?? threads - 1, dispatcherHelps: true,
                              makeWorker: { Worker() },
                              run: { job, worker in Self.decode(job, with: worker, pool: chunkPool, maxChunks: maxChunks) })
    }

    // MARK: Dispatcher

    /// The job to collect into, or nil while every slot is in flight.
    var filling: Job? { pool.filling }
    var hasJobs: Bool { pool.hasJobs }

    func submit() { pool.submit() }

    /// The oldest job in flight once it is done (waiting for it if `waiting`).
    func oldest(waiting: Bool) -> Job? { pool.oldest(waiting: waiting) }

    /// The oldest job was written: its slot is free.
    func release() {
        // Jobs never fail, so this never throws but for a stop, which ends the stage anyway.
        try? pool.release()
    }

    /// Stops the pool and returns the jobs in flight, oldest first, for the sequential
    /// decoder.
    func abandon() -> [Job] { pool.abandon() }

    func stop() { pool.stop() }

    // MARK: Any thread

    /// Decodes a job's frame into chunks from `pool`, at most `maxChunks`; on the thread
    /// that took it.
    private static func decode(_ job: Job, with worker: Worker, pool: ChunkPool, maxChunks: Int) {
        job.outcome = .unclean
        guard let context = worker.decompressor?.context else { return }
        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        var produced: UInt64 = 0
        job.outcome = job.input.withUnsafeBytes { bytes in
            var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
            var chunk = pool.take()
            defer { if chunk.count > 0 { job.chunks.append(chunk) } else { pool.recycle(chunk) } }
            while true {
                let space = chunk.freeSpace
                var output = ZSTD_outBuffer(dst: space.baseAddress, size: space.count, pos: 0)
                let r = ZSTD_decompressStream(context, &output, &input)
                chunk.count += output.pos
                produced += UInt64(output.pos)
                if Zstd.isError(r) { return .unclean }
                if r == 0 {
                    // One frame, all of the input, as long as its header says.
                    guard input.pos == input.size, job.contentBytes.map({ $0 == produced }) ?? true else { return .unclean }
                    return .clean
                }
                if chunk.isFull {
                    job.chunks.append(chunk)
                    chunk = pool.take()
                    if job.chunks.count == maxChunks { return .tooLarge }
                } else if input.pos == input.size {
                    return .unclean  // the frame goes on past the job's bytes
                }
            }
        }
    }
}
