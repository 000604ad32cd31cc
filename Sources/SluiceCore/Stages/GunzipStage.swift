import CZlib

/// `gunzip`: decompresses gzip input, member after member, as `gzip -d` does.
///
/// The header and trailer are parsed here (so every error can name its member and byte
/// offset); the deflate body goes through zlib's raw inflate. Output is inflated straight
/// into the pending output chunk, never more than one chunk at a time, so a gzip bomb
/// moves through bounded buffers and a slow consumer stops inflation. The CRC-32 of the
/// output is computed by a `CRCChecker` thread, which forwards the chunks downstream.
public struct GunzipStage: Stage {
    /// What to do with bytes after the last member that are neither a member nor zeros.
    public enum TrailingPolicy: String, Sendable, CaseIterable {
        case error, warn, ignore
    }

    private enum Phase {
        case header     // parsing a member header
        case body       // inflating
        case trailer    // reading CRC-32 and ISIZE
        case between    // after a member: another member, zero padding, or garbage
        case padding    // zeros after the last member (tape padding), ignored
        case ignoring   // trailing garbage, ignored by policy
    }

    private let z = ZStream(.inflate)
    private let policy: TrailingPolicy
    private let diagnostics: Diagnostics?
    private var phase = Phase.header
    private var header = GzipHeaderParser()
    /// Compressed bytes consumed before the current position: the offsets in messages.
    private var offset = 0
    /// 1-based number of the member being read.
    private var member = 1
    /// Offset of the current member's first byte.
    private var memberStart = 0
    /// Checks the CRC of the output on its own thread, and forwards it; from `begin`.
    private var checker: CRCChecker?
    /// Output goes here, into the checker's inbox, not to the stage's `out`.
    private var inner: Emitter!
    /// Bytes of output made so far, all members.
    private var emittedBytes = 0
    /// The 8 trailer bytes, `trailerCount` of them collected.
    private var trailer: UInt64 = 0
    private var trailerCount = 0

    public init(trailing: TrailingPolicy = .error, diagnostics: Diagnostics? = nil) throws(StageError) {
        policy = trailing
        self.diagnostics = diagnostics
        // Raw deflate (-15): the gzip wrapper is ours to parse.
        if sluice_inflateInit2(z.pointer, -15) != Z_OK {
            throw .failed("cannot start zlib's inflate: out of memory")
        }
        z.isActive = true
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        let checker = CRCChecker(output: out.channel, pool: out.pool, outputStats: out.stats)
        inner = Emitter(channel: checker.inbox, pool: out.pool, stats: out.stats, countsBytes: false)
        checker.start()
        self.checker = checker
        return .more
    }

    public mutating func willWait(into out: inout Emitter) throws(StageError) {
        try inner.flush()
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        var rest = input.bytes
        while !rest.isEmpty {
            let taken: Int
            switch phase {
            case .header: taken = try parseHeader(rest)
            case .body: taken = try inflate(rest)
            case .trailer: taken = try readTrailer(rest)
            case .between: taken = try decideAfterMember(rest)
            case .padding: taken = try skipZeros(rest)
            case .ignoring: taken = rest.count
            }
            offset += taken
            rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
        }
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        try inner.flush()
        switch phase {
        case .between, .padding, .ignoring:
            return
        case .header where offset == 0:
            throw .failed("unexpected end of input at byte 0 (empty input)")
        default:
            throw .failed("unexpected end of input in member \(member) at byte \(offset)")
        }
    }

    public mutating func close() {
        // Hand on what was decoded, even when ending on an error, then let the checker
        // forward it and end.
        if inner != nil {
            do throws(StageError) { try inner.flush() } catch { inner.discard() }
        }
        checker?.stop()
        checker = nil
        z.end()
    }

    // MARK: Phases

    private mutating func parseHeader(_ bytes: UnsafeRawBufferPointer) throws(StageError) -> Int {
        let taken: Int
        do throws(GzipHeaderParser.Failure) {
            taken = try header.feed(bytes)
        } catch {
            return try headerFailed(error)
        }
        if header.isDone {
            inflateReset(z.pointer)
            phase = .body
        }
        return taken
    }

    private mutating func headerFailed(_ failure: GzipHeaderParser.Failure) throws(StageError) -> Int {
        let (member, memberStart) = (self.member, self.memberStart)
        let at = { (position: Int) in "in member \(member) at byte \(memberStart + position)" }
        switch failure {
        case .badMagic(let position):
            if member == 1 { throw .failed("not in gzip format at byte \(position)") }
            // After a good member, something that is not a member is trailing data.
            try trailingGarbage(at: memberStart)
            return 0
        case .badMethod(let method, let position):
            throw .failed("unknown compression method \(method) \(at(position))")
        case .reservedFlags(let flags, let position):
            throw .failed("reserved header flags set (0x\(String(flags, radix: 16))) \(at(position))")
        case .headerCRC(let position):
            throw .failed("header CRC mismatch \(at(position))")
        }
    }

    /// Inflates into `inner` until `bytes` are used up or the member ends.
    private mutating func inflate(_ bytes: UnsafeRawBufferPointer) throws(StageError) -> Int {
        z.setInput(bytes)
        while true {
            let space = inner.reserve()
            let size = z.setOutput(space)
            let r = CZlib.inflate(z.pointer, Z_NO_FLUSH)
            let produced = size - z.availableOut
            if produced > 0 {
                emittedBytes += produced
                try inner.commit(produced)
            }
            switch r {
            case Z_STREAM_END:
                try inner.flush()
                phase = .trailer
                trailer = 0
                trailerCount = 0
                return bytes.count - z.availableIn
            case Z_OK, Z_BUF_ERROR:
                // Out of input with room to spare: wait for the next chunk.
                if z.availableIn == 0 && z.availableOut > 0 { return bytes.count }
            case Z_MEM_ERROR:
                throw .failed("out of memory")
            default:
                let at = offset + bytes.count - z.availableIn
                throw .failed("\(z.message(or: "invalid compressed data")) in member \(member) at byte \(at)")
            }
        }
    }

    private mutating func readTrailer(_ bytes: UnsafeRawBufferPointer) throws(StageError) -> Int {
        let n = min(8 - trailerCount, bytes.count)
        for i in 0..<n { trailer |= UInt64(bytes[i]) << (8 * UInt64(trailerCount + i)) }
        trailerCount += n
        if trailerCount == 8 {
            guard let (crc, length) = checker?.memberChecksum(after: emittedBytes) else {
                throw .downstreamClosed
            }
            let trailerStart = offset + n - 8
            let storedCRC = UInt32(truncatingIfNeeded: trailer)
            let storedLength = UInt32(truncatingIfNeeded: trailer >> 32)
            if storedCRC != crc {
                throw .failed("CRC mismatch in member \(member) at byte \(trailerStart) "
                    + "(stored 0x\(hex(storedCRC)), computed 0x\(hex(crc)))")
            }
            if storedLength != length {
                throw .failed("length mismatch in member \(member) at byte \(trailerStart + 4) "
                    + "(stored \(storedLength), decompressed \(length) mod 2^32)")
            }
            phase = .between
        }
        return n
    }

    private mutating func decideAfterMember(_ bytes: UnsafeRawBufferPointer) throws(StageError) -> Int {
        switch bytes[0] {
        case 0x1f:
            member += 1
            memberStart = offset
            header = GzipHeaderParser()
            phase = .header
        case 0:
            phase = .padding
        default:
            try trailingGarbage(at: offset)
        }
        return 0
    }

    private mutating func skipZeros(_ bytes: UnsafeRawBufferPointer) throws(StageError) -> Int {
        for i in bytes.indices where bytes[i] != 0 {
            try trailingGarbage(at: offset + i)
            return bytes.count
        }
        return bytes.count
    }

    /// Trailing bytes that are neither a member nor zero padding: an error by default,
    /// because a damaged second member looks exactly like garbage.
    private mutating func trailingGarbage(at position: Int) throws(StageError) {
        switch policy {
        case .error: throw .failed("trailing garbage at byte \(position)")
        case .warn: diagnostics?.warn("gunzip", "warning: trailing garbage at byte \(position) ignored")
        case .ignore: break
        }
        phase = .ignoring
    }

    private func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// zlib's inflate state and 32 KiB window, and the checker's chunks.
    static func heldBytes(chunkBytes: Int) -> Int { (48 << 10) + CRCChecker.heldBytes(chunkBytes: chunkBytes) }

    public static let descriptor = StageDescriptor(
        name: "gunzip", aliases: ["zcat"], synopsis: "gunzip [--trailing=error|warn|ignore]",
        summary: "decompress gzip input, concatenated members too, checking every CRC",
        options: [
            OptionSpec(nil, "trailing", .required("POLICY"),
                       help: "non-gzip bytes after the last member: error (default), warn or ignore"),
        ]
    ) { args, context throws(SluiceError) in
        var policy = TrailingPolicy.error
        if let given = args.last("trailing"), let value = given.value {
            guard let p = TrailingPolicy(rawValue: value) else {
                throw args.fail("--trailing: unknown policy '\(value)' (use error, warn or ignore)")
            }
            policy = p
        }
        do throws(StageError) {
            var plan = StagePlan(try GunzipStage(trailing: policy, diagnostics: context.diagnostics),
                                 heldBytes: heldBytes(chunkBytes: context.chunkBytes))
            plan.output = .other
            return plan
        } catch {
            throw .runtime("gunzip: \(error.message)")
        }
    }
}
