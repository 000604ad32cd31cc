/// gunzip's `ChecksumChecker`: a member's CRC-32 and length mod 2^32 against its trailer.
typealias CRCChecker = ChecksumChecker<GzipCheck>

/// A gzip member's CRC-32 and length mod 2^32, as its trailer states them.
struct GzipCheck: RunningCheck {
    /// What the trailer says; the member's 1-based number and the trailer's first byte
    /// for the message.
    struct Trailer {
        var storedCRC: UInt32
        var storedLength: UInt32
        var member: Int
        var trailerOffset: Int
    }

    var crc: UInt32 = 0
    var length: UInt32 = 0

    init() {}

    init(crc: UInt32, length: UInt32) {
        (self.crc, self.length) = (crc, length)
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        crc = crc32(crc, bytes)
        length &+= UInt32(truncatingIfNeeded: bytes.count)
    }

    mutating func reset() {
        (crc, length) = (0, 0)
    }

    func mismatch(_ end: Trailer) -> String? {
        if end.storedCRC != crc {
            return "CRC mismatch in member \(end.member) at byte \(end.trailerOffset) "
                + "(stored 0x\(Self.hex(end.storedCRC)), computed 0x\(Self.hex(crc)))"
        }
        if end.storedLength != length {
            return "length mismatch in member \(end.member) at byte \(end.trailerOffset + 4) "
                + "(stored \(end.storedLength), decompressed \(length) mod 2^32)"
        }
        return nil
    }

    private static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}
