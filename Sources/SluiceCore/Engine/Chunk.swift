import Glibc

/// A fixed-capacity byte buffer that moves down the pipeline. `bytes` is the valid
/// region `[start, start + count)` inside `[0, capacity)`.
///
/// Ownership: exactly one thread owns a chunk at a time — the thread that took it from
/// the pool, then (after a successful `send`) the channel, then the receiver. Only the
/// owner touches it, so it needs no lock; the channel's mutex orders the hand-over.
public final class Chunk: @unchecked Sendable {
    /// The allocation, `capacity` bytes, freed by `deinit`.
    public let base: UnsafeMutableRawPointer
    /// Bytes allocated at `base`; fixed for the chunk's life.
    public let capacity: Int
    /// Offset of the first valid byte; `0 ... capacity`.
    public var start: Int = 0
    /// Number of valid bytes from `start`; `start + count <= capacity`.
    public var count: Int = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
    }

    deinit { base.deallocate() }

    /// The valid bytes.
    @inlinable public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + start, count: count)
    }

    /// The unused space after the valid bytes.
    @inlinable public var freeSpace: UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + start + count, count: capacity - start - count)
    }

    /// True when no byte can be appended.
    @inlinable public var isFull: Bool { start + count == capacity }

    /// Forgets the contents.
    @inlinable public func reset() {
        start = 0
        count = 0
    }

    /// Appends as much of `source` as fits; returns how many bytes were taken.
    @inlinable @discardableResult
    public func append(_ source: UnsafeRawBufferPointer) -> Int {
        let n = min(source.count, capacity - start - count)
        if n > 0 { memcpy(base + start + count, source.baseAddress!, n) }
        count += n
        return n
    }
}
