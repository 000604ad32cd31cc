import CZstd

/// unzstd's `ChecksumChecker`: each frame's content checksum, verified on a second thread
/// while the stage's thread decodes (libzstd told to skip its own check), as gunzip's
/// CRC-32 is; 8% of a single frame's decoding time moves off the critical path.
typealias FrameChecker = ChecksumChecker<FrameCheck>

/// A zstd frame's content checksum (RFC 8878 §3.1.1): the low 32 bits of XXH64, seed 0,
/// over the frame's output, through libzstd's own XXH64.
struct FrameCheck: RunningCheck {
    /// What the frame's end says: its checksum if it has one (without, or for a
    /// skippable or legacy frame, the end only marks where the next frame's hash begins),
    /// and for the message its number and the checksum's first byte.
    struct Trailer {
        var stored: UInt32?
        var frame: Int
        var offset: Int
    }

    /// libzstd's hash state, allocated once (88 bytes), reset at each frame's end.
    private final class State {
        let pointer: OpaquePointer

        init() {
            guard let state = ZSTD_XXH64_createState() else { fatalError("out of memory for an XXH64 state") }
            pointer = state
            ZSTD_XXH64_reset(pointer, 0)
        }

        deinit { ZSTD_XXH64_freeState(pointer) }
    }

    private let state = State()

    init() {}

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        ZSTD_XXH64_update(state.pointer, base, bytes.count)
    }

    func reset() { ZSTD_XXH64_reset(state.pointer, 0) }

    func mismatch(_ end: Trailer) -> String? {
        guard let stored = end.stored else { return nil }
        let computed = UInt32(truncatingIfNeeded: ZSTD_XXH64_digest(state.pointer))
        guard computed != stored else { return nil }
        return "\(Zstd.errorName(ZSTD_error_checksum_wrong)) in frame \(end.frame) at byte \(end.offset)"
    }
}
