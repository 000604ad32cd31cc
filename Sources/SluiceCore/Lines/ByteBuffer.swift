import Glibc

/// A growable byte buffer with a hard limit, for the one partial line a line stage holds.
/// It grows (doubling) to the longest line seen and then stays, so steady state does not
/// allocate; it never grows past `limit` bytes (plus one, for an added final newline).
struct ByteBuffer {
    private(set) var base: UnsafeMutableRawPointer?
    private(set) var capacity = 0
    /// Valid bytes from `base`.
    private(set) var count = 0
    /// The most bytes it may ever hold.
    let limit: Int

    init(limit: Int) { self.limit = limit }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
    var isEmpty: Bool { count == 0 }

    /// Appends `source`; the caller has checked that `count + source.count <= limit + 1`.
    mutating func append(_ source: UnsafeRawBufferPointer) {
        guard !source.isEmpty else { return }
        reserve(count + source.count)
        memcpy(base! + count, source.baseAddress!, source.count)
        count += source.count
    }

    mutating func append(byte: UInt8) {
        reserve(count + 1)
        base!.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    mutating func removeAll() { count = 0 }

    private mutating func reserve(_ needed: Int) {
        if needed <= capacity { return }
        (base, capacity) = grownStorage(base, capacity: capacity, keeping: count, needed: needed,
                                        limit: limit + 1, "ByteBuffer past its limit")
    }

    /// Frees the storage.
    mutating func release() {
        base?.deallocate()
        base = nil
        capacity = 0
        count = 0
    }
}

/// Storage for `needed` bytes, grown from `base` (`capacity` bytes, the first `kept` of
/// which are moved over; `base` is freed): doubling from 4 KiB, so that a buffer grows to
/// its largest use and stays, and never past `limit`, which `needed` must not pass.
func grownStorage(_ base: UnsafeMutableRawPointer?, capacity: Int, keeping kept: Int, needed: Int,
                  limit: Int, _ pastLimit: @autoclosure () -> String) -> (UnsafeMutableRawPointer, Int) {
    var grown = max(capacity * 2, 4096)
    while grown < needed { grown *= 2 }
    grown = min(grown, limit)
    precondition(grown >= needed, pastLimit())
    let fresh = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
    if let base {
        memcpy(fresh, base, kept)
        base.deallocate()
    }
    return (fresh, grown)
}
