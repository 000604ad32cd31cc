import Glibc

/// A single-producer, single-consumer queue of chunks between two pipeline threads,
/// bounded in bytes by its `WaterMarks`: `send` waits while the policy says the buffer
/// is full and resumes once it says the buffer drained; `receive` waits while the queue
/// is empty (or gated by `--start`).
///
/// Each side closes with a reason that the other side receives: the sender with a
/// `StreamEnd` (the receiver drains the queue, then gets `.ended(reason)`), the receiver
/// with a `StreamCancel` (queued chunks go back to the pool; a blocked or later `send`
/// returns `.closed(reason)`). A receiver's close cascades to the channel feeding its
/// producer, so that a producer waiting for input, not blocked on a send, stops too.
///
/// The channel keeps no statistics: bytes are counted by the nodes; a node passes its
/// `NodeStats` to `send`/`receive` only so that time spent waiting shows as blocked or
/// starved, live, while it waits.
public final class BoundedChannel: @unchecked Sendable {
    /// Chunk capacity of the pool this channel's chunks come from.
    public let chunkBytes: Int
    let pool: ChunkPool
    /// The channel feeding this one's producer, closed in turn by the receiver's close.
    /// Set once by the pipeline before any thread starts.
    public var upstream: BoundedChannel?

    /// Protects every `var` below. The stored state is internal, not private, only for
    /// the extensions in BoundedChannel+Shedding.swift and BoundedChannel+Spill.swift,
    /// which touch it under `lock` like everything here.
    let lock = Lock()
    /// Signalled when a chunk is queued, or on either close.
    let notEmpty = Condition()
    /// Signalled when the policy lets a waiting sender resume, or on the receiver's close.
    let notFull = Condition()
    /// The policy, with its gate state.
    var marks: WaterMarks
    /// The queue: a ring of `slots` slots, `queued` of them from `head` holding chunks.
    /// It starts small and doubles as chunks queue up, to at most `marks.maxChunks`,
    /// so an idle channel with a large high-water mark costs nothing.
    var ring: UnsafeMutablePointer<Chunk?>
    var slots: Int
    var head = 0
    var queued = 0
    /// Sum of `count` over the queued chunks.
    var bufferedBytes = 0
    /// Largest `bufferedBytes` ever seen.
    private var peakBufferedBytes = 0
    /// Set once by the sender's close.
    private var end: StreamEnd?
    /// Set once by the receiver's close.
    var cancel: StreamCancel?
    /// A sender is waiting on `notFull`; a receiver on `notEmpty`.
    var isSenderWaiting = false
    var isReceiverWaiting = false
    /// The drop policies' state (`LineShedder`); unused by the others.
    var shedder: LineShedder
    /// The spill policy's backlog on disk (`SpillBacklog`); empty for the others.
    var spill: SpillBacklog
    /// Why reading the spill back failed, if it did.
    var readBackFailure: SluiceError?

    /// 8 slots to begin with: a channel that never backs up never grows.
    private static let initialSlots = 8

    /// What the buffer does when full, fixed for the channel's life: the one value that
    /// says so. Its mechanics are `shedder` and `spill`, under the lock.
    public let overflow: Overflow
    /// The spill policy's file; nil for the others.
    let spillFile: SpillFile?
    /// Called, once, on the sender's thread, when spilling fails and the buffer falls
    /// back to blocking (a disk full). Set before any thread starts.
    public var onSpillWarning: (@Sendable (String) -> Void)?

    /// A blocking buffer.
    public convenience init(_ marks: WaterMarks, pool: ChunkPool) {
        self.init(marks, pool: pool, overflow: .block, spillFile: nil)
    }

    /// A buffer with the `overflow` policy; for spill, its unnamed file is made in the
    /// directory now, which fails as open(2) does.
    public convenience init(_ marks: WaterMarks, pool: ChunkPool, overflow: Overflow) throws(Errno) {
        var file: SpillFile?
        if case .spill(let directory, _) = overflow { file = try SpillFile(directory: directory) }
        self.init(marks, pool: pool, overflow: overflow, spillFile: file)
    }

    private init(_ marks: WaterMarks, pool: ChunkPool, overflow: Overflow, spillFile: SpillFile?) {
        self.marks = marks
        highWaterMark = marks.highWaterMark
        lowWaterMark = marks.lowWaterMark
        maxChunks = marks.maxChunks
        self.overflow = overflow
        self.spillFile = spillFile
        shedder = LineShedder(dropsOldest: overflow == .dropOldest)
        if case .spill(_, let maxBytes) = overflow {
            spill = SpillBacklog(maxBytes: maxBytes)
        } else {
            spill = SpillBacklog(maxBytes: 0)
        }
        self.pool = pool
        self.chunkBytes = pool.chunkBytes
        slots = min(marks.maxChunks, Self.initialSlots)
        ring = .allocate(capacity: slots)
        ring.initialize(repeating: nil, count: slots)
    }

    deinit {
        ring.deinitialize(count: slots)
        ring.deallocate()
    }

    /// The marks, fixed for the channel's life: copies that other threads (the report,
    /// the signal thread's status) read without the lock, which guards `marks`' gate.
    public let highWaterMark: Int
    public let lowWaterMark: Int
    public let maxChunks: Int

    /// Queues `chunk`, first waiting while the policy says the buffer is full. An empty
    /// chunk is recycled, not queued. Time spent waiting is charged to `waiter` as blocked.
    public func send(_ chunk: Chunk, waiter: NodeStats? = nil) -> SendResult {
        lock.lock()
        switch overflow {
        case .block: return queue(chunk, waiter: waiter)
        case .dropNewest, .dropOldest: return sendDropping(chunk, waiter: waiter)
        case .spill: return sendSpilling(chunk, waiter: waiter)
        }
    }

    /// Under the lock, which it releases: `send` for the blocking policy, or the part
    /// of a chunk a dropping policy keeps. A dropping policy waits only at the chunk cap
    /// (`waitsWhenFull` false), or to complete a line begun before the buffer filled.
    func queue(_ chunk: Chunk, waiter: NodeStats?, waitsWhenFull: Bool = true) -> SendResult {
        let n = chunk.count
        let mustWait = waitsWhenFull ? marks.isFull(bytes: bufferedBytes, chunks: queued) : queued >= marks.maxChunks
        if cancel == nil && mustWait {
            let since = waiter?.beginWait(.blocked)
            isSenderWaiting = true
            repeat {
                notFull.wait(lock)
            } while cancel == nil && !marks.mayResume(bytes: bufferedBytes, chunks: queued)
            isSenderWaiting = false
            if let since { waiter?.endWait(.blocked, since: since) }
        }
        if let reason = cancel {
            lock.unlock()
            pool.recycle(chunk)
            return .closed(reason)
        }
        if n == 0 {
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        }
        // A small chunk that fits after the last queued one joins it, so a trickle of
        // small reads fills chunks instead of slots. This stays in the queue: only here,
        // under the lock, is it known that the receiver has not taken that chunk yet.
        if queued > 0, let last = ring[(head + queued - 1) % slots], n <= last.freeSpace.count {
            last.append(chunk.bytes)
            added(n)
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        }
        if queued == slots { growRing() }
        ring[(head + queued) % slots] = chunk
        queued += 1
        added(n)
        lock.unlock()
        return .sent
    }

    /// Under the lock: `n` bytes joined the queue.
    @inline(__always) private func added(_ n: Int) {
        bufferedBytes += n
        if bufferedBytes > peakBufferedBytes { peakBufferedBytes = bufferedBytes }
        if isReceiverWaiting { notEmpty.signal() }
    }

    /// Under the lock, with the ring full and below the cap: doubles it, unrolled from `head`.
    private func growRing() {
        let grown = min(marks.maxChunks, slots * 2)
        let fresh = UnsafeMutablePointer<Chunk?>.allocate(capacity: grown)
        fresh.initialize(repeating: nil, count: grown)
        for i in 0..<queued { fresh[i] = ring[(head + i) % slots].take() }
        ring.deinitialize(count: slots)
        ring.deallocate()
        ring = fresh
        slots = grown
        head = 0
    }

    /// The next chunk, waiting while there is none to take (or the start gate holds);
    /// else why there will be none. With `deadlineNanos` (a monotonic instant), waits no
    /// longer than that and returns `.timedOut` if nothing came.
    public func receive(waiter: NodeStats? = nil, deadlineNanos: UInt64? = nil) -> Received {
        lock.lock()
        if mustWaitToReceive {
            let since = waiter?.beginWait(.starved)
            isReceiverWaiting = true
            repeat {
                if let deadlineNanos {
                    if monotonicNanos() >= deadlineNanos { break }
                    notEmpty.wait(lock, untilNanos: deadlineNanos)
                } else {
                    notEmpty.wait(lock)
                }
            } while mustWaitToReceive
            isReceiverWaiting = false
            if let since { waiter?.endWait(.starved, since: since) }
            if mustWaitToReceive {
                lock.unlock()
                return .timedOut
            }
        }
        if let reason = cancel {
            lock.unlock()
            return .cancelled(reason)
        }
        if queued == 0, let read = spill.nextRead(chunkBytes: chunkBytes) { return readBack(read) }
        if queued == 0 {
            let reason = end ?? .endOfInput
            lock.unlock()
            return .ended(reason)
        }
        let chunk = ring[head].take()!
        head = (head + 1) % slots
        queued -= 1
        bufferedBytes -= chunk.count
        marks.didTake(chunksLeft: queued)
        if case .dropOldest = overflow { shedder.isReceiverAtLineStart = chunk.bytes.last == 0x0A }
        if isSenderWaiting && marks.mayResume(bytes: bufferedBytes, chunks: queued) { notFull.signal() }
        lock.unlock()
        return .chunk(chunk)
    }

    /// Under the lock.
    @inline(__always) private var mustWaitToReceive: Bool {
        if cancel != nil { return false }
        if queued == 0 && spill.backlogBytes > 0 { return false }
        if end != nil { return false }
        return !marks.mayTake(bytes: bufferedBytes, chunks: queued, isSenderDone: false)
    }

    /// True when `receive` would return without waiting.
    public var hasInputReady: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !mustWaitToReceive
    }

    /// The sender's close: no more chunks will come, for `reason`. The receiver drains
    /// the queue, then receives `.ended(reason)`. Only the first close counts.
    public func close(reason: StreamEnd) {
        lock.lock()
        if end == nil {
            end = reason
            shedder.streamEnded()
        }
        notEmpty.broadcast()
        lock.unlock()
    }

    /// The receiver's close: no more chunks are wanted, for `reason`. Queued chunks go
    /// back to the pool; a blocked or later `send` returns `.closed(reason)`; the channel
    /// upstream is closed the same way, so every producer above stops. Only the first
    /// close counts.
    public func close(reason: StreamCancel) {
        lock.lock()
        if cancel != nil {
            lock.unlock()
            return
        }
        cancel = reason
        spill.discard()
        var dropped: [Chunk] = []
        while queued > 0 {
            dropped.append(ring[head].take()!)
            head = (head + 1) % slots
            queued -= 1
        }
        bufferedBytes = 0
        notFull.broadcast()
        notEmpty.broadcast()
        lock.unlock()
        for chunk in dropped { pool.recycle(chunk) }
        upstream?.close(reason: reason)
    }

    /// Bytes queued now.
    public var currentBufferedBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return bufferedBytes
    }

    /// The most bytes ever queued.
    public var peakBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return peakBufferedBytes
    }

    /// Lines (records) and bytes a dropping policy dropped so far.
    public var dropped: (records: Int, bytes: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (shedder.droppedRecords, shedder.droppedBytes)
    }
}
