import CSys
import Glibc

/// The drop policies (`--when-full=drop-newest|drop-oldest`) as a value, with no thread
/// or lock in it: where the stream stands with respect to lines, so that a drop removes
/// whole lines only, what to keep of each chunk sent, and how much was dropped. The
/// channel asks it under its lock (BoundedChannel+Shedding.swift); the unit tests ask it
/// directly.
struct LineShedder {
    enum ProducerPosition {
        /// The last byte sent ended a line (or nothing was sent).
        case atLineStart
        /// A line is in progress and its start was kept: its end must be kept too.
        case inKeptLine
        /// A line is in progress and its start was dropped: its end is dropped too.
        case inDroppedLine
    }

    /// What the channel does with a chunk sent to a dropping buffer.
    enum Admission: Equatable {
        /// Queue the bytes in the range, waiting only at the chunk cap, never at the
        /// high-water mark.
        case keep(Range<Int>)
        /// Queue the whole chunk as a blocking buffer does, waiting for room: it continues
        /// a line begun before the buffer filled and does not end it, and the buffer does
        /// not grow without bound to hold it.
        case waitForRoom
        /// drop-oldest: drop the oldest whole lines queued, to free this many bytes
        /// (`oldestLines(in:toFree:)`), then queue the whole chunk as `keep` does.
        case makeRoom(Int)
        /// Nothing of the chunk is kept.
        case discard
    }

    /// drop-oldest, else drop-newest.
    let dropsOldest: Bool
    var producer = ProducerPosition.atLineStart
    /// The last chunk the receiver took ended a line (drop-oldest keeps the rest of a
    /// line whose start was delivered).
    var isReceiverAtLineStart = true
    /// Lines dropped: newlines dropped, plus a last unfinished line dropped at the end.
    private(set) var droppedRecords = 0
    private(set) var droppedBytes = 0

    init(dropsOldest: Bool) {
        self.dropsOldest = dropsOldest
    }

    /// What to keep of `bytes` (not empty), sent to a buffer holding `bufferedBytes`,
    /// full or not, whose low-water mark is `lowWaterMark`. While the buffer is full,
    /// drop-newest drops the incoming lines whole: a line already begun is first
    /// completed, and a line begun while dropping is dropped to its end, in whichever
    /// chunk that comes. drop-oldest makes room by dropping the oldest whole lines.
    mutating func admit(_ bytes: UnsafeRawBufferPointer, isFull: Bool, bufferedBytes: Int,
                        lowWaterMark: Int) -> Admission {
        let endsLine = bytes.last == 0x0A
        if dropsOldest {
            producer = endsLine ? .atLineStart : .inKeptLine
            return isFull ? .makeRoom(bufferedBytes - lowWaterMark) : .keep(0..<bytes.count)
        }
        // Bytes before keepFrom end a dropped line; [keepFrom, lineStart) end a kept one.
        var keepFrom = 0, lineStart = 0
        switch producer {
        case .inDroppedLine:
            guard let end = firstLineEnd(bytes) else {
                countDropped(bytes, 0..<bytes.count)
                return .discard
            }
            countDropped(bytes, 0..<end)
            keepFrom = end
            lineStart = end
        case .inKeptLine:
            guard let end = firstLineEnd(bytes) else { return .waitForRoom }
            lineStart = end
        case .atLineStart:
            break
        }
        var keepTo = bytes.count
        if isFull {
            countDropped(bytes, lineStart..<bytes.count)
            keepTo = lineStart
        }
        producer = endsLine ? .atLineStart : isFull ? .inDroppedLine : .inKeptLine
        return keepTo > keepFrom ? .keep(keepFrom..<keepTo) : .discard
    }

    /// drop-oldest: the oldest whole lines of `queue` to drop to free `bytes`, as few as
    /// reach it (or all the whole lines there are). The line the receiver is in the
    /// middle of (its start already delivered) is kept; so is the line the producer is
    /// in the middle of. Counted as dropped.
    mutating func oldestLines(in queue: QueuedBytes, toFree bytes: Int) -> Range<Int> {
        let from = isReceiverAtLineStart ? 0 : (queue.lineEnd(atOrAfter: 0) ?? queue.count)
        let wanted = min(queue.count, from + max(1, bytes))
        let to = queue.lineEnd(atOrAfter: wanted - 1) ?? queue.lastLineEnd(from: from) ?? from
        guard to > from else { return from..<from }
        droppedRecords += queue.newlines(in: from..<to)
        droppedBytes += to - from
        return from..<to
    }

    /// The producer closed: a last line without newline that was being dropped counts.
    mutating func streamEnded() {
        if producer == .inDroppedLine { droppedRecords += 1 }
    }

    private mutating func countDropped(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) {
        guard !range.isEmpty else { return }
        droppedRecords += countNewlines(UnsafeRawBufferPointer(rebasing: bytes[range]))
        droppedBytes += range.count
    }
}

/// The chunks of a queue seen as one run of bytes, for dropping a range of whole lines
/// out of it (drop-oldest).
struct QueuedBytes {
    private(set) var chunks: [Chunk]
    /// Offset of each chunk's first byte in the run; `starts.count == chunks.count`.
    private var starts: [Int] = []
    private(set) var count = 0

    init(_ chunks: [Chunk]) {
        self.chunks = chunks
        recount()
    }

    private mutating func recount() {
        starts = []
        count = 0
        for c in chunks {
            starts.append(count)
            count += c.count
        }
    }

    /// Just past the first newline at or after `offset`, if any.
    func lineEnd(atOrAfter offset: Int) -> Int? {
        firstLineEndAcross(chunks, from: offset)
    }

    /// Just past the last newline at or after `from`, if any.
    func lastLineEnd(from: Int) -> Int? {
        lastLineEndAcross(chunks, from: from, upTo: count)
    }

    func newlines(in range: Range<Int>) -> Int {
        var n = 0
        for (i, c) in chunks.enumerated() {
            let lower = max(range.lowerBound, starts[i]), upper = min(range.upperBound, starts[i] + c.count)
            if lower < upper {
                n += countNewlines(UnsafeRawBufferPointer(rebasing: c.bytes[(lower - starts[i])..<(upper - starts[i])]))
            }
        }
        return n
    }

    /// Removes `range` from the run: chunks wholly inside go back to `pool`, a chunk cut
    /// at one end is trimmed, a chunk that loses its middle closes the gap.
    mutating func remove(_ range: Range<Int>, recycleInto pool: ChunkPool) {
        var kept: [Chunk] = []
        for (i, c) in chunks.enumerated() {
            let a = starts[i], b = a + c.count
            let lower = max(range.lowerBound, a), upper = min(range.upperBound, b)
            if lower >= upper {
                kept.append(c)
            } else if lower == a && upper == b {
                pool.recycle(c)
            } else {
                let prefix = lower - a, suffix = b - upper
                if prefix > 0 && suffix > 0 {
                    memmove(c.base + c.start + prefix, c.base + c.start + (upper - a), suffix)
                } else if prefix == 0 {
                    c.start += upper - a
                }
                c.count = prefix + suffix
                kept.append(c)
            }
        }
        chunks = kept
        recount()
    }
}
