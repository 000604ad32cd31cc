import Glibc

/// An RFC 1952 member header, parsed incrementally so that it may arrive split across
/// chunks at any byte. It keeps nothing but counters: a name or comment of any length,
/// or a 64 KiB extra field, is skipped, never stored.
///
///     +---+---+---+---+---+---+---+---+---+---+
///     |ID1|ID2|CM |FLG|     MTIME     |XFL|OS |  then, by FLG: FEXTRA (XLEN + data),
///     +---+---+---+---+---+---+---+---+---+---+  FNAME\0, FCOMMENT\0, FHCRC (2 bytes)
struct GzipHeaderParser {
    /// Where a header went wrong, relative to the header's first byte.
    enum Failure: Error, Equatable {
        /// ID1/ID2 are not 0x1f 0x8b; `position` is the first byte that differs.
        case badMagic(position: Int)
        case badMethod(UInt8, position: Int)
        case reservedFlags(UInt8, position: Int)
        case headerCRC(position: Int)
    }

    private enum Step {
        case fixed          // the first 10 bytes
        case extraLength    // XLEN, 2 bytes
        case extra          // XLEN bytes
        case name           // to a NUL
        case comment        // to a NUL
        case headerCRC      // 2 bytes
        case done
    }

    static let FTEXT: UInt8 = 1, FHCRC: UInt8 = 2, FEXTRA: UInt8 = 4, FNAME: UInt8 = 8, FCOMMENT: UInt8 = 16
    static let reservedMask: UInt8 = 0xE0

    private var step = Step.fixed
    /// The fixed part and the 2-byte fields, as they arrive.
    private var fixed: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    /// Bytes of the current step collected so far.
    private var stepBytes = 0
    /// The two bytes of XLEN or of the header CRC.
    private var pair: (UInt8, UInt8) = (0, 0)
    /// Extra-field bytes still to skip.
    private var extraRemaining = 0
    private var flags: UInt8 = 0
    /// CRC-32 of every header byte before FHCRC.
    private var crc: UInt32 = 0
    /// Header bytes consumed so far.
    private(set) var length = 0

    var isDone: Bool { step == .done }

    /// Consumes header bytes from the front of `bytes`; returns how many it took (fewer
    /// than all only when the header is complete).
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> Int {
        var i = 0
        while i < bytes.count && step != .done {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[i...])
            let taken = try feedStep(rest)
            // The header CRC covers every byte before the CRC field itself.
            if !isInCRCField { crc = crc32(crc, UnsafeRawBufferPointer(rebasing: rest.prefix(taken))) }
            i += taken
            length += taken
        }
        return i
    }

    /// True while the step just fed was the FHCRC field.
    private var isInCRCField = false

    private mutating func feedStep(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> Int {
        isInCRCField = step == .headerCRC
        switch step {
        case .fixed:
            let b = bytes[0]
            try checkFixedByte(b, at: stepBytes)
            withUnsafeMutableBytes(of: &fixed) { $0[stepBytes] = b }
            stepBytes += 1
            if stepBytes == 10 {
                flags = fixed.3
                advance(from: .fixed)
            }
            return 1
        case .extraLength:
            if stepBytes == 0 { pair.0 = bytes[0] } else { pair.1 = bytes[0] }
            stepBytes += 1
            if stepBytes == 2 {
                extraRemaining = Int(pair.0) | Int(pair.1) << 8
                step = .extra
                stepBytes = 0
                if extraRemaining == 0 { advance(from: .extra) }
            }
            return 1
        case .extra:
            let n = min(extraRemaining, bytes.count)
            extraRemaining -= n
            if extraRemaining == 0 { advance(from: .extra) }
            return n
        case .name, .comment:
            guard let nul = memchr(bytes.baseAddress!, 0, bytes.count) else { return bytes.count }
            let n = bytes.baseAddress!.distance(to: UnsafeRawPointer(nul)) + 1
            advance(from: step)
            return n
        case .headerCRC:
            if stepBytes == 0 { pair.0 = bytes[0] } else { pair.1 = bytes[0] }
            stepBytes += 1
            if stepBytes == 2 {
                let stored = UInt32(pair.0) | UInt32(pair.1) << 8
                if stored != crc & 0xFFFF { throw .headerCRC(position: length - 1) }
                step = .done
            }
            return 1
        case .done:
            return 0
        }
    }

    private func checkFixedByte(_ b: UInt8, at index: Int) throws(Failure) {
        switch index {
        case 0 where b != 0x1f, 1 where b != 0x8b: throw .badMagic(position: index)
        case 2 where b != 8: throw .badMethod(b, position: index)
        case 3 where b & Self.reservedMask != 0: throw .reservedFlags(b & Self.reservedMask, position: index)
        default: return
        }
    }

    /// Moves to the first optional field after `current` that the flags call for.
    private mutating func advance(from current: Step) {
        stepBytes = 0
        let order: [(Step, UInt8)] = [(.extraLength, Self.FEXTRA), (.name, Self.FNAME),
                                      (.comment, Self.FCOMMENT), (.headerCRC, Self.FHCRC)]
        let start: Int
        switch current {
        case .fixed: start = 0
        case .extraLength, .extra: start = 1
        case .name: start = 2
        case .comment: start = 3
        default: start = 4
        }
        for (candidate, flag) in order.dropFirst(start) where flags & flag != 0 {
            step = candidate
            return
        }
        step = .done
    }
}

/// The fixed bytes gzip writes around a member's deflate data.
enum GzipMember {
    /// RFC 1952: ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL OS=3 (Unix), as zlib writes it.
    static func header(level: Int) -> [UInt8] {
        let xfl: UInt8 = level == 9 ? 2 : level == 1 ? 4 : 0
        return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 3]
    }

    /// The trailer: CRC-32 and ISIZE (the length modulo 2^32), least significant first.
    static func trailer(crc: UInt32, length: UInt64) -> [UInt8] {
        var trailer = [UInt8](repeating: 0, count: 8)
        for i in 0..<4 {
            trailer[i] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(i)))
            trailer[4 + i] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(i)))
        }
        return trailer
    }
}

extension UInt32 {
    /// The 4 bytes at `p`, least significant first, as gzip stores its numbers.
    init(littleEndianAt p: UnsafeRawPointer) {
        self = UInt32(p.load(as: UInt8.self)) | UInt32(p.load(fromByteOffset: 1, as: UInt8.self)) << 8
            | UInt32(p.load(fromByteOffset: 2, as: UInt8.self)) << 16 | UInt32(p.load(fromByteOffset: 3, as: UInt8.self)) << 24
    }
}
