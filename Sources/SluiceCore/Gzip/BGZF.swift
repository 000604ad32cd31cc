/// BGZF, the blocked gzip of the SAM/BAM specification (section 4.1) that `bgzip`,
/// htslib and tabix read and write: a series of ordinary gzip members, each of at most
/// 64 KiB, each carrying its own compressed size in a `BC` extra subfield, and ending
/// with an empty member. Any gzip tool reads it as one stream; a reader that knows the
/// size finds every member without decoding the one before, so members can be decoded
/// in parallel and indexed (`bgzip -r`).
///
///     1f 8b 08 04  00 00 00 00  00 ff  06 00  'B' 'C' 02 00  BSIZE(2)   header, 18 bytes
///     raw deflate (CDATA)  CRC32(4)  ISIZE(4)                           BSIZE + 1 in all
enum BGZF {
    /// 65280 (0xff00): the input of one block, as htslib's BGZF_BLOCK_SIZE; deflateBound
    /// of it plus header and trailer is under 64 KiB, so any block fits at any level.
    static let blockInputBytes = 0xff00
    /// 65536: BSIZE is 16 bits and counts the member's bytes minus one.
    static let maxMemberBytes = 1 << 16
    /// Header (18) and trailer (8) around the deflate data of a block.
    static let headerBytes = 18
    static let trailerBytes = 8
    /// 12: a member's fixed header (10 bytes) and XLEN, where `locate` first looks.
    static let fixedHeaderBytes = 12

    /// The header of a block whose member is `memberBytes` long, as htslib writes it
    /// (MTIME 0, XFL 0, OS 255).
    static func header(memberBytes: Int) -> [UInt8] {
        let bsize = memberBytes - 1
        return [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43, 2, 0,
                UInt8(truncatingIfNeeded: bsize), UInt8(truncatingIfNeeded: bsize >> 8)]
    }

    /// The standard end-of-file marker: an empty block (SAM/BAM spec 4.1.2).
    static let endOfFile: [UInt8] = [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, 6, 0, 0x42, 0x43, 2, 0,
                                     0x1b, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]

    /// What the first bytes of a member tell about its size.
    enum Located: Equatable {
        /// More bytes are needed: at least this many from the member's start.
        case needs(Int)
        /// The member is this many bytes long, by its `BC` subfield.
        case member(bytes: Int)
        /// The member's size is not known from its header (no `BC` subfield, not gzip,
        /// a header too long for a block): it must be decoded to be found.
        case unknown
    }

    /// Reads a member's size from the first bytes of its header: any gzip member whose
    /// extra field has a `BC` subfield of two bytes (SLEN 2) is located, whatever other
    /// subfields or header fields it has.
    static func locate(_ head: UnsafeRawBufferPointer) -> Located {
        let fixed = fixedHeaderBytes
        if head.count < fixed { return .needs(fixed) }
        // ID1 ID2 CM, then FLG with FEXTRA and no reserved bit.
        if head[0] != 0x1f || head[1] != 0x8b || head[2] != 8 { return .unknown }
        if head[3] & GzipHeaderParser.FEXTRA == 0 || head[3] & GzipHeaderParser.reservedMask != 0 { return .unknown }
        let extraBytes = Int(head[10]) | Int(head[11]) << 8
        if fixed + extraBytes + trailerBytes > maxMemberBytes { return .unknown }
        if head.count < fixed + extraBytes { return .needs(fixed + extraBytes) }
        var i = fixed
        while i + 4 <= fixed + extraBytes {
            let length = Int(head[i + 2]) | Int(head[i + 3]) << 8
            if head[i] == 0x42 && head[i + 1] == 0x43 && length == 2 && i + 6 <= fixed + extraBytes {
                let bytes = (Int(head[i + 4]) | Int(head[i + 5]) << 8) + 1
                return bytes >= fixed + extraBytes + trailerBytes ? .member(bytes: bytes) : .unknown
            }
            i += 4 + length
        }
        return .unknown
    }
}
