/// What a stage wants after a chunk.
public enum Flow: Sendable {
    /// More input, please.
    case more
    /// No more input is wanted (head has its lines): upstream stops reading.
    case stop
}

/// One link in the chain. Each stage runs on its own thread and is never re-entered.
///
/// Ownership of `input` is in its type: a `ChunkLease` is consumed by `out.forward(_:)`
/// (handed on unchanged, zero copy) or, if the stage only reads it, returns the chunk to
/// the pool when `process` ends, however it ends. A stage never keeps the chunk.
public protocol Stage {
    /// Called once before any input. Return `.stop` when no input is wanted at all
    /// (`head -n 0`): the stage then finishes without reading.
    mutating func begin(into out: inout Emitter) throws(StageError) -> Flow

    /// Consume `input`, emitting through `out` (which blocks while downstream is full).
    /// Return `.stop` when no more input is wanted.
    mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow

    /// End of input: flush what is held (a last line without "\n", a gzip trailer).
    mutating func finish(into out: inout Emitter) throws(StageError)

    /// Called before the stage's thread waits for input: flush partial output so that a
    /// trickle still flows. The default flushes `out`.
    mutating func willWait(into out: inout Emitter) throws(StageError)

    /// How long the input may stay quiet before `idle` is called; nil (the default):
    /// never. Read once, when the stage starts.
    var idleNanos: UInt64? { get }

    /// The input has been quiet for `idleNanos` since the last chunk: make what the stage
    /// holds decodable downstream (gzip ends its deflate block with a sync flush). Called
    /// once per quiet spell, not again until more input came.
    mutating func idle(into out: inout Emitter) throws(StageError)

    /// Releases resources, however the stage ended: a child process, a helper thread
    /// (which must have handed on everything it holds before `close` returns). Called
    /// once, after the last `process`/`finish`, before the output channel is finished.
    mutating func close()

    /// Whether `finish` still runs when input ended because something upstream failed.
    /// True for a stage whose end-of-stream output is what the data so far implies, as the
    /// next command of a shell pipeline writes it when the failing one exits (`gzip -dc |
    /// tail -n 3`): tail's last lines, grep -c's count, a last line without a newline.
    /// False (the default) for a stage whose finish would vouch for a whole stream (gzip's
    /// trailer) or that has nothing to add. Read once, by the stage loop.
    var finishesAfterUpstreamFailure: Bool { get }

    /// What a stage that tests its input found (`grep -q`), read by the pipeline once the
    /// stage's thread is done; nil for every other stage. The one way the data, rather
    /// than a failure, sets the exit status.
    var verdict: Verdict? { get }
}

/// What a testing stage found: the run exits 0 when every such stage selected something,
/// 1 when one did not, as `grep -q` does for an `if`.
public enum Verdict: Equatable, Sendable {
    case selected
    case noneSelected
}

extension Stage {
    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow { .more }
    public mutating func willWait(into out: inout Emitter) throws(StageError) { try out.flush() }
    public var idleNanos: UInt64? { nil }
    public mutating func idle(into out: inout Emitter) throws(StageError) {}
    public mutating func close() {}
    public var verdict: Verdict? { nil }
    public var finishesAfterUpstreamFailure: Bool { false }
}

/// Where a stage puts its output: fills pool chunks and sends them down the stage's
/// output channel. A stage either copies bytes in (`write`, or `reserve` + `commit` to
/// let zlib write in place) or forwards an input chunk whole (`forward`). Output
/// leaves in full chunks while input keeps coming, and the partial chunk is flushed
/// when the stage would otherwise wait for input, so a trickle still flows promptly.
public struct Emitter {
    /// The channel to the next node.
    public let channel: BoundedChannel
    /// Where chunks come from and return to.
    public let pool: ChunkPool
    /// The node whose time blocked on `channel` this is, and, if `countsBytes`, whose
    /// bytes out.
    public let stats: NodeStats?
    /// False for a stage's internal channel (gunzip to its CRC thread), whose bytes are
    /// counted where they leave the stage.
    public let countsBytes: Bool
    /// The output chunk being filled, owned by this stage until sent; never full while held.
    private var pending: Chunk?

    public init(channel: BoundedChannel, pool: ChunkPool, stats: NodeStats?, countsBytes: Bool = true) {
        self.channel = channel
        self.pool = pool
        self.stats = stats
        self.countsBytes = countsBytes
    }

    /// The capacity of every chunk: the most a stage can `reserve` at once.
    public var chunkBytes: Int { pool.chunkBytes }

    /// Sends `chunk` downstream unchanged, after any pending bytes (order is kept).
    public mutating func forward(_ input: consuming ChunkLease) throws(StageError) {
        try flush()
        try send(input.take())
    }

    /// Copies `bytes` into output chunks, sending each one that fills.
    public mutating func write(_ bytes: UnsafeRawBufferPointer) throws(StageError) {
        var rest = bytes
        while !rest.isEmpty {
            let chunk = pending ?? pool.take()
            pending = chunk
            let n = chunk.append(rest)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if chunk.isFull { try sendPending() }
        }
    }

    /// Copies a small array of bytes (a header, a trailer).
    public mutating func write(_ bytes: [UInt8]) throws(StageError) {
        var i = 0
        while i < bytes.count {
            let space = reserve()
            let n = min(space.count, bytes.count - i)
            for k in 0..<n { space[k] = bytes[i + k] }
            try commit(n)
            i += n
        }
    }

    /// Free space in the pending output chunk (at least one byte), for a producer such as
    /// zlib to fill in place; follow with `commit`.
    public mutating func reserve() -> UnsafeMutableRawBufferPointer {
        let chunk = pending ?? pool.take()
        pending = chunk
        return chunk.freeSpace
    }

    /// Records that `count` bytes were written into the space `reserve` returned; sends
    /// the chunk if it is now full.
    public mutating func commit(_ count: Int) throws(StageError) {
        guard let chunk = pending else { precondition(count == 0); return }
        precondition(count <= chunk.capacity - chunk.start - chunk.count)
        chunk.count += count
        if chunk.isFull { try sendPending() }
    }

    /// Sends the partial output chunk, if any.
    public mutating func flush() throws(StageError) {
        guard let chunk = pending else { return }
        if chunk.count == 0 { return }
        try sendPending()
    }

    private mutating func sendPending() throws(StageError) {
        let chunk = pending!
        pending = nil
        try send(chunk)
    }

    /// Sends a chunk this stage owns, counting its bytes; the channel owns it after.
    private func send(_ chunk: Chunk) throws(StageError) {
        let n = chunk.count
        if case .closed = channel.send(chunk, waiter: stats) { throw .downstreamClosed }
        if countsBytes { stats?.bytesOut.add(n, ordering: .relaxed) }
    }

    /// Returns an unsent pending chunk to the pool (the stage is ending without flushing).
    public mutating func discard() {
        if let chunk = pending { pool.recycle(chunk) }
        pending = nil
    }
}
