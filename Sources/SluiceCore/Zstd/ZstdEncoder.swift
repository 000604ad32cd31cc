import CZstd

/// How a zstd frame is made: what the command line chose.
public struct ZstdParameters: Sendable, Equatable {
    /// -131072 (`--fast=131072`) to 22 (`--ultra -22`); 3 is zstd's default.
    public var level = Zstd.defaultLevel
    /// A content checksum (XXH64) at the end of each frame, as zstd writes by default.
    public var hasChecksum = true
    /// `--long[=WLOG]`: long-distance matching over a window of 2^WLOG bytes; nil: off.
    public var longWindowLog: Int?

    public init(level: Int = Zstd.defaultLevel, hasChecksum: Bool = true, longWindowLog: Int? = nil) {
        self.level = level
        self.hasChecksum = hasChecksum
        self.longWindowLog = longWindowLog
    }

    /// Sets them on a compression context.
    func apply(to compressor: ZstdCompressor) throws(StageError) {
        try compressor.set(ZSTD_c_compressionLevel, level)
        try compressor.set(ZSTD_c_checksumFlag, hasChecksum ? 1 : 0)
        if let log = longWindowLog {
            try compressor.set(ZSTD_c_enableLongDistanceMatching, 1)
            try compressor.set(ZSTD_c_windowLog, log)
        }
    }

    /// What a streaming context with these parameters holds at most, by libzstd's own
    /// estimate (window, hash and chain tables, block buffers) for input of unknown size;
    /// `sourceBytes` when each frame's size is known in advance (its tables shrink to it).
    func heldBytes(sourceBytes: Int? = nil) -> Int {
        guard let params = ZSTD_createCCtxParams() else { return 0 }
        defer { ZSTD_freeCCtxParams(params) }
        ZSTD_CCtxParams_init(params, Int32(level))
        if let log = longWindowLog {
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_enableLongDistanceMatching, 1)
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_windowLog, Int32(log))
            // libzstd 1.5.4 estimates with the long-distance parameters as given, and
            // divides by the minimum match when none is (SIGFPE): state the ones
            // ZSTD_ldm_adjustParameters picks when compressing.
            let hashLog = max(6, log - 7)
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmMinMatch, 64)
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmBucketSizeLog, 3)
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmHashLog, Int32(hashLog))
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_ldmHashRateLog, Int32(log - hashLog))
        }
        if let sourceBytes {
            // The parameters libzstd would pick for a frame of this size.
            let c = ZSTD_getCParams(Int32(level), UInt64(sourceBytes), 0)
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_windowLog, Int32(max(Int(c.windowLog), longWindowLog ?? 0)))
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_hashLog, Int32(c.hashLog))
            ZSTD_CCtxParams_setParameter(params, ZSTD_c_chainLog, Int32(c.chainLog))
        }
        let bytes = ZSTD_estimateCStreamSize_usingCCtxParams(params)
        return Zstd.isError(bytes) ? 0 : bytes
    }
}

/// libzstd's streaming compressor, writing into an `Emitter`'s chunks: one frame, or a
/// frame per `restart` (`--adapt` on one thread starts a new frame at a new level).
final class ZstdEncoder {
    private let compressor: ZstdCompressor
    private(set) var parameters: ZstdParameters

    init(_ parameters: ZstdParameters) throws(StageError) {
        self.parameters = parameters
        compressor = try ZstdCompressor()
        try parameters.apply(to: compressor)
    }

    /// Compresses `input` with `mode` (`ZSTD_e_continue`, `_flush`, `_end`), emitting
    /// output as it comes; returns when libzstd took all input (and, to flush or end, when
    /// everything is out).
    func compress(_ input: UnsafeRawBufferPointer, mode: ZSTD_EndDirective, into out: inout Emitter) throws(StageError) {
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        while true {
            let space = out.reserve()
            var output = ZSTD_outBuffer(dst: space.baseAddress, size: space.count, pos: 0)
            let left = ZSTD_compressStream2(compressor.context, &output, &source, mode)
            try out.commit(output.pos)
            try Zstd.check(left, "libzstd's compression failed")
            if mode == ZSTD_e_continue ? source.pos == source.size : left == 0 { return }
        }
    }

    /// Ends the current frame and starts the next with `level`.
    func restart(level: Int, into out: inout Emitter) throws(StageError) {
        try compress(UnsafeRawBufferPointer(start: nil, count: 0), mode: ZSTD_e_end, into: &out)
        parameters.level = level
        try compressor.set(ZSTD_c_compressionLevel, level)
    }
}
