/// A check over a decoder's output, member by member (gzip's CRC-32 and length, zstd's
/// XXH64): what a `ChecksumChecker` runs.
protocol RunningCheck {
    /// What a member's trailer says, and what a message about it names.
    associatedtype Trailer
    init()
    /// The next bytes of the current member.
    mutating func update(_ bytes: UnsafeRawBufferPointer)
    /// The message if the member's bytes so far disagree with `trailer`.
    func mismatch(_ trailer: Trailer) -> String?
    /// The next member begins.
    mutating func reset()
}

/// The check of a decoder's sequential output, run on a second thread while the stage's
/// thread decodes — pigz's split — and checked in the background: the decoder never
/// waits for an answer, so a stream of many small members costs no more than one large
/// member. gunzip's CRC-32 and length (`CRCChecker`) and unzstd's XXH64 go through it.
///
/// The decoder fills chunks and sends them into `inbox` (two chunks deep); a chunk may
/// hold the end of one member (a frame, for zstd) and the start of the next. At each
/// member's trailer the decoder hands over an `End` (`expect`): where the member's output
/// ends, counted in bytes since the stage began, and what its trailer says. This thread
/// takes each chunk, runs the check up to each member end inside it, compares, and
/// forwards the chunk to the stage's real output. Ownership stays linear: a chunk belongs
/// to the decoder, then to the inbox, then to this thread, then downstream.
///
/// Order is what makes it safe to check late. The decoder hands over a member's end
/// before it makes any byte of the next member, so a chunk that holds bytes past an end
/// arrives after that end is known, and this thread compares before it forwards those
/// bytes. On a mismatch it forwards the failing member's bytes, drops the rest of the
/// chunk, records the failure and closes the inbox: what reaches stdout is exactly what
/// a decoder that checks at every trailer writes — every byte of the failing member,
/// nothing after it. An end that falls exactly on a chunk's last byte may be handed over
/// after this thread checked that chunk; it is then compared by `expect` itself, under
/// the lock, since the running check is already final (nothing past the end can have been
/// sent yet). For the same reason the check is only ever updated here, outside the lock,
/// while no comparison can touch it: an update covers bytes before the next end.
///
/// The decoder learns of a failure when its next send finds the inbox closed, or at once
/// when `expect` compared; before it reports an error of its own, or at the end, it
/// `settle`s: waits until every byte it sent was checked and forwarded, so the earliest
/// error wins, and output the stage writes by another way comes after.
final class ChecksumChecker<Check: RunningCheck>: @unchecked Sendable {
    /// Where a member's output ends, and what its trailer says.
    struct End {
        /// Output bytes since the stage began, up to and including this member's last.
        var outputEnd: Int
        var trailer: Check.Trailer
    }

    /// How a `settle` ended.
    enum Settled: Equatable {
        /// Every byte was checked and is in the output channel.
        case forwarded
        case failed(String)
        /// The consumer went away; the thread stopped.
        case closed
    }

    /// Decoder → checker.
    let inbox: BoundedChannel
    /// The stage's real output.
    private let output: BoundedChannel
    /// The gunzip node's counters: the bytes forwarded are its bytes out.
    private let outputStats: NodeStats?
    /// This thread's own waits (blocked on the real output), kept off the stage's stats.
    private let stats: NodeStats

    /// Protects every `var` below; `progress` is signalled when `isSettling`.
    private let lock = Lock()
    private let progress = Condition()
    /// Member ends handed over and not yet compared, oldest first; each `outputEnd` is at
    /// least `position`.
    private var ends: [End] = []
    /// Index of the oldest end in `ends` not yet compared (the array is compacted as it goes).
    private var nextEnd = 0
    /// The check of the current member's bytes so far.
    private var check = Check()
    /// Bytes checked since the stage began; never past the end of a member whose end is
    /// known and not yet compared.
    private var position = 0
    /// Bytes sent on to the output channel; at most `position`.
    private var forwarded = 0
    /// The first mismatch; nothing after it is checked or forwarded.
    private var failure: String?
    /// The thread has ended (input finished, a mismatch, or the consumer went away).
    private var isDone = false
    /// The decoder waits in `settle`.
    private var isSettling = false
    private var thread: Thread?

    /// Memory it adds: the inbox (at most 3 chunks) and the chunk in hand.
    static func heldBytes(chunkBytes: Int) -> Int { 4 * chunkBytes }

    /// - Parameter name: this thread's name in traces (`gunzip-crc`).
    init(name: String, output: BoundedChannel, pool: ChunkPool, outputStats: NodeStats?) {
        stats = NodeStats(name: name)
        self.output = output
        self.outputStats = outputStats
        let chunkBytes = pool.chunkBytes
        inbox = BoundedChannel(WaterMarks(highWaterMark: 2 * chunkBytes, lowWaterMark: chunkBytes, chunkBytes: chunkBytes),
                               pool: pool)
    }

    func start() {
        thread = Thread { [self] in run() }
    }

    private func run() {
        stats.begin()
        while case .chunk(let chunk) = inbox.receive(waiter: stats) {
            let (kept, isFailed) = checkBytes(chunk.bytes)
            chunk.count = kept
            if case .closed(let reason) = output.send(chunk, waiter: stats) {
                inbox.close(reason: reason)
                break
            }
            outputStats?.bytesOut.add(kept, ordering: .relaxed)
            lock.withLock {
                forwarded += kept
                if isSettling { progress.broadcast() }
            }
            if isFailed {
                inbox.close(reason: .downstreamFailed(.runtime(lock.withLock { failure! })))
                break
            }
        }
        lock.withLock {
            isDone = true
            progress.broadcast()
        }
        stats.end()
    }

    /// Checks `bytes`, the next ones of the output, comparing at each member end inside
    /// them; returns how many may be forwarded (up to the end of a failing member) and
    /// whether one failed.
    private func checkBytes(_ bytes: UnsafeRawBufferPointer) -> (kept: Int, isFailed: Bool) {
        var done = 0
        while true {
            lock.lock()
            let boundary = nextEnd < ends.count ? ends[nextEnd].outputEnd : Int.max
            var (running, start) = (check, position)
            lock.unlock()
            let n = min(boundary - start, bytes.count - done)
            running.update(UnsafeRawBufferPointer(rebasing: bytes[done..<(done + n)]))
            done += n
            lock.lock()
            check = running
            position += n
            let isMatched = compareEndsLocked()
            if !isMatched && isSettling { progress.broadcast() }
            lock.unlock()
            if !isMatched || done == bytes.count { return (done, !isMatched) }
        }
    }

    /// Under the lock: compares every member end at `position` (an empty member ends where
    /// the one before it did); false at the first mismatch, which is recorded.
    private func compareEndsLocked() -> Bool {
        while nextEnd < ends.count && ends[nextEnd].outputEnd == position {
            let end = ends[nextEnd]
            nextEnd += 1
            if nextEnd == ends.count {
                ends.removeAll(keepingCapacity: true)
                nextEnd = 0
            }
            if let mismatch = check.mismatch(end.trailer) {
                failure = mismatch
                return false
            }
            check.reset()
        }
        return true
    }

    /// Hands over a member's end, before any byte of the next member is sent. Returns the
    /// mismatch when it could be compared at once (every byte of the member was already
    /// checked), else nil: a later mismatch surfaces as a closed inbox, or in `settle`.
    func expect(_ end: End) -> String? {
        lock.lock()
        if let failure {
            lock.unlock()
            return failure
        }
        ends.append(end)
        let isMatched = compareEndsLocked()
        let failed = failure
        lock.unlock()
        if !isMatched, let failed {
            inbox.close(reason: .downstreamFailed(.runtime(failed)))
            return failed
        }
        return nil
    }

    /// Waits until the `sentBytes` bytes the decoder sent so far were all checked and
    /// forwarded (or the thread stopped), and says how that went. Call with nothing
    /// pending in the decoder's emitter.
    func settle(sentBytes: Int) -> Settled {
        lock.lock()
        defer { lock.unlock() }
        isSettling = true
        while forwarded < sentBytes && failure == nil && !isDone { progress.wait(lock) }
        isSettling = false
        if let failure { return .failed(failure) }
        if forwarded < sentBytes { return .closed }
        return .forwarded
    }

    /// Sends the decoder's pending chunk from `emitter` (its emitter into `inbox`); an inbox
    /// closed by a mismatch throws the mismatch.
    func flush(_ emitter: inout Emitter) throws(StageError) {
        do { try emitter.flush() } catch {
            if let failure = recordedFailure { throw .failed(failure) }
            throw error
        }
    }

    /// `flush`es `emitter`, then waits until the `sentBytes` bytes sent were all checked
    /// and forwarded; throws the mismatch found, if any, or `downstreamClosed`.
    func settle(_ emitter: inout Emitter, sentBytes: Int) throws(StageError) {
        try flush(&emitter)
        switch settle(sentBytes: sentBytes) {
        case .forwarded: return
        case .failed(let message): throw .failed(message)
        case .closed: throw .downstreamClosed
        }
    }

    /// The first mismatch, if any (after a send into the inbox found it closed).
    var recordedFailure: String? { lock.withLock { failure } }

    /// Ends the inbox and waits for the thread, which forwards what is queued first.
    func stop() {
        inbox.close(reason: .endOfInput)
        thread?.join()
        thread = nil
    }
}
