import CZstd
import Glibc

// # Parallel zstd, as pzstd does it
//
// The stage's thread (the dispatcher) copies its input into blocks of `blockBytes`. Each
// block is a job of the ordered job pool: a thread makes it into a zstd frame of its own
// (`ZSTD_compress2`, so the frame's header gives its content size and a decoder needs a
// window of at most the block), preceded by a 12-byte skippable frame that gives the
// frame's compressed size, exactly as pzstd writes its output. So any zstd decoder reads
// the stream as one (skippable frames are skipped), and `pzstd -d` or `unzstd -p` can
// decode its frames side by side. The dispatcher writes the pieces out in order.
//
// Independent frames cost some ratio (each starts with no history: +0.9% at level 3 in
// 4 MiB blocks, measured in the stage's note), and buy parallel decoding and memory
// that the block bounds. libzstd's own workers (`ZSTD_c_nbWorkers`) would make one
// frame that decodes on one thread only, with buffers that libzstd sizes and sluice
// could not bound or state.
//
// The N threads are N - 1 workers and the dispatcher, which compresses the oldest
// queued block itself while it waits (as gzip -p).
//
// Memory: `2N` job slots, each an input block and an output of ZSTD_compressBound of a
// block plus the size frame, and N compression contexts for a frame of a block's size
// (libzstd's estimate) — fixed when the stage starts, whatever the input. The dispatcher
// writes through the stage's emitter, which blocks while downstream is full, so a slow
// consumer stops it, the slots stay full and the workers idle.

final class ParallelZstdEncoder: @unchecked Sendable {
    /// The skippable frame before each frame: magic 0x184D2A50, size 4, and the frame's
    /// compressed size as 32 bits (pzstd's own).
    static let sizeFrameBytes = 12

    /// One block: what a job of the pool holds.
    final class Job: PoolJob {
        let input: UnsafeMutableRawPointer
        var inputCount = 0
        let output: UnsafeMutableRawPointer
        let outputCapacity: Int
        var outputCount = 0
        /// The level this block is compressed at (`--adapt` changes it between blocks).
        var level = Zstd.defaultLevel
        var failure: String?

        init(blockBytes: Int, outputBytes: Int) {
            input = .allocate(byteCount: blockBytes, alignment: 64)
            output = .allocate(byteCount: outputBytes, alignment: 64)
            outputCapacity = outputBytes
        }

        deinit {
            input.deallocate()
            output.deallocate()
        }
    }

    /// One thread's compression context, made with the stage's parameters; nil if
    /// libzstd could not make one.
    final class Worker {
        let compressor: ZstdCompressor?
        private var level: Int

        init(_ parameters: ZstdParameters) {
            level = parameters.level
            let compressor = try? ZstdCompressor()
            if let compressor, (try? parameters.apply(to: compressor)) != nil {
                self.compressor = compressor
            } else {
                self.compressor = nil
            }
        }

        /// `--adapt` moved the level: set between frames.
        func setLevel(_ level: Int) throws(StageError) {
            guard level != self.level, let compressor else { return }
            try compressor.set(ZSTD_c_compressionLevel, level)
            self.level = level
        }
    }

    /// The level of the blocks submitted from now on; the dispatcher's (`--adapt`).
    var level: Int
    /// Told each block's level and input size as it is submitted (the stats' level_bytes).
    var onSubmit: ((_ level: Int, _ bytes: Int) -> Void)?
    let blockBytes: Int
    private let pool: OrderedJobPool<Job, Worker>

    // Dispatcher state (the stage's thread only).
    private var filling: Job?
    private var hasSubmitted = false

    /// Slots per compressing thread: one being compressed, one written or filled.
    static let slotsPerThread = 2

    /// What one job holds: its block, its output and bookkeeping.
    static func jobBytes(blockBytes: Int) -> Int {
        blockBytes + ZSTD_compressBound(blockBytes) + sizeFrameBytes + 4096
    }

    /// The memory this holds for `threads` compressing threads, for the bound: the slots,
    /// and a context each for a frame of one block.
    static func heldBytes(threads: Int, blockBytes: Int, parameters: ZstdParameters) -> Int {
        slotsPerThread * threads * jobBytes(blockBytes: blockBytes)
            + threads * parameters.heldBytes(sourceBytes: blockBytes)
    }

    init(parameters: ZstdParameters, threads: Int, blockBytes: Int) {
        level = parameters.level
        self.blockBytes = blockBytes
        let bound = ZSTD_compressBound(blockBytes) + Self.sizeFrameBytes
        let slots = (0..<(Self.slotsPerThread * threads)).map { _ in Job(blockBytes: blockBytes, outputBytes: bound) }
        pool = OrderedJobPool(slots: slots, workers: max(1, threads - 1), dispatcherHelps: threads > 1,
                              makeWorker: { Worker(parameters) },
                              run: { job, worker in ParallelZstdEncoder.compress(job, with: worker) })
    }

    // MARK: Dispatcher

    /// Takes `bytes` into blocks, submitting each block as it fills and writing finished
    /// blocks out in order.
    func compress(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
        var rest = bytes
        while !rest.isEmpty {
            let job = try fillingJob(&out)
            let n = min(rest.count, blockBytes - job.inputCount)
            memcpy(job.input + job.inputCount, rest.baseAddress!, n)
            job.inputCount += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if job.inputCount == blockBytes { submit(job) }
        }
        try writeFinished(waiting: false, into: &out)
    }

    /// The input went quiet: the block being filled goes out now as a short frame, and
    /// every block submitted is written, so all the input so far decodes downstream.
    func flushPartialBlock(into out: inout Emitter) throws(StageError) {
        if let filling, filling.inputCount > 0 { submit(filling) }
        try writeFinished(waiting: true, into: &out)
    }

    /// End of input: the last block (an empty frame for empty input, as zstd writes),
    /// then every block out.
    func finish(into out: inout Emitter) throws(StageError) {
        let job = try fillingJob(&out)
        if job.inputCount > 0 || !hasSubmitted { submit(job) }
        try writeFinished(waiting: true, into: &out)
    }

    /// Writes out the blocks that are done, in order; waits for them when `waiting`.
    func writeFinished(waiting: Bool, into out: inout Emitter) throws(StageError) {
        while let job = pool.oldest(waiting: waiting) { try write(job, into: &out) }
    }

    /// The job being filled, taking the next slot (and writing out the block that held
    /// it, waiting if needed) when there is none.
    private func fillingJob(_ out: inout Emitter) throws(StageError) -> Job {
        if let filling { return filling }
        while pool.filling == nil {
            guard let oldest = pool.oldest(waiting: true) else { throw pool.stopError ?? .downstreamClosed }
            try write(oldest, into: &out)
        }
        let job = pool.filling!
        job.inputCount = 0
        filling = job
        return job
    }

    private func submit(_ job: Job) {
        job.level = level
        job.failure = nil
        onSubmit?(level, job.inputCount)
        filling = nil
        hasSubmitted = true
        pool.submit()
    }

    /// A block's frames (none for a block that failed: the pool then throws its failure).
    private func write(_ job: Job, into out: inout Emitter) throws(StageError) {
        if job.failure == nil {
            try out.write(UnsafeRawBufferPointer(start: job.output, count: job.outputCount))
        }
        try pool.release()
    }

    // MARK: Any thread

    /// One block into its size frame and its frame, on the thread that took it.
    private static func compress(_ job: Job, with worker: Worker) {
        guard let compressor = worker.compressor else {
            job.failure = "cannot start libzstd's compressor"
            return
        }
        do throws(StageError) { try worker.setLevel(job.level) } catch {
            job.failure = error.message
            return
        }
        let n = ZSTD_compress2(compressor.context, job.output + sizeFrameBytes, job.outputCapacity - sizeFrameBytes,
                               job.input, job.inputCount)
        if Zstd.isError(n) {
            job.failure = "libzstd's compression failed: \(Zstd.errorName(n))"
            return
        }
        let size = UInt32(n)
        let header: [UInt8] = [0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0] + (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) }
        header.withUnsafeBytes { job.output.copyMemory(from: $0.baseAddress!, byteCount: sizeFrameBytes) }
        job.outputCount = sizeFrameBytes + n
    }

    /// Stops the workers and waits for them; jobs still queued are dropped.
    func stop() {
        pool.stop()
    }
}
