import CZstd

/// libzstd's compression context, freed when released (so a stage dropped before it ran
/// leaks nothing).
final class ZstdCompressor {
    let context: OpaquePointer

    init() throws(StageError) {
        guard let context = ZSTD_createCCtx() else { throw .failed("out of memory") }
        self.context = context
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Sets one parameter; libzstd refuses only a value out of its range, which the
    /// command line has already checked.
    func set(_ parameter: ZSTD_cParameter, _ value: Int) throws(StageError) {
        try Zstd.check(ZSTD_CCtx_setParameter(context, parameter, Int32(value)), "cannot set a zstd parameter")
    }
}

/// libzstd's streaming decompression context, freed when released.
final class ZstdDecompressor {
    let context: OpaquePointer

    init() throws(StageError) {
        guard let context = ZSTD_createDCtx() else { throw .failed("out of memory") }
        self.context = context
    }

    deinit { ZSTD_freeDCtx(context) }
}

/// What the zstd stages share: the format's constants and libzstd's error text.
public enum Zstd {
    /// libzstd's default limit on a decoder's window, 128 MiB (ZSTD_WINDOWLOG_LIMIT_DEFAULT):
    /// a frame that asks for more needs `--long=WLOG` or `--memory SIZE`, as with zstd.
    public static let defaultWindowLog = 27
    /// The largest window log a frame may have on 64-bit (ZSTD_WINDOWLOG_MAX_64).
    static let maxWindowLog = 31
    /// The longest frame header (magic, descriptor, window, dictionary ID, content size).
    static let maxHeaderBytes = 18
    /// zstd's own level when none is given.
    public static let defaultLevel = 3

    /// libzstd's name for the error in `code`, lowercased at the front as sluice's messages
    /// are (`Restored data doesn't match checksum` → `restored data ...`).
    static func errorName(_ code: Int) -> String {
        lowercasedFront(String(cString: ZSTD_getErrorName(code)))
    }

    /// The same for an error code (`ZSTD_error_checksum_wrong`).
    static func errorName(_ code: ZSTD_ErrorCode) -> String {
        lowercasedFront(String(cString: ZSTD_getErrorString(code)))
    }

    private static func lowercasedFront(_ text: String) -> String {
        var name = text
        if let first = name.first, first.isUppercase, name.dropFirst().first?.isLowercase ?? true {
            name = first.lowercased() + name.dropFirst()
        }
        return name
    }

    static func isError(_ code: Int) -> Bool { ZSTD_isError(code) != 0 }

    /// Throws `context: libzstd's error` if `code` is an error; returns it otherwise.
    @discardableResult
    static func check(_ code: Int, _ context: String) throws(StageError) -> Int {
        if isError(code) { throw .failed("\(context): \(errorName(code))") }
        return code
    }

    /// The smallest window log that covers `bytes`.
    static func windowLog(covering bytes: UInt64) -> Int {
        var log = 10
        while log < 63 && (UInt64(1) << UInt64(log)) < bytes { log += 1 }
        return log
    }
}
