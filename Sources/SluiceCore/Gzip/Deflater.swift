import CZlib

/// zlib's deflate, writing into an `Emitter`'s chunks: the single-threaded gzip engine.
final class Deflater {
    private let z = ZStream(.deflate)

    /// deflateInit2 with windowBits 31 (one gzip member with zlib's header and trailer)
    /// and memLevel 8, zlib's default.
    init(level: Int) throws(StageError) {
        let r = sluice_deflateInit2(z.pointer, Int32(level), Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY)
        if r != Z_OK { throw .failed(r == Z_MEM_ERROR ? "out of memory" : "cannot start zlib's deflate (\(r))") }
        z.isActive = true
    }

    /// Compresses `input` with `flush` (Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH...), emitting
    /// output as it comes; returns when zlib has taken all input (and, for Z_FINISH,
    /// written the end of the stream).
    func compress(_ input: UnsafeRawBufferPointer, flush: Int32, into out: inout Emitter) throws(StageError) {
        z.setInput(input)
        while true {
            let space = out.reserve()
            let size = z.setOutput(space)
            let r = deflate(z.pointer, flush)
            try out.commit(size - z.availableOut)
            if r == Z_STREAM_ERROR { throw .failed("zlib's deflate failed: \(z.message(or: "stream error"))") }
            if flush == Z_FINISH {
                if r == Z_STREAM_END { return }
                continue
            }
            // All input taken and output space left over: zlib has nothing more to say.
            if z.availableIn == 0 && z.availableOut > 0 { return }
        }
    }

    /// deflateParams: `level` from here on; what was taken before is compressed at the
    /// old level first, so zlib may emit output, hence the emitter.
    func setLevel(_ level: Int, into out: inout Emitter) throws(StageError) {
        z.setInput(UnsafeRawBufferPointer(start: nil, count: 0))
        while true {
            let space = out.reserve()
            let size = z.setOutput(space)
            let r = deflateParams(z.pointer, Int32(level), Z_DEFAULT_STRATEGY)
            try out.commit(size - z.availableOut)
            if r == Z_OK { return }
            if r != Z_BUF_ERROR { throw .failed("zlib's deflateParams failed (\(r))") }
        }
    }

    /// deflateEnd, once (also done when the deflater is released).
    func end() { z.end() }

    /// The heap memory deflate holds for `level` and memLevel 8: zlib's documented
    /// (1 << (windowBits + 2)) + (1 << (memLevel + 9)) plus its state, about 268 KiB.
    static let heldBytes = (1 << 17) + (1 << 17) + (12 << 10)
}
