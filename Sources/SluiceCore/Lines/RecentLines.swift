import Glibc

/// The last N lines passed over, for `grep -B N`: runs of lines are remembered as they go
/// by, and only the last N are kept, in one buffer.
///
/// Invariants: at most `keeping` whole lines are held, each ending in `separator`; the
/// buffer is compacted (the held bytes moved to its front) before it grows, and never
/// grows past `limit`, so with lines of at most `--max-line` bytes it holds at most
/// `memoryBound`.
struct RecentLines {
    /// N.
    let keeping: Int
    let separator: UInt8
    /// The most bytes the buffer may take: N lines of at most `--max-line` bytes each.
    let limit: Int
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0
    /// The held lines are `[start, end)` of the buffer.
    private var start = 0
    private var end = 0
    /// Lines held.
    private(set) var count = 0
    /// The largest the buffer has been, so that a test can hold it to `memoryBound`.
    private(set) var peakCapacity = 0

    init(keeping: Int, separator: UInt8, maxLineBytes: Int) {
        self.keeping = keeping
        self.separator = separator
        limit = RecentLines.memoryBound(keeping: keeping, maxLineBytes: maxLineBytes)
    }

    /// N lines of up to `maxLineBytes` and a separator each; saturates at `Int.max`.
    static func memoryBound(keeping: Int, maxLineBytes: Int) -> Int {
        Saturating.product(keeping, maxLineBytes + 1)
    }

    /// The lines held, oldest first.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base.map { $0 + start }, count: end - start) }

    /// Where in `bytes` the last `k` lines held begin (`k <= count`).
    func startOfLast(_ k: Int) -> Int {
        var at = end - start
        for _ in 0..<k { at = lineStart(base! + start, at - 1, floor: 0, separator: separator) }
        return at
    }

    /// Adds `lines` (whole lines), keeping only the last N of all held.
    mutating func remember(_ lines: UnsafeRawBufferPointer) {
        guard keeping > 0, let source = lines.baseAddress, !lines.isEmpty else { return }
        var from = lines.count
        var added = 0
        while added < keeping && from > 0 {
            from = lineStart(source, from - 1, floor: 0, separator: separator)
            added += 1
        }
        if added == keeping {
            removeAll()
        } else if count + added > keeping {
            dropFirst(count + added - keeping)
        }
        append(UnsafeRawBufferPointer(rebasing: lines[from...]))
        count += added
    }

    mutating func removeAll() {
        start = 0
        end = 0
        count = 0
    }

    /// Frees the buffer.
    mutating func release() {
        base?.deallocate()
        base = nil
        capacity = 0
        removeAll()
    }

    private mutating func dropFirst(_ lines: Int) {
        for _ in 0..<lines { start = lineEnd(base!, end, start, separator: separator) }
        count -= lines
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if end + bytes.count > capacity { makeRoom(for: bytes.count) }
        memcpy(base! + end, bytes.baseAddress!, bytes.count)
        end += bytes.count
    }

    /// Moves the held bytes to the front, and grows the buffer (doubling, up to `limit`)
    /// if `needed` more bytes still do not fit.
    private mutating func makeRoom(for needed: Int) {
        let held = end - start
        if let base, start > 0 {
            memmove(base, base + start, held)
            start = 0
            end = held
        }
        if held + needed <= capacity { return }
        (base, capacity) = grownStorage(base, capacity: capacity, keeping: held, needed: held + needed,
                                        limit: limit, "RecentLines past its limit")
        peakCapacity = max(peakCapacity, capacity)
    }
}
