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

    /// Protects every `var` below.
    private let lock = Lock()
    /// Signalled when a chunk is queued, or on either close.
    private let notEmpty = Condition()
    /// Signalled when the policy lets a waiting sender resume, or on the receiver's close.
    private let notFull = Condition()
    /// The policy, with its gate state.
    private var marks: WaterMarks
    /// The queue: a ring of `slots` slots, `queued` of them from `head` holding chunks.
    /// It starts small and doubles as chunks queue up, to at most `marks.maxChunks`,
    /// so an idle channel with a large high-water mark costs nothing.
    private var ring: UnsafeMutablePointer<Chunk?>
    private var slots: Int
    private var head = 0
    private var queued = 0
    /// Sum of `count` over the queued chunks.
    private var bufferedBytes = 0
    /// Largest `bufferedBytes` ever seen.
    private var peakBufferedBytes = 0
    /// Set once by the sender's close.
    private var end: StreamEnd?
    /// Set once by the receiver's close.
    private var cancel: StreamCancel?
    /// A sender is waiting on `notFull`; a receiver on `notEmpty`.
    private var isSenderWaiting = false
    private var isReceiverWaiting = false
    /// Where the lines stand, for a dropping policy (`marks.whenFull.drops`).
    private var lines = LineRecords()
    /// The overflow on disk, for the spill policy; its backlog and limits below.
    private var spill: SpillState?

    /// 8 slots to begin with: a channel that never backs up never grows.
    private static let initialSlots = 8

    /// What the buffer does when full (fixed for the channel's life).
    public let whenFull: OverflowPolicy
    /// Called, once, on the sender's thread, when spilling fails and the buffer falls
    /// back to blocking (a disk full). Set before any thread starts.
    public var onSpillWarning: (@Sendable (String) -> Void)?

    /// `spill`: the file for the spill policy, and the most backlog it may hold.
    public init(_ marks: WaterMarks, pool: ChunkPool, spill file: SpillFile? = nil, spillMaxBytes: Int = .max) {
        self.marks = marks
        self.whenFull = file == nil ? marks.whenFull : .spill
        if let file { spill = SpillState(file: file, maxBytes: spillMaxBytes) }
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

    public var highWaterMark: Int { marks.highWaterMark }
    public var lowWaterMark: Int { marks.lowWaterMark }
    public var maxChunks: Int { marks.maxChunks }

    /// Queues `chunk`, first waiting while the policy says the buffer is full. An empty
    /// chunk is recycled, not queued. Time spent waiting is charged to `waiter` as blocked.
    public func send(_ chunk: Chunk, waiter: NodeStats? = nil) -> SendResult {
        lock.lock()
        if marks.whenFull.drops { return sendDropping(chunk, waiter: waiter) }
        if spill != nil { return sendSpilling(chunk, waiter: waiter) }
        return queue(chunk, waiter: waiter)
    }

    /// Under the lock, which it releases: `send` for the blocking policy, or the part
    /// of a chunk a dropping policy keeps. A dropping policy waits only at the chunk cap
    /// (`waitsWhenFull` false), or to complete a line begun before the buffer filled.
    private func queue(_ chunk: Chunk, waiter: NodeStats?, waitsWhenFull: Bool = true) -> SendResult {
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
        if queued == 0, let spill, spill.backlogBytes > 0 { return readBack(spill) }
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
        if marks.whenFull == .dropOldest { lines.isReceiverAtLineStart = chunk.bytes.last == 0x0A }
        if isSenderWaiting && marks.mayResume(bytes: bufferedBytes, chunks: queued) { notFull.signal() }
        lock.unlock()
        return .chunk(chunk)
    }

    /// Under the lock.
    @inline(__always) private var mustWaitToReceive: Bool {
        if cancel != nil { return false }
        if queued == 0, let spill, spill.backlogBytes > 0 { return false }
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
            // A last line, without newline, that was being dropped counts as a record.
            if lines.producer == .inDroppedLine { lines.droppedRecords += 1 }
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
        spill?.backlogBytes = 0  // nobody will read it: the file goes with the channel
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
        return (lines.droppedRecords, lines.droppedBytes)
    }

    // MARK: Dropping whole lines

    /// Under the lock, which it releases. The sender never waits. While the buffer is
    /// full, drop-newest drops the incoming lines whole: a line already begun is first
    /// completed, and a line begun while dropping is dropped to its end, in whichever
    /// chunk that comes. drop-oldest drops the oldest whole lines queued to make room.
    private func sendDropping(_ chunk: Chunk, waiter: NodeStats?) -> SendResult {
        let bytes = chunk.bytes
        let isFull = marks.isFull(bytes: bufferedBytes, chunks: queued)
        if cancel != nil || bytes.isEmpty { return queue(chunk, waiter: waiter) }
        if marks.whenFull == .dropOldest {
            if isFull { dropOldestLines(toFree: bufferedBytes - marks.lowWaterMark) }
            lines.producer = bytes.last == 0x0A ? .atLineStart : .inKeptLine
            return queue(chunk, waiter: waiter, waitsWhenFull: false)
        }
        // Bytes before keepFrom end a dropped line; [keepFrom, lineStart) end a kept one.
        var keepFrom = 0, lineStart = 0
        switch lines.producer {
        case .inDroppedLine:
            guard let end = firstLineEnd(bytes) else {
                lines.countDropped(bytes, 0..<bytes.count)
                lock.unlock()
                pool.recycle(chunk)
                return .sent
            }
            lines.countDropped(bytes, 0..<end)
            keepFrom = end
            lineStart = end
        case .inKeptLine:
            // A line begun before the buffer filled is completed; with no end in this
            // chunk, it waits for room rather than grow the buffer without bound.
            guard let end = firstLineEnd(bytes) else { return queue(chunk, waiter: waiter) }
            lineStart = end
        case .atLineStart:
            break
        }
        var keepTo = bytes.count
        if isFull {
            lines.countDropped(bytes, lineStart..<bytes.count)
            keepTo = lineStart
        }
        lines.producer = bytes.last == 0x0A ? .atLineStart : isFull ? .inDroppedLine : .inKeptLine
        if keepTo <= keepFrom {
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        }
        chunk.start += keepFrom
        chunk.count = keepTo - keepFrom
        return queue(chunk, waiter: waiter, waitsWhenFull: false)
    }

    /// Just past the first newline of `bytes`, if any.
    private func firstLineEnd(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, let nl = memchr(base, 0x0A, bytes.count) else { return nil }
        return base.distance(to: UnsafeRawPointer(nl)) + 1
    }

    /// Under the lock: drops the oldest whole lines queued until `bytes` are freed or no
    /// whole line is left to drop. The line the receiver is in the middle of (its start
    /// already delivered) is kept; so is the line the producer is in the middle of. Rare
    /// (only when full), so it may copy the queue's chunk references into an array.
    private func dropOldestLines(toFree bytes: Int) {
        var chunks: [Chunk] = []
        for i in 0..<queued { chunks.append(ring[(head + i) % slots].take()!) }
        var flat = QueuedBytes(chunks)
        let from = lines.isReceiverAtLineStart ? 0 : (flat.lineEnd(atOrAfter: 0) ?? flat.count)
        let wanted = min(flat.count, from + max(1, bytes))
        let to = flat.lineEnd(atOrAfter: wanted - 1) ?? flat.lastLineEnd(from: from) ?? from
        if to > from {
            lines.countDropped(flat, from..<to)
            flat.remove(from..<to, recycleInto: pool)
            bufferedBytes -= to - from
        }
        head = 0
        queued = flat.chunks.count
        for (i, chunk) in flat.chunks.enumerated() { ring[i] = chunk }
    }

    // MARK: Spilling to disk

    /// Spilled bytes in all, and the largest backlog on disk; nil without a spill file.
    public var spillCounts: (spilled: Int, peak: Int)? {
        lock.lock()
        defer { lock.unlock() }
        return spill.map { ($0.spilledBytes, $0.peakBacklogBytes) }
    }

    /// Why reading the spill back failed, if it did: the run's error, for the pipeline
    /// to report under the producer's name.
    public var spillFailure: SluiceError? {
        lock.lock()
        defer { lock.unlock() }
        return spill?.failure
    }

    /// Under the lock, which it releases. While memory is below its high-water mark and
    /// nothing is on disk, a chunk is queued in memory. Otherwise it is appended to the
    /// spill file — once anything is on disk, everything newer goes there too, so order
    /// holds — unless the backlog would pass its limit: then the sender waits. A failed
    /// write (a full disk) stops spilling for good: warned once, and the buffer blocks.
    private func sendSpilling(_ chunk: Chunk, waiter: NodeStats?) -> SendResult {
        let n = chunk.count
        var warning: String?
        defer { if let warning { onSpillWarning?(warning) } }
        while true {
            if let reason = cancel {
                lock.unlock()
                pool.recycle(chunk)
                return .closed(reason)
            }
            let state = spill!
            let isMemoryFull = marks.isFull(bytes: bufferedBytes, chunks: queued)
            if state.backlogBytes == 0 && (!isMemoryFull || state.isBroken || n > state.maxBytes) {
                return queue(chunk, waiter: waiter)
            }
            if state.isBroken || state.backlogBytes + n > state.maxBytes {
                waitForRoom(waiter)
                continue
            }
            let offset = state.writeOffset
            lock.unlock()
            do throws(Errno) {
                try state.file.append(chunk.bytes, at: offset)
            } catch {
                lock.lock()
                spill!.isBroken = true
                warning = "cannot spill to \(state.file.directory): \(error); blocking instead"
                continue
            }
            lock.lock()
            spill!.writeOffset = offset + n
            spill!.backlogBytes += n
            spill!.spilledBytes += n
            spill!.peakBacklogBytes = max(spill!.peakBacklogBytes, spill!.backlogBytes)
            if isReceiverWaiting { notEmpty.signal() }
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        }
    }

    /// Under the lock: waits once on `notFull`, the time charged as blocked.
    private func waitForRoom(_ waiter: NodeStats?) {
        let since = waiter?.beginWait(.blocked)
        isSenderWaiting = true
        notFull.wait(lock)
        isSenderWaiting = false
        if let since { waiter?.endWait(.blocked, since: since) }
    }

    /// Under the lock, which it releases, with memory empty and a backlog on disk: the
    /// oldest chunk's worth of it, read back. A failed read ends the stream: the
    /// receiver gets the failure, the sender a closed channel.
    private func readBack(_ state: SpillState) -> Received {
        let n = min(state.backlogBytes, chunkBytes), offset = state.readOffset
        lock.unlock()
        let chunk = pool.take()
        var failure: Errno?
        do throws(Errno) {
            let got = try state.file.read(into: UnsafeMutableRawBufferPointer(start: chunk.base, count: n), at: offset)
            if got < n { failure = Errno(EIO) }
        } catch {
            failure = error
        }
        lock.lock()
        if let failure {
            let error = SluiceError.runtime("reading back its spill file in \(state.file.directory): \(failure)")
            spill!.failure = error
            lock.unlock()
            pool.recycle(chunk)
            close(reason: StreamCancel.downstreamFailed(error))
            return .ended(.upstreamFailed(error))
        }
        chunk.count = n
        spill!.readOffset = offset + n
        spill!.backlogBytes -= n
        if isSenderWaiting { notFull.signal() }
        lock.unlock()
        state.file.release(upTo: offset + n)
        return .chunk(chunk)
    }
}

/// The spill policy's state, kept by the channel under its lock.
struct SpillState {
    let file: SpillFile
    /// `--spill-max`: the most backlog on disk; past it the sender waits.
    let maxBytes: Int
    /// Where the next append goes; written only by the sender.
    var writeOffset = 0
    /// Where the next read back starts; written only by the receiver.
    var readOffset = 0
    /// Bytes written and not yet read back: `[readOffset, readOffset + backlogBytes)`.
    var backlogBytes = 0
    var spilledBytes = 0
    var peakBacklogBytes = 0
    /// A write failed: no more spilling; the buffer blocks as an ordinary one.
    var isBroken = false
    /// A read back failed: the stream ended with this error.
    var failure: SluiceError?
}
