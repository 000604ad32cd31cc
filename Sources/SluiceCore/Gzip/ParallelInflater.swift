import CZlib
import Glibc

// # Parallel gunzip, for members whose size is known
//
// A gzip member can only be found by decoding the one before it — unless its header
// says how long it is, as every BGZF member's `BC` subfield does. The stage's thread
// (the dispatcher) reads the first bytes of each member; when they give its size, and
// the member is at most 64 KiB, it copies the whole member into a job slot and submits
// it to one of N worker threads, then goes on to the next member without decoding this
// one. A worker decodes a job on its own zlib stream, in one call, into the slot's
// output buffer, and vouches for it only if it is exactly one clean member: the header
// parses, the deflate data ends exactly at the trailer, and the length and CRC-32 match.
// The dispatcher writes finished jobs out in order through the stage's emitter.
//
// A job the worker cannot vouch for (damaged data, a wrong CRC, output larger than its
// trailer says) is not reported by the worker: the dispatcher, on reaching it in order,
// hands that member and every byte after it to the sequential decoder, which finds the
// error and names it as it always has — same message, same offset, same bytes written
// before it. Parallel decoding only ever takes the happy path.
//
// Output: with chunks of 64 KiB + 1 to 256 KiB (the default is 128 KiB), a worker
// inflates straight into a chunk from the pool, which the dispatcher forwards whole;
// with other chunk sizes, into a buffer of the slot's own, which the dispatcher copies
// out.
//
// Memory: `slotsPerThread × N` slots, each with 64 KiB of input and a chunk (or 64 KiB
// and a byte) of output, and N inflate states — fixed when the stage starts. A slot is reused only
// after its output was written, and the dispatcher writes through the stage's emitter,
// which blocks while downstream is full, so a slow consumer stops the dispatcher and
// the workers idle: at most `slotsPerThread × N` members are in flight, whatever the
// input.
//
// Ownership: a job is the dispatcher's while `idle` (it fills it) and once `done` (it
// writes it out), a worker's while `working`; `state` changes under `lock`. Wake-ups
// are signalled after the lock is released: a thread woken under it would only block
// on it.

final class ParallelInflater: @unchecked Sendable {
    /// 64 KiB: the most a member may be, compressed or not, to be decoded here (a BGZF
    /// block's bound both ways).
    static let memberBytes = BGZF.maxMemberBytes
    /// 4: enough members queued that a worker never waits for the dispatcher, measured on
    /// `bgzip` output (2 left the workers idle a tenth of the time).
    static let slotsPerThread = 4

    final class Job: QueuedJob {
        typealias State = JobState
        /// The member's compressed bytes, `inputCount` of them.
        let input: UnsafeMutableRawPointer
        var inputCount = 0
        /// While filling: how many bytes the dispatcher needs before it looks again.
        var wantedCount = 12
        /// The decoded bytes, `outputCount` of them, in `chunk` if the slot decodes into
        /// pool chunks, else in a buffer of `memberBytes + 1` (so that output longer than
        /// any eligible member shows), allocated on first use.
        private(set) var output: UnsafeMutableRawPointer?
        var outputCount = 0
        /// The chunk decoded into; taken by the dispatcher to forward it.
        var chunk: Chunk?
        /// The worker decoded exactly one good member.
        var isClean = false
        /// The member's 1-based number and the offset of its first byte in the input.
        var member = 0
        var start = 0
        /// Submission order, for the workers to take the oldest first.
        var sequence = 0
        /// Protected by the inflater's `lock`.
        var state = State.idle

        init() {
            input = .allocate(byteCount: ParallelInflater.memberBytes, alignment: 64)
        }

        deinit {
            input.deallocate()
            output?.deallocate()
        }

        /// Where the worker inflates to: a chunk from `pool`, or the slot's own buffer.
        func outputSpace(from pool: ChunkPool?) -> UnsafeMutableRawPointer {
            if let pool {
                let chunk = self.chunk ?? pool.take()
                self.chunk = chunk
                return chunk.base
            }
            if output == nil { output = .allocate(byteCount: ParallelInflater.memberBytes + 1, alignment: 64) }
            return output!
        }

        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: input, count: inputCount) }

        /// The trailer's ISIZE (the member must be whole).
        var storedLength: UInt32 { UInt32(littleEndianAt: input + inputCount - 4) }
        var storedCRC: UInt32 { UInt32(littleEndianAt: input + inputCount - 8) }

        /// Appends bytes collected for the member.
        func append(_ bytes: UnsafeRawBufferPointer) {
            memcpy(input + inputCount, bytes.baseAddress!, bytes.count)
            inputCount += bytes.count
        }

        /// Empties the slot for the next member.
        func reset() {
            inputCount = 0
            wantedCount = 12
            outputCount = 0
            isClean = false
        }
    }

    private let jobs: [Job]
    private let threads: Int
    /// Where workers take output chunks from, when its chunks can hold a member; set once
    /// by `decode(into:)` before any job is submitted.
    private var outputPool: ChunkPool?
    /// Protects every job's `state`, `isShuttingDown`, `awaitedSequence`.
    private let lock = Lock()
    private let workQueued = Condition()
    /// Signalled when the job the dispatcher waits for is done (and on no other, so that
    /// it is not woken for each of the members after it).
    private let workDone = Condition()
    private var isShuttingDown = false
    /// The `sequence` of the job the dispatcher waits for; -1 when it waits for none.
    private var awaitedSequence = -1
    private var workers: [Thread] = []

    // Dispatcher state (the stage's thread only): jobs `written ..< submitted` are in
    // flight, in order, at `jobs[i % jobs.count]`; the filling job is the next slot.
    private var submitted = 0
    private var written = 0

    /// 256 KiB: the largest chunk a slot decodes into; with larger chunks the slot's own
    /// 64 KiB buffer is used, so that the bound does not grow with `--chunk`.
    static let largestOutputChunk = 256 << 10

    /// The memory this holds for `threads` workers with chunks of `chunkBytes`, for the bound.
    static func heldBytes(threads: Int, chunkBytes: Int) -> Int {
        let output = decodesIntoChunks(chunkBytes) ? chunkBytes + Chunk.overheadBytes : memberBytes + 1
        return slotsPerThread * threads * (memberBytes + output + 4096) + threads * (48 << 10)
    }

    /// Whether a chunk of `chunkBytes` can take any member's output, and is not too large.
    static func decodesIntoChunks(_ chunkBytes: Int) -> Bool {
        (memberBytes + 1...largestOutputChunk).contains(chunkBytes)
    }

    init(threads: Int) {
        self.threads = threads
        jobs = (0..<(Self.slotsPerThread * threads)).map { _ in Job() }
    }

    /// Workers inflate into chunks from `pool` if they fit (call before the first submit).
    func decode(into pool: ChunkPool) {
        outputPool = Self.decodesIntoChunks(pool.chunkBytes) ? pool : nil
    }

    // MARK: Dispatcher

    /// The slot being filled, or nil while every slot holds a member in flight (write the
    /// oldest out first).
    var filling: Job? { submitted - written < jobs.count ? jobs[submitted % jobs.count] : nil }

    /// True while a member is in flight.
    var hasJobs: Bool { written < submitted }

    /// Hands the filling job, now a whole member, to the workers (started on first use).
    func submit() {
        let job = jobs[submitted % jobs.count]
        if workers.isEmpty { workers = (0..<threads).map { _ in Thread { [self] in work() } } }
        job.sequence = submitted
        submitted += 1
        lock.lock()
        job.state = .queued
        lock.unlock()
        // After the unlock: a worker woken under the lock would only block on it.
        workQueued.signal()
    }

    /// The oldest job in flight once it is done; nil when there is none, or when it is not
    /// done and `waiting` is false.
    func oldest(waiting: Bool) -> Job? {
        guard written < submitted else { return nil }
        let job = jobs[written % jobs.count]
        lock.lock()
        defer { lock.unlock() }
        while job.state != .done {
            if !waiting { return nil }
            awaitedSequence = job.sequence
            workDone.wait(lock)
        }
        awaitedSequence = -1
        return job
    }

    /// The oldest job was written out: its slot is free.
    func release() {
        let job = jobs[written % jobs.count]
        lock.withLock { job.state = .idle }
        job.reset()
        written += 1
    }

    /// Stops the workers, then returns every member not yet written, in order, and the
    /// filling job's bytes last: what the sequential decoder must read instead. Their
    /// output chunks go back to the pool.
    func abandon() -> [Job] {
        stop()
        for job in jobs { if let chunk = job.chunk { outputPool?.recycle(chunk) }; job.chunk = nil }
        var left: [Job] = []
        for i in written..<submitted { left.append(jobs[i % jobs.count]) }
        if let filling { left.append(filling) }
        return left
    }

    // MARK: Workers

    private func work() {
        var stream = z_stream()
        let ready = sluice_inflateInit2(&stream, -15) == Z_OK
        defer { if ready { inflateEnd(&stream) } }
        while let job = nextJob() {
            if ready { decode(job, with: &stream) }
            lock.lock()
            job.state = .done
            let isAwaited = job.sequence == awaitedSequence
            lock.unlock()
            if isAwaited { workDone.signal() }
        }
    }

    /// The oldest queued job, now the caller's; nil when shutting down.
    private func nextJob() -> Job? {
        lock.lock()
        defer { lock.unlock() }
        while true {
            if isShuttingDown { return nil }
            if let job = jobs.takeOldestQueued() { return job }
            workQueued.wait(lock)
        }
    }

    /// One member: its header parsed, its deflate data inflated in one call (finish: no
    /// window is kept), and `isClean` only if it is exactly one good member.
    private func decode(_ job: Job, with stream: inout z_stream) {
        job.isClean = false
        job.outputCount = 0
        let body = job.inputCount - BGZF.trailerBytes
        var header = GzipHeaderParser()
        guard body > 0, let headerBytes = try? header.feed(UnsafeRawBufferPointer(start: job.input, count: body)),
              header.isDone else { return }
        let expected = Int(job.storedLength)
        guard expected <= Self.memberBytes else { return }
        let output = job.outputSpace(from: outputPool)
        inflateReset(&stream)
        stream.next_in = (job.input + headerBytes).assumingMemoryBound(to: Bytef.self)
        stream.avail_in = uInt(body - headerBytes)
        stream.next_out = output.assumingMemoryBound(to: Bytef.self)
        stream.avail_out = uInt(expected + 1)
        let r = inflate(&stream, Z_FINISH)
        job.outputCount = expected + 1 - Int(stream.avail_out)
        guard r == Z_STREAM_END, stream.avail_in == 0, job.outputCount == expected else { return }
        job.isClean = crc32(0, UnsafeRawBufferPointer(start: output, count: expected)) == job.storedCRC
        job.chunk?.count = expected
    }

    /// Stops the workers and waits for them; jobs still queued are left as they are.
    func stop() {
        lock.lock()
        isShuttingDown = true
        workQueued.broadcast()
        lock.unlock()
        for worker in workers { worker.join() }
        workers.removeAll()
    }

    deinit {
        for job in jobs { if let chunk = job.chunk { outputPool?.recycle(chunk) } }
    }
}

extension UInt32 {
    /// The 4 bytes at `p`, least significant first, as gzip stores its numbers.
    init(littleEndianAt p: UnsafeRawPointer) {
        self = UInt32(p.load(as: UInt8.self)) | UInt32(p.load(fromByteOffset: 1, as: UInt8.self)) << 8
            | UInt32(p.load(fromByteOffset: 2, as: UInt8.self)) << 16 | UInt32(p.load(fromByteOffset: 3, as: UInt8.self)) << 24
    }
}
