import CZlib
import Glibc

// # Parallel gunzip, for members whose size is known
//
// A gzip member can only be found by decoding the one before it — unless its header
// says how long it is, as every BGZF member's `BC` subfield does. The stage's thread
// (the dispatcher) reads the first bytes of each member; when they give its size, and
// the member is at most 64 KiB in and out, it copies the whole member into a job and
// goes on to the next member without decoding this one. A job is a batch of consecutive
// such members (`ParallelInflater+Job.swift`): the dispatcher submits it to the
// workers once it has no room for another member, or when everything must be
// written out (input pauses, a member that is not eligible, the end) — but not while
// the next member is half collected in the same job: on a live stream that pauses
// inside a member, the members batched before it wait until it is whole. So the threads
// hand over once per batch, not once per member: a member of `bgzip` output inflates in
// about 100 µs, and a hand-over for each (locks, wake-ups, the context switches they
// cause) costs a tenth of the CPU.
//
// N threads decode: N - 1 workers and the dispatcher itself. When every job is in
// flight and the oldest, which it must write next, is not done, the dispatcher does not
// sleep until it is: it takes the oldest job still queued and decodes it. With N = 2
// that is one worker, and the stage's thread, which would otherwise wake and sleep once
// a job, keeps the second core busy: through `| cat`, 0.254 s instead of 0.266 s
// (medians of 21 interleaved runs on `bgzip` output, 256 MiB), with 3 jobs per thread
// rather than 2; 0.268 s before.
//
// A job's members are decoded in order, each on its own zlib stream in one call,
// into the job's output, and vouches for a member only if it is exactly one clean
// member: the header parses, the deflate data ends exactly at the trailer, and the
// length and CRC-32 match. The decoding stops at the first member it cannot vouch for;
// those before it are `clean`. The dispatcher writes finished jobs out in order through
// the stage's emitter.
//
// A member the worker cannot vouch for (damaged data, a wrong CRC, output larger than
// its trailer says) is not reported by the worker: the dispatcher, on reaching it in
// order, writes out the clean members before it, then hands that member and every byte
// after it to the sequential decoder, which finds the error and names it as it always
// has — same message, same offset, same bytes written before it. Parallel decoding only
// ever takes the happy path. Which member goes where is `MemberRouter`'s to say: one
// without its size goes to the sequential decoder from its first byte, once every job
// before it is written, and never enters a job; one that has a size but is not eligible
// after all (output over 64 KiB, cut short by the end of input) is read by the
// sequential decoder from the first member of the batch being filled.
//
// Output: a job's members are placed one after another into `regionCount` regions, a
// member whole in one region. With chunks of 64 KiB to 256 KiB (the default is 128 KiB),
// a region is a chunk from the pool, which a worker inflates into and the dispatcher
// forwards whole, `jobOutputBytes / chunkBytes` of them per job (two 64 KiB BGZF blocks
// to a 128 KiB chunk); with other chunk sizes, one region of `jobOutputBytes` of the
// job's own, which the dispatcher copies out.
//
// Memory: `slotsPerThread × N` jobs, each with `jobInputBytes` of input, its output
// regions and a table of at most `maxMembersPerJob` members, and N inflate states —
// fixed when the stage starts (`heldBytes`). A job is reused only after its output was
// written, and the dispatcher writes through the stage's emitter, which blocks while
// downstream is full, so a slow consumer stops the dispatcher and the workers idle: at
// most `slotsPerThread × N` jobs are in flight, whatever the input.
//
// The slots, the threads, the helping, the order and the hand-overs are the ordered job
// pool's (`Engine/OrderedJobPool.swift`), which owns who holds a job when; this file says
// what a job is and how one is decoded.

final class ParallelInflater: @unchecked Sendable {
    /// 64 KiB: the most a member may be, compressed or not, to be decoded here (a BGZF
    /// block's bound both ways).
    static let memberBytes = BGZF.maxMemberBytes
    /// 3: jobs per decoding thread. Since the dispatcher decodes too, a third job per
    /// thread keeps one queued for it while the others are decoded or written: `gunzip
    /// -p 2 | cat` on `bgzip` output, 256 MiB, medians of 21 interleaved runs, took 0.266 s
    /// with 2, 0.254 s with 3, 0.250 s with 4. (With the dispatcher only dispatching, 3
    /// and 4 were no faster than 2.)
    static let slotsPerThread = 3
    /// 256 KiB: the output a job is sized for, four 64 KiB BGZF blocks (two 128 KiB
    /// chunks). Measured on `bgzip -@2` output, `gunzip -p 2 > /dev/null`: 0.241 s with
    /// 128 KiB, 0.230 s with 256 KiB, 0.224 s with 512 KiB, which took more CPU once the
    /// output went through a pipe.
    static let jobOutputBytes = 256 << 10
    /// 128 KiB: a job's input. A member joins a batch only while 64 KiB are free, so a job
    /// holds at least two members; text compresses about 6:1, so four blocks of it take
    /// some 40 KiB and the output bound comes first.
    static let jobInputBytes = 128 << 10
    /// 64: the most members in a job, which bounds its table; reached only by members of
    /// under 1 KiB (BGZF's empty end-of-file member is 28 bytes).
    static let maxMembersPerJob = 64
    /// 258: room past a member's output that its inflate call is given when the region
    /// has it. zlib's fast loop runs only while 258 bytes of room are left (the longest
    /// match), so without it each member's last symbols are decoded one at a time by the
    /// slow loop: 3 ms of the workers' CPU on 256 MiB of `bgzip` output. A member that
    /// writes into it is not clean; the next member's output, which it lands on, is
    /// decoded after it by the same worker, or not written out at all.
    static let inflateSlack = 258

    private let threads: Int
    /// Threads started besides the dispatcher: `threads - 1`, or 0 for the fuzzer, whose
    /// dispatcher decodes every job itself when it waits for one.
    private let workers: Int
    /// Where workers take output chunks from, when its chunks can hold a member; set once
    /// by `decode(into:)` before any job is submitted.
    private var outputPool: ChunkPool?
    /// `slotsPerThread × N` jobs; N threads decode: N - 1 workers and the dispatcher, an
    /// inflate state each. Made by `decode(into:)`.
    private var pool: OrderedJobPool<Job, ZStream?>!

    /// 256 KiB: the largest chunk a job decodes into; with larger chunks the job's own
    /// buffer is used, so that the bound does not grow with `--chunk`.
    static let largestOutputChunk = 256 << 10

    /// The memory this holds for `threads` decoding threads (N - 1 workers and the
    /// dispatcher, a zlib state each) with chunks of `chunkBytes`, for the bound.
    static func heldBytes(threads: Int, chunkBytes: Int) -> Int {
        slotsPerThread * threads * jobBytes(chunkBytes: chunkBytes) + threads * (48 << 10)
    }

    /// What one job holds: its input, its output regions and its table of members.
    static func jobBytes(chunkBytes: Int) -> Int {
        let layout = OutputLayout(chunkBytes: chunkBytes)
        let output = layout.regionCount * (layout.regionBytes + (layout.isChunks ? Chunk.overheadBytes : 0))
        let table = maxMembersPerJob * MemoryLayout<Member>.stride + 4096
        return jobInputBytes + output + table
    }

    /// The pool's chunks the jobs hold (within `heldBytes`), for the pool to keep.
    static func heldChunks(threads: Int, chunkBytes: Int) -> Int {
        let layout = OutputLayout(chunkBytes: chunkBytes)
        return layout.isChunks ? slotsPerThread * threads * layout.regionCount : 0
    }

    /// Whether a chunk of `chunkBytes` can take any member's output, and is not too large.
    static func decodesIntoChunks(_ chunkBytes: Int) -> Bool {
        (memberBytes...largestOutputChunk).contains(chunkBytes)
    }

    init(threads: Int, workers: Int) {
        self.threads = threads
        self.workers = workers
    }

    /// Makes the jobs, their output in chunks from `pool` if they fit (call before
    /// anything else).
    func decode(into pool: ChunkPool) {
        let layout = OutputLayout(chunkBytes: pool.chunkBytes)
        let outputPool = layout.isChunks ? pool : nil
        self.outputPool = outputPool
        let jobs = (0..<(Self.slotsPerThread * threads)).map { _ in Job(layout: layout) }
        self.pool = OrderedJobPool(slots: jobs, workers: workers, dispatcherHelps: true,
                                   makeWorker: { ParallelInflater.rawInflater() },
                                   run: { job, stream in ParallelInflater.decode(job, with: stream, outputPool: outputPool) })
    }

    // MARK: Dispatcher

    /// The job being filled, or nil while every job is in flight (write the oldest out
    /// first).
    var filling: Job? { pool.filling }

    /// True while a job is in flight.
    var hasJobs: Bool { pool.hasJobs }

    /// True while nothing is in flight or batched: the sequential decoder may read on.
    var isIdle: Bool { !hasJobs && filling?.members.isEmpty != false }

    /// Hands the filling job to the workers if it holds members and none is half collected.
    func submit() {
        guard let job = filling, !job.members.isEmpty, !job.isCollecting else { return }
        pool.submit()
    }

    /// The oldest job in flight once it is done; nil when there is none, or when it is not
    /// done and `waiting` is false. While it waits, the dispatcher decodes the jobs still
    /// queued, the oldest first (the awaited one, if no worker has taken it yet).
    func oldest(waiting: Bool) -> Job? { pool.oldest(waiting: waiting) }

    /// The oldest job was written out: its slot is free.
    func release() {
        pool.oldest(waiting: false)?.reset()
        // A job never fails (a member it cannot vouch for is read sequentially), and the
        // pool is stopped only by `abandon` and `stop`, after which nothing is released.
        try? pool.release()
    }

    /// Stops the workers, then returns every job not yet written, in order, and the
    /// filling job last: what the sequential decoder must read instead. Their output
    /// chunks go back to the pool.
    func abandon() -> [Job] {
        var left = pool.abandon()
        recycleChunks()
        if let filling { left.append(filling) }
        return left
    }

    private func recycleChunks() {
        for job in pool?.slots ?? [] {
            for (region, chunk) in job.chunks.enumerated() {
                if let chunk { outputPool?.recycle(chunk) }
                job.chunks[region] = nil
            }
        }
    }

    // MARK: Decoding threads

    /// One thread's raw inflate stream, or nil if zlib could not make one.
    private static func rawInflater() -> ZStream? {
        let z = ZStream(.inflate)
        guard sluice_inflateInit2(z.pointer, -15) == Z_OK else { return nil }
        z.isActive = true
        return z
    }

    /// Decodes a job taken from the queue (so the caller's alone): its members in order,
    /// up to the first that is not exactly one good member. Without a stream no member is
    /// clean (`cleanCount` stays 0): the dispatcher reads them sequentially.
    private static func decode(_ job: Job, with worker: ZStream?, outputPool: ChunkPool?) {
        job.cleanCount = 0
        guard let stream = worker?.pointer else { return }
        for member in job.members {
            guard decode(member, of: job, with: stream, outputPool: outputPool) else { break }
            job.cleanCount += 1
        }
    }

    /// One member: its header parsed, its deflate data inflated in one call (finish: no
    /// window is kept) into the room its trailer's ISIZE asks for, plus `inflateSlack`;
    /// true only if it is exactly one good member.
    private static func decode(_ member: Member, of job: Job, with stream: UnsafeMutablePointer<z_stream>,
                               outputPool: ChunkPool?) -> Bool {
        let input = job.input + member.inputOffset
        let body = member.inputCount - BGZF.trailerBytes
        var header = GzipHeaderParser()
        guard body > 0, let headerBytes = try? header.feed(UnsafeRawBufferPointer(start: input, count: body)),
              header.isDone else { return false }
        let output = job.outputBase(region: member.region, from: outputPool) + member.outputOffset
        // The fast loop also wants 6 bytes of input ahead: the trailer is given too, and
        // zlib hands back whatever it read past the deflate data's end.
        let slack = min(Self.inflateSlack, job.layout.regionBytes - member.outputEnd)
        inflateReset(stream)
        stream.pointee.next_in = (input + headerBytes).assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(body - headerBytes + BGZF.trailerBytes)
        stream.pointee.next_out = output.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(member.outputCount + slack)
        let r = inflate(stream, Z_FINISH)
        // Exactly ISIZE bytes out, and the data ends exactly at the trailer.
        guard r == Z_STREAM_END, stream.pointee.avail_in == uInt(BGZF.trailerBytes),
              stream.pointee.avail_out == uInt(slack) else { return false }
        return crc32(0, UnsafeRawBufferPointer(start: output, count: member.outputCount)) == member.storedCRC
    }

    /// Stops the workers and waits for them; jobs still queued are left as they are.
    func stop() {
        pool?.stop()
    }

    deinit {
        recycleChunks()
    }
}
