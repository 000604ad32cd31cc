/// The spill policy (`--spill DIR`) as a value, with no thread, lock or file in it: where
/// each chunk sent goes (memory, disk, or wait), and the bookkeeping of the backlog on
/// disk, `[readOffset, readOffset + backlogBytes)` of the spill file. The channel asks
/// it under its lock and does the I/O (BoundedChannel+Spill.swift); the unit tests ask it
/// directly.
struct SpillBacklog {
    /// Where a chunk sent to a spilling buffer goes.
    enum Admission: Equatable {
        /// Into memory, as a blocking buffer queues it (waiting there if it must).
        case memory
        /// Appended to the spill file at this offset.
        case disk(at: Int)
        /// Nowhere yet: the sender waits for the receiver to read some back.
        case wait
    }

    /// `--spill-max`: the most backlog on disk; past it the sender waits.
    let maxBytes: Int
    /// Where the next append goes; written only by the sender.
    private(set) var writeOffset = 0
    /// Where the next read back starts; written only by the receiver.
    private(set) var readOffset = 0
    /// Bytes written and not yet read back.
    private(set) var backlogBytes = 0
    private(set) var spilledBytes = 0
    private(set) var peakBacklogBytes = 0
    /// A write failed: no more spilling; the buffer blocks as an ordinary one.
    private(set) var isBroken = false

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    /// Where `n` bytes go, with memory full or not. While memory has room and nothing is
    /// on disk, to memory. Otherwise to disk — once anything is on disk, everything newer
    /// goes there too, so order holds — unless the backlog would pass its limit: then the
    /// sender waits. A broken spill, or a chunk larger than the limit, goes to memory
    /// once the disk is drained.
    func admit(_ n: Int, isMemoryFull: Bool) -> Admission {
        if backlogBytes == 0 && (!isMemoryFull || isBroken || n > maxBytes) { return .memory }
        if isBroken || backlogBytes + n > maxBytes { return .wait }
        return .disk(at: writeOffset)
    }

    /// `n` bytes were appended at `offset` (the one `admit` gave).
    mutating func appended(_ n: Int, at offset: Int) {
        writeOffset = offset + n
        backlogBytes += n
        spilledBytes += n
        peakBacklogBytes = max(peakBacklogBytes, backlogBytes)
    }

    /// An append failed: spilling stops for good.
    mutating func broke() { isBroken = true }

    /// The next read back: the oldest `chunkBytes` (at most) of the backlog.
    func nextRead(chunkBytes: Int) -> (offset: Int, count: Int)? {
        backlogBytes > 0 ? (readOffset, min(backlogBytes, chunkBytes)) : nil
    }

    /// `n` bytes were read back from `offset` (the one `nextRead` gave).
    mutating func readBack(_ n: Int, from offset: Int) {
        readOffset = offset + n
        backlogBytes -= n
    }

    /// The receiver closed: nobody will read the backlog (the file goes with the channel).
    mutating func discard() { backlogBytes = 0 }
}
