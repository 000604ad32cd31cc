/// Follows a zstd frame's structure (RFC 8878 §3.1.1) as its bytes pass, without decoding
/// it: block headers (3 bytes: last-block flag, type, size), block contents, the
/// checksum; or a skippable frame's content.
///
/// The decoder hands libzstd one part at a time (a block header, a block's content, the
/// checksum), so that when libzstd fails, the failing part is the current one, and the
/// error names its first byte whatever the chunk sizes were: libzstd itself reports no
/// position (and its streaming decoder leaves the input position unchanged on an error).
/// It never decides anything about the data: libzstd does, and says where a frame ends.
struct BlockWalker {
    enum Part: Equatable {
        case blockHeader
        case blockContent
        case checksum
        case skippableContent
        /// A legacy frame (zstd before 0.8), whose layout libzstd alone knows.
        case opaque
    }

    private(set) var part: Part
    /// Stream offset of the current block's header, of the checksum, or of the frame's
    /// content: what an error in this part names.
    private(set) var partStart: Int
    private var header: UInt32 = 0
    private var headerCount = 0
    /// Bytes left in the current content or checksum.
    private var left = 0
    private var isLastBlock = false
    private let hasChecksum: Bool
    /// The frame's checksum as stored (little-endian), once all 4 bytes passed.
    private(set) var storedChecksum: UInt32 = 0

    /// A frame whose header, `headerBytes` long at `frameStart`, libzstd has been given.
    /// `skippableBytes`: a skippable frame's content size; `legacy`: a frame libzstd's
    /// header parser does not know.
    init(frameStart: Int, headerBytes: Int, hasChecksum: Bool, skippableBytes: Int? = nil, legacy: Bool = false) {
        self.hasChecksum = hasChecksum
        partStart = frameStart + headerBytes
        if legacy {
            part = .opaque
        } else if let skippableBytes {
            part = .skippableContent
            left = skippableBytes
        } else {
            part = .blockHeader
        }
    }

    /// How many of the next `available` bytes belong to the current part (all of them
    /// for an opaque frame; at least one when `available` is not 0 and the frame goes on).
    func partBytes(_ available: Int) -> Int {
        switch part {
        case .blockHeader: return min(available, 3 - headerCount)
        case .blockContent, .checksum, .skippableContent: return min(available, left)
        case .opaque: return available
        }
    }

    /// `bytes` at `offset` passed (at most `partBytes` of them): moves to the next part
    /// when this one is complete.
    mutating func passed(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        switch part {
        case .blockHeader:
            for byte in bytes {
                header |= UInt32(byte) << (8 * UInt32(headerCount))
                headerCount += 1
            }
            guard headerCount == 3 else { return }
            isLastBlock = header & 1 != 0
            let size = Int(header >> 3)
            // An RLE block (type 1) holds one byte, whatever size it decodes to.
            left = (header >> 1) & 3 == 1 ? 1 : size
            (header, headerCount) = (0, 0)
            part = .blockContent
            if left == 0 { contentEnded(at: offset + bytes.count) }
        case .blockContent:
            left -= bytes.count
            if left == 0 { contentEnded(at: offset + bytes.count) }
        case .checksum:
            for byte in bytes {
                storedChecksum |= UInt32(byte) << (8 * UInt32(4 - left))
                left -= 1
            }
        case .skippableContent:
            left -= bytes.count
        case .opaque:
            break
        }
    }

    private mutating func contentEnded(at end: Int) {
        partStart = end
        if !isLastBlock {
            part = .blockHeader
        } else if hasChecksum {
            part = .checksum
            left = 4
        } else {
            // The frame ends here; libzstd says so.
            part = .checksum
            left = 0
        }
    }
}
