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
    /// `@exclusivity(unchecked)` on both: a chunk has one owner thread at a time (above),
    /// so accesses never overlap, and the dynamic check each write of a class property
    /// costs was measured at a tenth of `grep -v`'s instructions (one per line run written).
    @exclusivity(unchecked) public var start: Int = 0
    /// Number of valid bytes from `start`; `start + count <= capacity`.
    @exclusivity(unchecked) public var count: Int = 0

    /// Memory a chunk takes beyond its `capacity` bytes, for the memory bound: the object
    /// (48 bytes, 64 with malloc's header), the 64-byte-aligned allocation's slack and
    /// header (up to 80), a queue slot and an idle-list slot (8 each). Measured here at
    /// 152 bytes per queued chunk of `--chunk 1`; 192 leaves room.
    public static let overheadBytes = 192

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

/// A stage's hold on its input chunk for one `process` call. It cannot be copied, so it
/// has one owner at a time and the compiler tracks where it goes: a stage either hands it
/// on with `Emitter.forward` (which consumes it: the chunk travels downstream, zero copy)
/// or lets it go out of scope, and then it returns the chunk to its pool by itself — on
/// every path, a thrown error included. No flag says who recycles a chunk.
public struct ChunkLease: ~Copyable {
    /// Both fields are unmanaged references so that `take` may `discard self` (Swift
    /// allows that only for trivially destroyed fields): `held` owns one retain of the
    /// chunk; the pool outlives every chunk it hands out.
    private let held: Unmanaged<Chunk>
    private let pool: Unmanaged<ChunkPool>

    public init(_ chunk: Chunk, pool: ChunkPool) {
        held = .passRetained(chunk)
        self.pool = .passUnretained(pool)
    }

    deinit { pool.takeUnretainedValue().recycle(held.takeRetainedValue()) }

    /// The chunk, to read or trim (`start`, `count`) in place.
    public var chunk: Chunk { held.takeUnretainedValue() }

    /// The valid bytes.
    public var bytes: UnsafeRawBufferPointer { chunk.bytes }

    /// Number of valid bytes.
    public var count: Int { chunk.count }

    /// Ends the lease without recycling: the caller owns the chunk now.
    public consuming func take() -> Chunk {
        let chunk = held.takeRetainedValue()
        discard self
        return chunk
    }
}
