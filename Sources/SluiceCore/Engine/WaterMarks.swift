/// The water-mark policy of one buffer, as a value with no threads or locks in it (the
/// shape of swift-nio's `HighLowWatermark`): the channel asks it, under its lock, whether
/// a sender must wait, whether a waiting sender may go on, and whether the receiver may
/// take a chunk; the unit tests ask it the same questions directly.
///
/// Invariants: `0 <= lowWaterMark < highWaterMark`; `maxChunks >= 2`; the receiver is
/// gated only while `startBytes > 0`.
public struct WaterMarks: Sendable, Equatable {
    /// A sender waits while the buffer holds at least this many bytes.
    public let highWaterMark: Int
    /// A waiting sender resumes once the buffer holds no more than this many bytes.
    public let lowWaterMark: Int
    /// When positive, the receiver gets nothing until this many bytes are queued (or the
    /// chunk cap is reached, or the sender is done); re-armed each time the buffer runs
    /// empty. `buffer --start` uses it to turn a bursty producer into long steady runs.
    public let startBytes: Int
    /// Most chunks queued at once: enough for `highWaterMark` bytes in full chunks plus
    /// the one that crosses it. Bounds memory when chunks arrive small.
    public let maxChunks: Int
    /// The start threshold is holding the receiver back.
    public private(set) var isGated: Bool

    public init(highWaterMark: Int, lowWaterMark: Int, chunkBytes: Int, startBytes: Int = 0) {
        precondition(highWaterMark > 0 && lowWaterMark >= 0 && lowWaterMark < highWaterMark && chunkBytes > 0)
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
        self.startBytes = startBytes
        self.maxChunks = WaterMarks.maxChunks(highWaterMark: highWaterMark, chunkBytes: chunkBytes)
        self.isGated = startBytes > 0
    }

    /// The chunk cap for a buffer: `ceil(highWaterMark / chunkBytes) + 1`, at least 2.
    public static func maxChunks(highWaterMark: Int, chunkBytes: Int) -> Int {
        let (q, r) = highWaterMark.quotientAndRemainder(dividingBy: chunkBytes)
        return max(2, Saturating.sum(q, r > 0 ? 2 : 1))
    }

    /// A sender must wait before adding to a buffer holding `bytes` in `chunks`.
    public func isFull(bytes: Int, chunks: Int) -> Bool {
        bytes >= highWaterMark || chunks >= maxChunks
    }

    /// A waiting sender may go on: the buffer drained to the low-water mark and has a slot.
    public func mayResume(bytes: Int, chunks: Int) -> Bool {
        bytes <= lowWaterMark && chunks < maxChunks
    }

    /// The receiver may take a chunk from a buffer holding `bytes` in `chunks`; opens the
    /// start gate once the threshold is reached.
    public mutating func mayTake(bytes: Int, chunks: Int, isSenderDone: Bool) -> Bool {
        if chunks == 0 { return false }
        if isGated {
            if bytes < startBytes && chunks < maxChunks && !isSenderDone { return false }
            isGated = false
        }
        return true
    }

    /// The receiver took a chunk, leaving `chunks`: an empty buffer re-arms the gate.
    public mutating func didTake(chunksLeft chunks: Int) {
        if chunks == 0 && startBytes > 0 { isGated = true }
    }
}
