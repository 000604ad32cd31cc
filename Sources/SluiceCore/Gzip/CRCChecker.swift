/// The CRC-32 of gunzip's output, computed on a second thread while the stage's thread
/// inflates — pigz's split, and worth about a sixth of gunzip's time here.
///
/// The inflater fills chunks and sends them into `inbox` (two chunks deep); this thread
/// takes each one, adds it to the running CRC and length, and forwards it to the stage's
/// real output channel. Ownership stays linear: a chunk belongs to the inflater, then to
/// the inbox, then to this thread, then downstream. At a member's end the inflater flushes
/// its partial chunk and waits (`memberChecksum`) until every byte it made was checked,
/// so a mismatch is reported at the same point, with the same output, as if it were
/// checked inline.
final class CRCChecker: @unchecked Sendable {
    /// Inflater → checker.
    let inbox: BoundedChannel
    /// The stage's real output.
    private let output: BoundedChannel
    /// The gunzip node's counters: the bytes forwarded are its bytes out.
    private let outputStats: NodeStats?
    /// This thread's own waits (blocked on the real output), kept off the stage's stats.
    private let stats = NodeStats(name: "gunzip-crc")

    /// Protects the four fields below; `progress` is signalled as they change.
    private let lock = Lock()
    private let progress = Condition()
    /// CRC-32 and length mod 2^32 of the current member's bytes checked so far.
    private var crc: UInt32 = 0
    private var length: UInt32 = 0
    /// Bytes checked since the stage began.
    private var checkedBytes = 0
    /// The thread has ended (input finished, or the consumer went away).
    private var isDone = false
    private var thread: Thread?

    /// Memory it adds: the inbox (at most 3 chunks) and the chunk in hand.
    static func heldBytes(chunkBytes: Int) -> Int { 4 * chunkBytes }

    init(output: BoundedChannel, pool: ChunkPool, outputStats: NodeStats?) {
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
            let n = chunk.count
            lock.lock()
            let running = crc
            lock.unlock()
            let updated = crc32(running, chunk.bytes)
            lock.lock()
            crc = updated
            length &+= UInt32(truncatingIfNeeded: chunk.count)
            checkedBytes += chunk.count
            progress.broadcast()
            lock.unlock()
            if case .closed(let reason) = output.send(chunk, waiter: stats) {
                inbox.close(reason: reason)
                break
            }
            outputStats?.bytesOut.add(n, ordering: .relaxed)
        }
        lock.withLock {
            isDone = true
            progress.broadcast()
        }
        stats.end()
    }

    /// Waits until `bytes` bytes in all have been checked, then returns the member's CRC
    /// and length and starts the next member from zero. Nil when the thread stopped first
    /// (the consumer went away).
    func memberChecksum(after bytes: Int) -> (crc: UInt32, length: UInt32)? {
        lock.lock()
        defer { lock.unlock() }
        while checkedBytes < bytes && !isDone { progress.wait(lock) }
        if checkedBytes < bytes { return nil }
        let result = (crc, length)
        crc = 0
        length = 0
        return result
    }

    /// Ends the inbox and waits for the thread, which forwards what is queued first.
    func stop() {
        inbox.close(reason: .endOfInput)
        thread?.join()
        thread = nil
    }
}
