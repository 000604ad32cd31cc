import CZlib
import Glibc

// # Parallel gzip, as pigz does it
//
// The stage's thread (the dispatcher) copies its input into blocks of `blockBytes`. Each
// block is a job for one of N threads, which compresses it with raw deflate,
// primed with the last 32 KiB of the block before (`deflateSetDictionary`, skipped with
// --independent), and ends it with a sync flush (the last block: finish), so the pieces
// concatenate into one deflate stream; the worker also takes the block's CRC-32. The
// dispatcher writes the pieces out in order between a gzip header and a trailer whose
// CRC is combined from the blocks' (`crc32_combine`) and whose length is the total.
//
// The N threads are N - 1 workers and the dispatcher: when every slot is in flight, or
// everything must be written, and the oldest block is not done, the dispatcher takes the
// oldest queued block and compresses it on its own stream rather than sleep until the
// oldest is done (as `gunzip -p` decodes). On 64 MiB of text through `| cat`, medians of
// interleaved runs: `--bgzf -p 2` (64 KiB blocks, so twice the hand-overs) 0.766 s
// instead of 0.803 s; `-6 -p 2` 0.895 s instead of 0.902 s. With one thread (`--bgzf
// -p 1`) one worker compresses, so that whole blocks go out as they fill, and the
// dispatcher only waits.
//
// Memory: `2N` job slots, each with an input block, a 32 KiB dictionary and an output
// buffer of deflateBound(block), plus N zlib states (one worker's and none of the
// dispatcher's with N = 1) — fixed when the stage starts,
// whatever the input size. A slot is reused only after its output was written, and the
// dispatcher writes through the stage's emitter, which blocks while downstream is full:
// so a slow consumer stops the dispatcher, the slots stay full, and the workers idle —
// finished blocks never pile up.
//
// BGZF (`gzip --bgzf`): every block is 65280 bytes of input made into a gzip member of
// its own (header with its size in a `BC` subfield, raw deflate ended with finish, CRC-32
// and length), with no priming, and the stream ends with BGZF's empty member; the
// dispatcher writes the members as they come. The workers do the whole member.
//
// The slots, the threads, the helping, the order and the hand-overs are the ordered job
// pool's (`Engine/OrderedJobPool.swift`). The block before a job is read (for its
// dictionary) only by the dispatcher, while filling: it is in flight or written, and its
// slot is not the one being filled (there are at least two).

final class ParallelDeflater: @unchecked Sendable {
    /// 32 KiB: deflate's window, the most of the previous block a dictionary can use.
    static let dictionaryBytes = 32 << 10

    /// One block: what a job of the pool holds.
    final class Job: PoolJob {
        let input: UnsafeMutableRawPointer
        var inputCount = 0
        let dictionary: UnsafeMutableRawPointer
        var dictionaryCount = 0
        var output: UnsafeMutableRawPointer
        var outputCapacity: Int
        var outputCount = 0
        var crc: UInt32 = 0
        var isLast = false
        /// The level this block is compressed at (`--adapt` changes it between blocks).
        var level = 6
        var failure: String?

        init(blockBytes: Int, outputBytes: Int) {
            input = .allocate(byteCount: blockBytes, alignment: 64)
            dictionary = .allocate(byteCount: ParallelDeflater.dictionaryBytes, alignment: 64)
            output = .allocate(byteCount: outputBytes, alignment: 64)
            outputCapacity = outputBytes
        }

        deinit {
            input.deallocate()
            dictionary.deallocate()
            output.deallocate()
        }
    }

    /// One thread's raw deflate stream and the level it is set to; `stream` is nil if
    /// zlib could not make one.
    final class Stream {
        private let z: ZStream?
        var stream: UnsafeMutablePointer<z_stream>? { z?.pointer }
        var level: Int

        init(level: Int) {
            self.level = level
            let z = ZStream(.deflate)
            z.isActive = sluice_deflateInit2(z.pointer, Int32(level), Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK
            self.z = z.isActive ? z : nil
        }

        /// `--adapt` moved the level: right after deflateReset no input is pending, so
        /// deflateParams only sets it.
        func setLevel(_ level: Int) {
            guard let stream, level != self.level else { return }
            deflateReset(stream)
            deflateParams(stream, Int32(level), Z_DEFAULT_STRATEGY)
            self.level = level
        }
    }

    /// The level of the blocks submitted from now on; the dispatcher's (`--adapt`).
    var level: Int
    /// The level of the first block, for the header's XFL.
    private let headerLevel: Int
    /// Told each block's level and input size as it is submitted (the stats' level_bytes).
    var onSubmit: ((_ level: Int, _ bytes: Int) -> Void)?
    let blockBytes: Int
    let isIndependent: Bool
    /// Each block is a BGZF member; `blockBytes` is `BGZF.blockInputBytes`.
    let isBGZF: Bool
    /// `2N` blocks; N threads compress: N - 1 workers and the dispatcher (one worker with N = 1).
    private let pool: OrderedJobPool<Job, Stream>

    // Dispatcher state (the stage's thread only).
    private var filling: Job?
    /// The block submitted last, whose end primes the next one.
    private var previous: Job?
    private var combinedCRC: UInt32 = 0
    private var totalLength: UInt64 = 0
    private var isHeaderWritten = false

    /// Slots per compressing thread: one being compressed, one written or filled.
    static let slotsPerThread = 2

    /// What one job holds: its block, its dictionary, its output (deflateBound of a block,
    /// about a block) and bookkeeping.
    static func jobBytes(blockBytes: Int) -> Int { 2 * blockBytes + dictionaryBytes + 4096 }

    /// The memory this holds for `threads` compressing threads (N - 1 workers and the
    /// dispatcher, a zlib state each; one worker's with N = 1), for the bound.
    static func heldBytes(threads: Int, blockBytes: Int) -> Int {
        slotsPerThread * threads * jobBytes(blockBytes: blockBytes) + threads * Deflater.heldBytes
    }

    init(level: Int, threads: Int, blockBytes: Int, isIndependent: Bool, isBGZF: Bool = false) {
        self.level = level
        self.headerLevel = level
        self.blockBytes = isBGZF ? BGZF.blockInputBytes : blockBytes
        self.isIndependent = isIndependent || isBGZF
        self.isBGZF = isBGZF
        let bound = ParallelDeflater.outputBound(level: level, blockBytes: self.blockBytes)
            + (isBGZF ? BGZF.headerBytes + BGZF.trailerBytes : 0)
        let slots = (0..<(Self.slotsPerThread * threads)).map { _ in Job(blockBytes: blockBytes, outputBytes: bound) }
        pool = OrderedJobPool(slots: slots, workers: max(1, threads - 1), dispatcherHelps: threads > 1,
                              makeWorker: { Stream(level: level) },
                              run: { job, stream in ParallelDeflater.compress(job, with: stream, isBGZF: isBGZF) })
    }

    /// deflateBound for one block, plus room for a sync flush's empty stored block.
    private static func outputBound(level: Int, blockBytes: Int) -> Int {
        var s = z_stream()
        guard sluice_deflateInit2(&s, Int32(level), Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
            return blockBytes + blockBytes / 8 + 1024
        }
        defer { deflateEnd(&s) }
        return Int(deflateBound(&s, uLong(blockBytes))) + 64
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
            if job.inputCount == blockBytes { submit(job, isLast: false) }
        }
        try writeFinished(waiting: false, into: &out)
    }

    /// The input went quiet: the block being filled goes out now, short (ended with a
    /// sync flush, as every block is), and every block submitted is written, so all the
    /// input so far can be decoded downstream. The next block is primed from this one.
    func flushPartialBlock(into out: inout Emitter) throws(StageError) {
        if let filling, filling.inputCount > 0 { submit(filling, isLast: false) }
        try writeFinished(waiting: true, into: &out)
    }

    /// End of input: the last block (empty for empty input) with finish, every block
    /// out, then the trailer; for BGZF, the last block if it holds anything, then the
    /// end-of-file member.
    func finish(into out: inout Emitter) throws(StageError) {
        let job = try fillingJob(&out)
        if isBGZF {
            if job.inputCount > 0 { submit(job, isLast: true) }
            try writeFinished(waiting: true, into: &out)
            try out.write(BGZF.endOfFile)
            return
        }
        submit(job, isLast: true)
        try writeFinished(waiting: true, into: &out)
        try out.write(GzipMember.trailer(crc: combinedCRC, length: totalLength))
    }

    /// Writes out the blocks that are done, in order; waits for them when `waiting`.
    func writeFinished(waiting: Bool, into out: inout Emitter) throws(StageError) {
        while let job = pool.oldest(waiting: waiting) { try write(job, into: &out) }
    }

    /// The job being filled, taking the next slot (and writing out the block that held
    /// it, waiting if needed) when there is none; its dictionary is the end of the block
    /// before it.
    private func fillingJob(_ out: inout Emitter) throws(StageError) -> Job {
        if let filling { return filling }
        while pool.filling == nil {
            guard let oldest = pool.oldest(waiting: true) else { throw pool.stopError ?? .downstreamClosed }
            try write(oldest, into: &out)
        }
        let job = pool.filling!
        job.inputCount = 0
        job.dictionaryCount = 0
        if let previous, !isIndependent {
            let n = min(ParallelDeflater.dictionaryBytes, previous.inputCount)
            memcpy(job.dictionary, previous.input + previous.inputCount - n, n)
            job.dictionaryCount = n
        }
        filling = job
        return job
    }

    private func submit(_ job: Job, isLast: Bool) {
        job.isLast = isLast
        job.level = level
        job.failure = nil
        onSubmit?(level, job.inputCount)
        filling = nil
        previous = job
        pool.submit()
    }

    /// A block's output (none for a block that failed: the pool then throws its failure).
    private func write(_ job: Job, into out: inout Emitter) throws(StageError) {
        if job.failure == nil {
            if !isHeaderWritten && !isBGZF {
                try out.write(GzipMember.header(level: headerLevel))
                isHeaderWritten = true
            }
            try out.write(UnsafeRawBufferPointer(start: job.output, count: job.outputCount))
            combinedCRC = UInt32(crc32_combine(uLong(combinedCRC), uLong(job.crc), off_t(job.inputCount)))
            totalLength &+= UInt64(job.inputCount)
        }
        try pool.release()
    }

    // MARK: Any thread

    /// One block: raw deflate primed with its dictionary, ended with a sync flush (or
    /// finish), and its CRC-32. On the thread that took it from the pool.
    private static func compress(_ job: Job, with worker: Stream, isBGZF: Bool) {
        guard let z = worker.stream else {
            job.failure = "cannot start zlib's deflate: out of memory"
            return
        }
        worker.setLevel(job.level)
        compress(job, with: &z.pointee, isBGZF: isBGZF)
    }

    private static func compress(_ job: Job, with stream: inout z_stream, isBGZF: Bool) {
        deflateReset(&stream)
        if job.dictionaryCount > 0 {
            deflateSetDictionary(&stream, job.dictionary.assumingMemoryBound(to: Bytef.self), uInt(job.dictionaryCount))
        }
        stream.next_in = job.input.assumingMemoryBound(to: Bytef.self)
        stream.avail_in = uInt(job.inputCount)
        job.outputCount = isBGZF ? BGZF.headerBytes : 0
        let flush = job.isLast || isBGZF ? Z_FINISH : Z_SYNC_FLUSH
        while true {
            stream.next_out = (job.output + job.outputCount).assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(job.outputCapacity - job.outputCount)
            let r = deflate(&stream, flush)
            job.outputCount = job.outputCapacity - Int(stream.avail_out)
            if r == Z_STREAM_ERROR {
                job.failure = "zlib's deflate failed"
                break
            }
            let isComplete = flush == Z_FINISH ? r == Z_STREAM_END : stream.avail_out > 0
            if isComplete { break }
            // deflateBound should make this unreachable; grow rather than fail.
            let grown = UnsafeMutableRawPointer.allocate(byteCount: job.outputCapacity * 2, alignment: 64)
            memcpy(grown, job.output, job.outputCount)
            job.output.deallocate()
            job.output = grown
            job.outputCapacity *= 2
        }
        job.crc = crc32(0, UnsafeRawBufferPointer(start: job.input, count: job.inputCount))
        if isBGZF && job.failure == nil { wrapMember(job) }
    }

    /// Around a BGZF block's deflate data (`outputCount` bytes from `headerBytes`): the
    /// header with the member's size, and the trailer.
    private static func wrapMember(_ job: Job) {
        let trailer = GzipMember.trailer(crc: job.crc, length: UInt64(job.inputCount))
        let memberBytes = job.outputCount + BGZF.trailerBytes
        // deflateBound(65280) + 26 is under 64 KiB at every level, so this cannot happen.
        guard memberBytes <= BGZF.maxMemberBytes, memberBytes <= job.outputCapacity else {
            job.failure = "a BGZF block came out larger than 64 KiB"
            return
        }
        trailer.withUnsafeBytes { (job.output + job.outputCount).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        BGZF.header(memberBytes: memberBytes).withUnsafeBytes {
            job.output.copyMemory(from: $0.baseAddress!, byteCount: $0.count)
        }
        job.outputCount = memberBytes
    }

    /// Stops the workers and waits for them; jobs still queued are dropped.
    func stop() {
        pool.stop()
    }
}
