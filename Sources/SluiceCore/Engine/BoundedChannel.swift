/// The result of `BoundedChannel.send`.
public enum SendResult: Sendable {
    /// The chunk is queued; the channel owns it now.
    case sent
    /// The receiver is gone; the chunk went back to the pool and the sender should stop.
    case closed
}

/// A single-producer, single-consumer queue of chunks between two pipeline threads,
/// bounded in bytes: `send` blocks while the channel holds `highWaterMark` bytes or more
/// (or `maxChunks` chunks, which bounds memory when chunks are small) and resumes once it
/// holds no more than `lowWaterMark` bytes. The hysteresis lets a blocked producer run a
/// long stretch before it must wait again, instead of ping-ponging on every chunk.
///
/// End of input flows down (`finish`: the receiver drains what is queued, then gets nil);
/// cancellation flows up (`cancel`: queued chunks are dropped and a blocked or later
/// `send` returns `.closed`).
public final class BoundedChannel: @unchecked Sendable {
    /// A send waits while at least this many bytes are queued.
    public let highWaterMark: Int
    /// A waiting send resumes once no more than this many bytes are queued; `< highWaterMark`.
    public let lowWaterMark: Int
    /// Most chunks queued at once: `ceil(highWaterMark / chunkBytes) + 1`, at least 2.
    public let maxChunks: Int
    /// When positive, the receiver gets nothing until this many bytes are queued (or the
    /// queue holds `maxChunks` chunks, or input ended); re-armed each time the queue runs
    /// empty. `buffer --start` uses it to turn a bursty producer into long steady runs.
    public let startBytes: Int

    let pool: ChunkPool
    /// The channel feeding this one's producer, cancelled in turn by `cancel`, so that a
    /// producer waiting for input (not blocked on a send) also learns that nobody wants
    /// its output. Set once by the pipeline before any thread starts.
    public var upstream: BoundedChannel?
    /// The thread that sends, charged for time blocked and bytes out.
    let producer: NodeStats
    /// The thread that receives, charged for time starved and bytes in.
    let consumer: NodeStats

    /// Protects every `var` below.
    private let lock = Lock()
    /// Signalled when a chunk is queued or the channel finishes or is cancelled.
    private let notEmpty = Condition()
    /// Signalled when the queue drains to `lowWaterMark`, or on cancel.
    private let notFull = Condition()
    /// Ring of `maxChunks` slots; `queued` of them, from `head`, hold chunks.
    private let ring: UnsafeMutablePointer<Chunk?>
    private var head = 0
    private var queued = 0
    /// Sum of `count` over the queued chunks.
    private var bufferedBytes = 0
    /// Largest `bufferedBytes` ever seen.
    private var peakBufferedBytes = 0
    /// The sender will send no more.
    private var isFinished = false
    /// The sender stopped because of an error upstream: what is queued is good, but
    /// the stream is incomplete, so the receiver must not finish it as if it were whole.
    private var isAborted = false
    /// The receiver will receive no more.
    private var isCancelled = false
    /// A sender is waiting on `notFull`.
    private var isSenderWaiting = false
    /// A receiver is waiting on `notEmpty`.
    private var isReceiverWaiting = false
    /// The start threshold holds the receiver back (only when `startBytes > 0`).
    private var isGated: Bool

    /// False for a stage's internal channel, whose bytes are counted where they leave
    /// the stage.
    let countsBytes: Bool

    public init(highWaterMark: Int, lowWaterMark: Int, chunkBytes: Int, startBytes: Int = 0,
                pool: ChunkPool, producer: NodeStats, consumer: NodeStats, countsBytes: Bool = true) {
        self.countsBytes = countsBytes
        precondition(highWaterMark > 0 && lowWaterMark >= 0 && lowWaterMark < highWaterMark)
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
        self.maxChunks = BoundedChannel.maxChunks(highWaterMark: highWaterMark, chunkBytes: chunkBytes)
        self.startBytes = startBytes
        self.pool = pool
        self.producer = producer
        self.consumer = consumer
        self.isGated = startBytes > 0
        ring = .allocate(capacity: maxChunks)
        ring.initialize(repeating: nil, count: maxChunks)
    }

    deinit {
        ring.deinitialize(count: maxChunks)
        ring.deallocate()
    }

    /// The chunk-count bound for a channel: enough slots for `highWaterMark` bytes in full
    /// chunks plus the one that crosses it.
    public static func maxChunks(highWaterMark: Int, chunkBytes: Int) -> Int {
        let (q, r) = highWaterMark.quotientAndRemainder(dividingBy: chunkBytes)
        return max(2, q + (r > 0 ? 1 : 0) + 1)
    }

    @inline(__always) private var isFull: Bool {
        bufferedBytes >= highWaterMark || queued == maxChunks
    }

    /// Queues `chunk`, first waiting while the channel is full. An empty chunk is
    /// recycled, not queued (an empty chunk would read as nothing to the receiver).
    /// Time spent waiting is charged to `waiter` (a stage's helper thread passes its own
    /// stats, so that the stage's thread is not charged for it); bytes to `producer`.
    public func send(_ chunk: Chunk, waiter: NodeStats? = nil) -> SendResult {
        let n = chunk.count
        let waiter = waiter ?? producer
        lock.lock()
        if isFull && !isCancelled {
            let since = waiter.beginWait(.blocked)
            isSenderWaiting = true
            repeat {
                notFull.wait(lock)
            } while !isCancelled && (bufferedBytes > lowWaterMark || queued == maxChunks)
            isSenderWaiting = false
            waiter.endWait(.blocked, since: since)
        }
        if isCancelled {
            lock.unlock()
            pool.recycle(chunk)
            return .closed
        }
        if n == 0 {
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        }
        // A small chunk that fits after the last queued one joins it: a trickle of small
        // reads then fills chunks instead of slots, and the chunk cap keeps its meaning.
        if queued > 0, let last = ring[(head + queued - 1) % maxChunks], n <= last.freeSpace.count {
            last.append(chunk.bytes)
            bufferedBytes += n
            if bufferedBytes > peakBufferedBytes { peakBufferedBytes = bufferedBytes }
            if isReceiverWaiting { notEmpty.signal() }
            lock.unlock()
            pool.recycle(chunk)
            if countsBytes { producer.bytesOut.add(n, ordering: .relaxed) }
            return .sent
        }
        ring[(head + queued) % maxChunks] = chunk
        queued += 1
        bufferedBytes += n
        if bufferedBytes > peakBufferedBytes { peakBufferedBytes = bufferedBytes }
        if isReceiverWaiting { notEmpty.signal() }
        lock.unlock()
        if countsBytes { producer.bytesOut.add(n, ordering: .relaxed) }
        return .sent
    }

    /// The next chunk, waiting while the queue is empty (or held back by `startBytes`);
    /// nil once the sender finished and everything queued was taken, or after `cancel`.
    public func receive() -> Chunk? {
        lock.lock()
        if mustWaitToReceive {
            let since = consumer.beginWait(.starved)
            isReceiverWaiting = true
            repeat {
                notEmpty.wait(lock)
            } while mustWaitToReceive
            isReceiverWaiting = false
            consumer.endWait(.starved, since: since)
        }
        if queued == 0 || isCancelled {
            lock.unlock()
            return nil
        }
        let chunk = ring[head].take()!
        head = (head + 1) % maxChunks
        queued -= 1
        bufferedBytes -= chunk.count
        if queued == 0 && startBytes > 0 { isGated = true }
        if isSenderWaiting && bufferedBytes <= lowWaterMark { notFull.signal() }
        lock.unlock()
        if countsBytes { consumer.bytesIn.add(chunk.count, ordering: .relaxed) }
        return chunk
    }

    @inline(__always) private var mustWaitToReceive: Bool {
        if isCancelled || isFinished { return false }
        if queued == 0 { return true }
        if isGated {
            if bufferedBytes >= startBytes || queued == maxChunks { isGated = false } else { return true }
        }
        return false
    }

    /// True when `receive` would return without waiting.
    public var hasInputReady: Bool {
        lock.lock()
        defer { lock.unlock() }
        return !mustWaitToReceive
    }

    /// Sender side: no more chunks will come. The receiver drains the queue, then gets nil.
    /// `aborted` says the stream ends because of an error upstream, not at its real end.
    public func finish(aborted: Bool = false) {
        lock.lock()
        isFinished = true
        isAborted = aborted
        notEmpty.broadcast()
        lock.unlock()
    }

    /// Receiver side: no more chunks are wanted. Queued chunks go back to the pool, and a
    /// blocked or later `send` returns `.closed`, so the producer stops; every channel
    /// upstream is cancelled too, so producers waiting for input stop as well.
    public func cancel() {
        lock.lock()
        if isCancelled {
            lock.unlock()
            return
        }
        isCancelled = true
        var dropped: [Chunk] = []
        while queued > 0 {
            dropped.append(ring[head].take()!)
            head = (head + 1) % maxChunks
            queued -= 1
        }
        bufferedBytes = 0
        notFull.broadcast()
        notEmpty.broadcast()
        lock.unlock()
        for chunk in dropped { pool.recycle(chunk) }
        upstream?.cancel()
    }

    /// True when the sender finished because of an error upstream.
    public var wasAborted: Bool {
        lock.lock()
        defer { lock.unlock() }
        return isAborted
    }

    /// True once the receiver cancelled.
    public var isClosed: Bool {
        lock.lock()
        defer { lock.unlock() }
        return isCancelled
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
}
