import CZstd

/// Builders for zstd test data, independent of the stages under test: libzstd's one-shot
/// compressor and decompressor, and hand-made skippable frames and headers.
public enum ZstdFixture {
    /// One frame of `input` made all at once (its content size in the header unless
    /// `hasContentSize` is false), with a checksum unless `hasChecksum` is false.
    public static func compress(_ input: [UInt8], level: Int32 = 3, hasChecksum: Bool = true,
                                hasContentSize: Bool = true, windowLog: Int32? = nil) -> [UInt8] {
        let context = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, hasChecksum ? 1 : 0)
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, hasContentSize ? 1 : 0)
        if let windowLog { ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, windowLog) }
        var out = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count))
        let n = out.withUnsafeMutableBytes { o in
            input.withUnsafeBytes { i in ZSTD_compress2(context, o.baseAddress, o.count, i.baseAddress, i.count) }
        }
        precondition(ZSTD_isError(n) == 0)
        return Array(out.prefix(n))
    }

    /// libzstd's decoding of a whole stream of frames, or its error's name; `maxWindowLog`
    /// as the stage's default.
    public static func decompress(_ data: [UInt8], maxWindowLog: Int32 = 27) -> Result<[UInt8], ZstdFailure> {
        let context = ZSTD_createDCtx()!
        defer { ZSTD_freeDCtx(context) }
        ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, maxWindowLog)
        var output: [UInt8] = []
        var space = [UInt8](repeating: 0, count: 1 << 16)
        let left: Int = data.withUnsafeBytes { d in
            var input = ZSTD_inBuffer(src: d.baseAddress, size: d.count, pos: 0)
            while true {
                let (r, made) = space.withUnsafeMutableBytes { s in
                    var out = ZSTD_outBuffer(dst: s.baseAddress, size: s.count, pos: 0)
                    return (ZSTD_decompressStream(context, &out, &input), out.pos)
                }
                output += space.prefix(made)
                if ZSTD_isError(r) != 0 || input.pos == input.size && made < space.count { return r }
            }
        }
        if ZSTD_isError(left) != 0 {
            return .failure(ZstdFailure(name: String(cString: ZSTD_getErrorName(left)), output: output))
        }
        // Input used up inside a frame.
        if left != 0 { return .failure(ZstdFailure(name: "truncated", output: output)) }
        return .success(output)
    }

    /// The size of the frame after the pzstd size frame at `at` (a skippable frame of 4
    /// bytes), checked against libzstd's own reading of that frame; nil if either is not there.
    public static func pzstdFrameSize(_ data: [UInt8], at: Int) -> Int? {
        guard at + 12 <= data.count, data[at ..< at + 8].elementsEqual([0x50, 0x2A, 0x4D, 0x18, 4, 0, 0, 0]) else { return nil }
        let size = (0..<4).reduce(0) { $0 | Int(data[at + 8 + $1]) << (8 * $1) }
        let found = data.withUnsafeBytes { ZSTD_findFrameCompressedSize($0.baseAddress! + at + 12, $0.count - at - 12) }
        return ZSTD_isError(found) == 0 && found == size ? size : nil
    }

    /// A skippable frame (magic 0x184D2A5`nibble`) holding `content`.
    public static func skippable(_ content: [UInt8], nibble: UInt8 = 0) -> [UInt8] {
        let size = UInt32(content.count)
        return [0x50 | nibble, 0x2A, 0x4D, 0x18] + (0..<4).map { UInt8(truncatingIfNeeded: size >> (8 * $0)) } + content
    }
}

/// What libzstd said of a damaged stream, and what it decoded before.
public struct ZstdFailure: Error, Equatable {
    public let name: String
    public let output: [UInt8]
}
