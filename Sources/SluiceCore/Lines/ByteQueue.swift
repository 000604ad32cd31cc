import Glibc

/// A FIFO of bytes in fixed-size segments, for stages that must hold the end of a
/// stream (`tail`, `head -n -N`). It counts the newlines it holds, so that a stage can
/// drop whole segments that can no longer hold any of the lines it must keep. Freed
/// segments are kept for reuse (one spare), so a steady stream does not allocate.
struct ByteQueue {
    private struct Segment {
        let base: UnsafeMutableRawPointer
        /// Valid bytes are `[start, end)`.
        var start = 0
        var end = 0
        /// Newlines in the valid bytes.
        var newlines = 0
    }

    /// 64 KiB: large enough that per-segment work is negligible, small enough that the
    /// memory held past what is needed is small.
    static let segmentBytes = 64 << 10

    /// The most memory in segments of a queue that, after each append of at most
    /// `appendBytes`, is cut back to at most `keptBytes` (`emitFront`) or to its first
    /// segment plus at most `keptBytes` after it (`trimKeeping...`):
    ///
    ///     keptBytes + appendBytes + 3 × segmentBytes
    ///
    /// After a cut the segments hold the kept bytes and at most two segments more: a first
    /// one partly emitted (or, trimming, held whole beside the kept bytes) and a last one
    /// partly filled. One spare segment may wait for reuse, and the next append adds its
    /// bytes before the next cut. Saturates at `Int.max`. The segment table, 32 bytes a
    /// segment, is bookkeeping like malloc's, not counted.
    static func memoryBound(keeping keptBytes: Int, appending appendBytes: Int) -> Int {
        Saturating.sum(keptBytes, appendBytes, 3 * segmentBytes)
    }

    /// `memoryBound` for the last `lines` lines (`tail -n N`, `head -n -N`), with lines of
    /// at most `maxLineBytes` and a newline: `lines × (maxLineBytes + 1)` kept, and appends
    /// of a run of lines from one chunk or of one line completed from held bytes.
    static func memoryBound(keepingLines lines: Int, maxLineBytes: Int, chunkBytes: Int) -> Int {
        let line = maxLineBytes + 1
        return memoryBound(keeping: Saturating.product(lines, line), appending: max(line, chunkBytes))
    }

    private var segments: [Segment] = []
    private var spare: UnsafeMutableRawPointer?
    /// Bytes held.
    private(set) var count = 0
    /// Newlines held.
    private(set) var newlines = 0
    /// The most bytes held at once over the queue's life (`release` keeps it), so that a
    /// test can hold a stage to what it must keep.
    private(set) var peakCount = 0

    /// Appends `bytes`.
    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            if segments.isEmpty || segments[segments.count - 1].end == Self.segmentBytes {
                let base = spare ?? UnsafeMutableRawPointer.allocate(byteCount: Self.segmentBytes, alignment: 64)
                spare = nil
                segments.append(Segment(base: base))
            }
            let last = segments.count - 1
            let n = min(rest.count, Self.segmentBytes - segments[last].end)
            let piece = UnsafeRawBufferPointer(rebasing: rest[..<n])
            memcpy(segments[last].base + segments[last].end, piece.baseAddress!, n)
            let lines = countNewlines(piece)
            segments[last].end += n
            segments[last].newlines += lines
            newlines += lines
            count += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        peakCount = max(peakCount, count)
    }

    /// Drops whole segments from the front while the rest still holds more than `lines`
    /// newlines: the last `lines` lines then start after a newline in the rest, so the
    /// dropped segment holds none of them.
    mutating func trimKeepingLines(_ lines: Int) {
        while segments.count > 1 && newlines - segments[0].newlines > lines { dropFirstSegment() }
    }

    /// Drops whole segments from the front while the rest still holds at least `bytes`.
    mutating func trimKeepingBytes(_ bytes: Int) {
        while segments.count > 1 && count - (segments[0].end - segments[0].start) >= bytes { dropFirstSegment() }
    }

    private mutating func dropFirstSegment() {
        let first = segments.removeFirst()
        count -= first.end - first.start
        newlines -= first.newlines
        if spare == nil { spare = first.base } else { first.base.deallocate() }
    }

    /// The offset just past the `k`-th newline from the front (k >= 1), or nil when
    /// fewer are held.
    func offset(afterNewline k: Int) -> Int? {
        guard k >= 1 else { return 0 }
        var seen = 0
        var offset = 0
        for s in segments {
            if seen + s.newlines < k {
                seen += s.newlines
                offset += s.end - s.start
                continue
            }
            var at = s.start
            while true {
                at = firstLineEnd(UnsafeRawBufferPointer(start: s.base, count: s.end), from: at)!
                seen += 1
                if seen == k { return offset + at - s.start }
            }
        }
        return nil
    }

    /// The offset where the last `n` lines held begin (0 when fewer are held); a final
    /// line without a newline counts when `hasPartialLine`.
    func startOfLast(_ n: Int, hasPartialLine: Bool) -> Int {
        let lines = newlines + (hasPartialLine ? 1 : 0)
        guard lines > n else { return 0 }
        return offset(afterNewline: lines - n) ?? count
    }

    /// Writes the first `n` bytes to `out` and drops them.
    mutating func emitFront(_ n: Int, into out: inout Emitter) throws(StageError) {
        var left = n
        while left > 0 {
            let s = segments[0]
            let take = min(left, s.end - s.start)
            let piece = UnsafeRawBufferPointer(start: s.base + s.start, count: take)
            try out.write(piece)
            left -= take
            if take == s.end - s.start {
                dropFirstSegment()
            } else {
                let lines = countNewlines(piece)
                segments[0].start += take
                segments[0].newlines -= lines
                newlines -= lines
                count -= take
            }
        }
    }

    /// Writes everything from byte `offset` on to `out`, and empties the queue.
    mutating func emit(from offset: Int, into out: inout Emitter) throws(StageError) {
        var skip = offset
        for s in segments {
            let length = s.end - s.start
            if skip >= length {
                skip -= length
                continue
            }
            try out.write(UnsafeRawBufferPointer(start: s.base + s.start + skip, count: length - skip))
            skip = 0
        }
        release()
    }

    /// Frees every segment.
    mutating func release() {
        for s in segments { s.base.deallocate() }
        segments.removeAll()
        spare?.deallocate()
        spare = nil
        count = 0
        newlines = 0
    }
}

/// Newlines in `bytes`.
func countNewlines(_ bytes: UnsafeRawBufferPointer) -> Int { count(of: 0x0A, in: bytes) }
