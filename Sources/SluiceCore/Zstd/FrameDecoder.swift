import CZstd

/// The sequential zstd decoder: a state machine over the compressed bytes, frame after
/// frame, as `zstd -dc` reads them (the same libzstd does the decoding).
///
/// Each frame's header is read here first, at most 18 bytes, so that a frame whose window
/// is over the limit is refused with a message naming the flag that allows it before
/// libzstd allocates anything for it (the libzstd limit, `ZSTD_DCtx_setMaxWindowSize`,
/// stays set as a backstop: a legacy frame's header is libzstd's alone to read), and so
/// that every error can name its frame and byte offset. Then the frame goes through
/// `ZSTD_decompressStream` straight into the emitter's pending chunk, never more than one
/// chunk at a time: a zstd bomb moves through bounded buffers and a slow consumer stops
/// decompression. Skippable frames are skipped here, by their header's size; they count
/// as frames in messages.
///
/// Each frame's checksum is libzstd's to verify, or, given a `FrameChecker`
/// (`checkElsewhere`), that thread's: libzstd skips it, and each frame's end, with the
/// checksum the walker read, is handed over as the frame ends.
///
/// Bytes after a frame that are not a frame's start are trailing garbage (`--trailing`);
/// zstd has no padding, so zeros are garbage too, as `zstd -dc` says.
struct FrameDecoder {
    private enum Phase {
        case head       // reading a frame's header into `head`
        case ready      // the header read, waiting for `startFrame` or `handOff`
        case frame      // decompressing
        case elsewhere  // the frame handed off, until `skipFrame`
        case ignoring   // trailing garbage, ignored by policy
    }

    private let context: ZstdDecompressor
    private let policy: TrailingPolicy
    /// The largest window a frame may ask for (`--long`, `--memory`).
    let maxWindowBytes: UInt64
    private var phase = Phase.head
    /// The current frame's header bytes so far; never more than `Zstd.maxHeaderBytes`.
    private var head: [UInt8] = []
    /// Compressed bytes consumed before the current position: the offsets in messages.
    private(set) var offset = 0
    /// 1-based number of the frame being read, skippable ones included.
    private(set) var frame = 1
    /// Offset of the current frame's first byte.
    private var frameStart = 0
    /// Where in the current frame the decoder is: what an error names.
    private var walker = BlockWalker(frameStart: 0, headerBytes: 0, hasChecksum: false)
    /// The header of the frame being read, once `head` holds all of it; nil for a
    /// legacy frame.
    private var frameHeader: ZSTD_frameHeader?
    /// Bytes the current frame decoded to so far.
    private var frameOutputBytes: UInt64 = 0
    /// Bytes of output made so far, all frames: the checker's positions.
    var emittedBytes = 0
    /// Verifies the checksums instead of libzstd, on its own thread.
    private var checker: FrameChecker?
    /// Set when trailing garbage was ignored under `--trailing=warn`, for the stage to
    /// print once; cleared by the stage.
    var warning: String?
    /// Stop after each frame's header (`readyFrame`), for the stage to say who decodes
    /// the frame: `startFrame` here, or `handOff` to the parallel decoder.
    var stopsAtFrames = false

    init(trailing: TrailingPolicy, maxWindowBytes: UInt64) throws(StageError) {
        policy = trailing
        self.maxWindowBytes = maxWindowBytes
        context = try ZstdDecompressor()
        head.reserveCapacity(Zstd.maxHeaderBytes)
        // A size_t: at most 2^31 here, so the cast is exact.
        try Zstd.check(ZSTD_DCtx_setMaxWindowSize(context.context, Int(maxWindowBytes)), "cannot start zstd's decoder")
    }

    /// From here on `checker` verifies every frame's checksum, libzstd none.
    mutating func checkElsewhere(_ checker: FrameChecker) throws(StageError) {
        // ZSTD_d_forceIgnoreChecksum (a macro Swift does not import): libzstd still reads
        // the checksum, and says where the frame ends after it.
        try Zstd.check(ZSTD_DCtx_setParameter(context.context, ZSTD_d_experimentalParam3, Int32(ZSTD_d_ignoreChecksum.rawValue)),
                       "cannot start zstd's decoder")
        self.checker = checker
    }

    /// Consumes bytes from the front of `bytes`; returns how many.
    mutating func step(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> Int {
        let taken: Int
        switch phase {
        case .head: taken = try readHead(bytes, into: &out)
        case .ready:
            try startFrame(into: &out)
            taken = 0
        case .frame: taken = try decodeParts(bytes, into: &out)
        case .elsewhere: preconditionFailure("the frame was handed off: skipFrame comes first")
        case .ignoring: taken = bytes.count
        }
        offset += taken
        return taken
    }

    /// End of input: an error unless it came between frames or in ignored garbage.
    mutating func finish() throws(StageError) {
        switch phase {
        case .ignoring:
            return
        case .ready, .frame, .elsewhere:
            throw .failed("unexpected end of input in frame \(frame) at byte \(offset)")
        case .head:
            if head.isEmpty {
                if offset == 0 { throw .failed("unexpected end of input at byte 0 (empty input)") }
                return
            }
            // Less than a magic number is not a frame, as zstd sees it ("unknown header");
            // a frame's header cut short is a frame cut short.
            if head.count < 4 { return try notAFrame() }
            if try examineHead() != nil {
                throw .failed("unexpected end of input in frame \(frame) at byte \(offset)")
            }
        }
    }

    // MARK: Phases

    /// Collects the header, as many bytes as libzstd says it needs, then checks the
    /// window and hands the header to libzstd.
    private mutating func readHead(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> Int {
        var taken = 0
        while let needed = try examineHead() {
            if phase == .ignoring { return bytes.count }
            guard taken < bytes.count else { return taken }
            let n = min(needed - head.count, bytes.count - taken)
            head.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[taken ..< taken + n]))
            taken += n
        }
        if phase == .ignoring { return bytes.count }
        phase = .ready
        if !stopsAtFrames { try startFrame(into: &out) }
        return taken
    }

    /// The frame whose header was just read, when the decoder stops at frames: its header
    /// (nil for a legacy frame), its bytes so far, its number and its first byte's offset.
    var readyFrame: (header: ZSTD_frameHeader?, head: [UInt8], frame: Int, start: Int)? {
        phase == .ready ? (frameHeader, head, frame, frameStart) : nil
    }

    /// The header read, libzstd decodes the frame here; a skippable frame is skipped here
    /// (so that libzstd's context holds nothing between real frames, and the stage may
    /// borrow it for a frame of the threads' while one is skipped).
    mutating func startFrame(into out: inout Emitter) throws(StageError) {
        precondition(phase == .ready)
        phase = .frame
        if let h = frameHeader, h.frameType == ZSTD_skippableFrame {
            walker = BlockWalker(frameStart: frameStart, headerBytes: head.count, hasChecksum: false,
                                 skippableBytes: Int(h.frameContentSize))
            if walker.partBytes(1) == 0 { nextFrame(at: frameStart + head.count) }
            return
        }
        if let h = frameHeader {
            walker = BlockWalker(frameStart: frameStart, headerBytes: head.count, hasChecksum: h.checksumFlag != 0)
        } else {
            walker = BlockWalker(frameStart: frameStart, headerBytes: head.count, hasChecksum: false, legacy: true)
        }
        let header = head
        var ended: Int?, failure: StageError?
        header.withUnsafeBytes { h in
            do throws(StageError) { ended = try decompress(h, at: frameStart, naming: frameStart, into: &out) } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        if let ended {
            try handOverEnd()
            nextFrame(at: frameStart + ended)
        }
    }

    /// The header read, the frame is decoded elsewhere; `skipFrame` moves past it.
    mutating func handOff() {
        precondition(phase == .ready)
        phase = .elsewhere
    }

    /// Moves past the frame handed off, which ends at `end`.
    mutating func skipFrame(endingAt end: Int) {
        precondition(phase == .elsewhere)
        offset = end
        nextFrame(at: end)
    }

    /// Goes back to the start of frame `number` at `start`, to decode it here after all
    /// (libzstd's context starts afresh).
    mutating func restart(frame number: Int, at start: Int) {
        ZSTD_DCtx_reset(context.context, ZSTD_reset_session_only)
        (frame, frameStart, offset) = (number, start, start)
        frameOutputBytes = 0
        head.removeAll(keepingCapacity: true)
        phase = .head
    }

    /// At a frame's first byte, nothing of it read.
    var isBetweenFrames: Bool { phase == .head && head.isEmpty }

    /// How many header bytes are needed in all, or nil once `head` holds the whole header
    /// (and its window is allowed). A head that is not a frame start ends in garbage.
    private mutating func examineHead() throws(StageError) -> Int? {
        // The magic number first, whole: what is not a frame is told by it (and gzip data
        // by its first two bytes, for the message).
        if head.count < 4 { return 4 }
        var header = ZSTD_frameHeader()
        let r = head.withUnsafeBytes { ZSTD_getFrameHeader(&header, $0.baseAddress, $0.count) }
        guard head.withUnsafeBytes({ ZSTD_isFrame($0.baseAddress, $0.count) }) != 0 else {
            try notAFrame()
            return nil
        }
        if Zstd.isError(r) {
            // A legacy frame (zstd before 0.8): its header is libzstd's to read.
            if ZSTD_getErrorCode(r) == ZSTD_error_prefix_unknown {
                frameHeader = nil
                return nil
            }
            throw .failed("\(Zstd.errorName(r)) in frame \(frame) at byte \(frameStart)")
        }
        if r > 0 { return r }
        if header.frameType == ZSTD_frame && header.windowSize > maxWindowBytes {
            let log = Zstd.windowLog(covering: header.windowSize)
            let allow = log <= Zstd.maxWindowLog ? ": " + Self.limitFlags(windowLog: log) + " allows it" : ""
            throw .failed("frame \(frame) at byte \(frameStart) needs a \(Sizes.human(Int(clamping: header.windowSize))) "
                + "window, over the limit of \(Sizes.human(Int(maxWindowBytes)))\(allow)")
        }
        frameHeader = header
        return nil
    }

    /// The bytes at the frame start are not a frame: the input is not zstd, or after the
    /// last frame, trailing garbage.
    private mutating func notAFrame() throws(StageError) {
        if frame == 1 {
            let isGzip = head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B
            throw .failed("not in zstd format at byte \(frameStart)\(isGzip ? " (gzip data: use gunzip)" : "")")
        }
        switch policy {
        case .error: throw .failed("trailing garbage at byte \(frameStart)")
        case .warn: warning = "warning: trailing garbage at byte \(frameStart) ignored"
        case .ignore: break
        }
        phase = .ignoring
    }

    /// Hands `bytes` to libzstd part by part (`BlockWalker`) until they are used up or the
    /// frame ends; returns how many it took. A skippable frame's content passes by.
    private mutating func decodeParts(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> Int {
        var used = 0
        if walker.part == .skippableContent {
            used = walker.partBytes(bytes.count)
            walker.passed(UnsafeRawBufferPointer(rebasing: bytes.prefix(used)), at: offset)
            if walker.partBytes(1) == 0 { nextFrame(at: offset + used) }
            return used
        }
        while used < bytes.count {
            // A walker that lost its way (it never should) hands on the rest at once.
            let n = walker.partBytes(bytes.count - used)
            let part = UnsafeRawBufferPointer(rebasing: bytes[used ..< used + (n > 0 ? n : bytes.count - used)])
            let ended = try decompress(part, at: offset + used, naming: walker.partStart, into: &out)
            walker.passed(UnsafeRawBufferPointer(rebasing: part.prefix(ended ?? part.count)), at: offset + used)
            used += ended ?? part.count
            if ended != nil {
                try handOverEnd()
                try checkContentSize(endingAt: offset + used)
                nextFrame(at: offset + used)
                break
            }
        }
        return used
    }

    /// libzstd decompresses `bytes` (at stream offset `base`), emitting as it goes: all of
    /// them, or, if the frame ends, those up to its end, whose count it returns (a part
    /// ends where its frame does; an opaque legacy frame's may not). An error names the
    /// part starting at `partStart` (in a legacy frame, where the call began).
    private mutating func decompress(_ bytes: UnsafeRawBufferPointer, at base: Int, naming partStart: Int,
                                     into out: inout Emitter) throws(StageError) -> Int? {
        var input = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while true {
            let space = out.reserve()
            var output = ZSTD_outBuffer(dst: space.baseAddress, size: space.count, pos: 0)
            let r = ZSTD_decompressStream(context.context, &output, &input)
            try out.commit(output.pos)
            frameOutputBytes += UInt64(output.pos)
            emittedBytes += output.pos
            if Zstd.isError(r) {
                let at = walker.part == .opaque ? base : partStart
                throw .failed("\(Zstd.errorName(r)) in frame \(frame) at byte \(at)")
            }
            // The frame is decoded and all its output flushed.
            if r == 0 { return input.pos }
            // Out of input with room to spare: libzstd has flushed all it can.
            if input.pos == input.size && output.pos < output.size { return nil }
        }
    }

    /// The frame ended: with a checker, where its output ends and its checksum go to it
    /// (the mismatch at once if it has checked every byte of the frame already).
    private func handOverEnd() throws(StageError) {
        guard let checker else { return }
        let hasChecksum = frameHeader.map { $0.frameType == ZSTD_frame && $0.checksumFlag != 0 } ?? false
        let end = FrameChecker.End(outputEnd: emittedBytes,
                                   trailer: FrameCheck.Trailer(stored: hasChecksum ? walker.storedChecksum : nil,
                                                               frame: frame, offset: walker.partStart))
        if let mismatch = checker.expect(end) { throw .failed(mismatch) }
    }

    /// A frame whose header gives its content size must decode to exactly that many
    /// bytes. libzstd 1.5.4 checks this when it has the whole frame at once (as `zstd -dc`
    /// mostly does) but not in its streaming path, so it is checked here.
    private func checkContentSize(endingAt end: Int) throws(StageError) {
        guard let h = frameHeader, h.frameType == ZSTD_frame, h.frameContentSize != UInt64.max,  // ZSTD_CONTENTSIZE_UNKNOWN
              frameOutputBytes != h.frameContentSize else { return }
        throw .failed("data corruption detected (the frame decodes to \(frameOutputBytes) bytes, its header says "
            + "\(h.frameContentSize)) in frame \(frame) at byte \(end)")
    }

    /// The frame ended at `end`: the next one's head comes.
    private mutating func nextFrame(at end: Int) {
        frameOutputBytes = 0
        frame += 1
        frameStart = end
        head.removeAll(keepingCapacity: true)
        phase = .head
    }

    /// The flags that allow a window of 2^`windowLog`, as zstd names them:
    /// `--long=30 or --memory 1G`.
    static func limitFlags(windowLog: Int) -> String {
        let size = windowLog >= 30 ? "\(1 << (windowLog - 30))G" : windowLog >= 20 ? "\(1 << (windowLog - 20))M"
            : "\(1 << (windowLog - 10))K"
        return "--long=\(windowLog) or --memory \(size)"
    }

    /// libzstd's streaming decoder for windows up to `maxWindowBytes` (the window, its
    /// block buffers and its tables), and the header bytes.
    static func heldBytes(maxWindowBytes: UInt64) -> Int {
        ZSTD_estimateDStreamSize(Int(maxWindowBytes)) + Zstd.maxHeaderBytes
    }
}
