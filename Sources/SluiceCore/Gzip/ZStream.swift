import CSys
import CZlib

/// A z_stream on the heap: zlib keeps a pointer back to it (deflateStateCheck fails if
/// it moves), so it cannot live inline in a Swift value. It ends zlib's state itself
/// (`end`, or when released), so a stage dropped before it ran leaks nothing.
final class ZStream {
    enum Kind { case deflate, inflate }

    let pointer: UnsafeMutablePointer<z_stream>
    private let kind: Kind
    /// True between a successful init and `end`.
    var isActive = false

    init(_ kind: Kind) {
        self.kind = kind
        pointer = .allocate(capacity: 1)
        pointer.initialize(to: z_stream())
    }

    /// deflateEnd or inflateEnd, once.
    func end() {
        guard isActive else { return }
        isActive = false
        if kind == .deflate { deflateEnd(pointer) } else { inflateEnd(pointer) }
    }

    deinit {
        end()
        pointer.deinitialize(count: 1)
        pointer.deallocate()
    }

    /// zlib's message for the last error, or `fallback`.
    func message(or fallback: String) -> String {
        guard let msg = pointer.pointee.msg else { return fallback }
        return String(cString: msg)
    }

    /// Points zlib's input at `bytes`. Chunks are at most 256 MiB, so the count fits uInt.
    func setInput(_ bytes: UnsafeRawBufferPointer) {
        pointer.pointee.next_in = UnsafeMutablePointer(
            mutating: bytes.baseAddress?.assumingMemoryBound(to: Bytef.self))
        pointer.pointee.avail_in = uInt(bytes.count)
    }

    /// Points zlib's output at `space`; returns its size.
    func setOutput(_ space: UnsafeMutableRawBufferPointer) -> Int {
        pointer.pointee.next_out = space.baseAddress?.assumingMemoryBound(to: Bytef.self)
        pointer.pointee.avail_out = uInt(space.count)
        return space.count
    }

    var availableIn: Int { Int(pointer.pointee.avail_in) }
    var availableOut: Int { Int(pointer.pointee.avail_out) }
}

/// Whether this CPU can fold CRC-32 with carry-less multiplication, and on 512-bit
/// registers; asked once.
private let crc32Folds = sluice_crc32_has_clmul() != 0
private let crc32FoldsWide = sluice_crc32_has_vpclmul() != 0

/// CRC-32 (gzip's) over raw bytes: from 64 bytes on, the whole 16-byte blocks are folded
/// with PCLMULQDQ (CSys/crc32.h, about 7x zlib's tables here), from 256 bytes on with
/// VPCLMULQDQ where the CPU has it (4x that again), and the tail, and every CPU without
/// the instructions, goes through zlib's crc32.
@inline(__always) func crc32(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
    guard var base = bytes.baseAddress, !bytes.isEmpty else { return crc }
    var crc = crc, count = bytes.count
    if count >= 64 && crc32Folds {
        let folded = count & ~15
        // The fold works on zlib's internal value, without the pre- and post-inversion.
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        crc = ~(folded >= 256 && crc32FoldsWide ? sluice_crc32_fold_wide(bytes, folded, ~crc)
                                               : sluice_crc32_fold(bytes, folded, ~crc))
        base += folded
        count -= folded
        if count == 0 { return crc }
    }
    return UInt32(CZlib.crc32(uLong(crc), base.assumingMemoryBound(to: Bytef.self), uInt(count)))
}
