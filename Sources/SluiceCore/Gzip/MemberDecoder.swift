import CZlib

/// The sequential gzip decoder: a state machine over the compressed bytes, member after
/// member, as `gzip -d` reads them. The header and trailer are parsed here (so every error
/// can name its member and byte offset); the deflate body goes through zlib's raw
/// inflate, straight into the emitter's pending chunk, never more than one chunk at a
/// time, so a gzip bomb moves through bounded buffers and a slow consumer stops
/// inflation. Each trailer is handed to the `CRCChecker` that the output goes through,
/// which compares it in the background; without one (`checker: nil`), the CRC-32 and
/// length are computed here as the output is made and compared at the trailer.
///
/// Every error of a damaged stream is found here: the parallel path decodes only members
/// it can vouch for and replays any other through this decoder, so both paths fail alike.
struct MemberDecoder {
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
    private var phase = Phase.header
    private var header = GzipHeaderParser()
    /// Compressed bytes consumed before the current position: the offsets in messages.
    private(set) var offset = 0
    /// 1-based number of the member being read (or last read, between members).
    private(set) var member = 1
    /// Offset of the current member's first byte.
    private var memberStart = 0
    /// Bytes of output made so far, all members: the checker's positions.
    private(set) var emittedBytes = 0
    /// The 8 trailer bytes, `trailerCount` of them collected.
    private var trailer: UInt64 = 0
    private var trailerCount = 0
    /// Without a checker: the current member's CRC-32 and length mod 2^32 so far.
    private var crc: UInt32 = 0
    private var length: UInt32 = 0
    /// Set when trailing garbage was ignored under `--trailing=warn`: the warning, for the
    /// stage to print once every earlier member was checked. Cleared by the stage.
    var warning: String?

    init(trailing: TrailingPolicy) throws(StageError) {
        policy = trailing
        // Raw deflate (-15): the gzip wrapper is ours to parse.
        if sluice_inflateInit2(z.pointer, -15) != Z_OK {
            throw .failed("cannot start zlib's inflate: out of memory")
        }
        z.isActive = true
    }

    /// At the first byte of a member (or of the input), nothing of its header read yet.
    var isAtMemberStart: Bool { phase == .header && header.length == 0 }

    /// Where it stands, for the router.
    var position: MemberRouter.DecoderPosition {
        if isAtMemberStart { return .memberStart }
        return phase == .between ? .betweenMembers : .inside
    }

    /// True where input may end: after a whole member, in padding or ignored garbage.
    var isAtEnd: Bool { phase == .between || phase == .padding || phase == .ignoring }

    /// Moves past a member someone else decoded, which started here and ends at `end`.
    mutating func skipMember(endingAt end: Int) {
        precondition(isAtMemberStart)
        offset = end
        phase = .between
    }

    /// Goes back to the start of member `number` at `start`, to decode it here after all.
    mutating func restart(member number: Int, at start: Int) {
        member = number
        memberStart = start
        offset = start
        header = GzipHeaderParser()
        phase = .header
    }

    /// Consumes bytes from the front of `bytes` for the current phase; returns how many.
    /// `checker`: where trailers go; nil, they are compared here.
    mutating func step(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter,
                       checker: CRCChecker?) throws(StageError) -> Int {
        let taken: Int
        switch phase {
        case .header: taken = try parseHeader(bytes)
        case .body: taken = try inflate(bytes, into: &out, checksHere: checker == nil)
        case .trailer: taken = try readTrailer(bytes, checker: checker)
        case .between: taken = try decideAfterMember(bytes)
        case .padding: taken = try skipZeros(bytes)
        case .ignoring: taken = bytes.count
        }
        offset += taken
        return taken
    }

    /// Every step over `bytes`.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter, checker: CRCChecker?) throws(StageError) {
        var rest = bytes
        while !rest.isEmpty {
            let taken = try step(rest, into: &out, checker: checker)
            rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
        }
    }

    /// End of input: an error unless it came where a stream may end.
    func finish() throws(StageError) {
        if isAtEnd { return }
        if phase == .header && offset == 0 { throw .failed("unexpected end of input at byte 0 (empty input)") }
        throw .failed("unexpected end of input in member \(member) at byte \(offset)")
    }

    /// inflateEnd, once.
    func end() { z.end() }

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
            (crc, length) = (0, 0)
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

    /// Inflates into `out` until `bytes` are used up or the member ends; with
    /// `checksHere`, runs the CRC over what it made.
    private mutating func inflate(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter,
                                  checksHere: Bool) throws(StageError) -> Int {
        z.setInput(bytes)
        while true {
            let space = out.reserve()
            let size = z.setOutput(space)
            let r = CZlib.inflate(z.pointer, Z_NO_FLUSH)
            let produced = size - z.availableOut
            if produced > 0 {
                if checksHere {
                    crc = crc32(crc, UnsafeRawBufferPointer(rebasing: space.prefix(produced)))
                    length &+= UInt32(truncatingIfNeeded: produced)
                }
                emittedBytes += produced
                try out.commit(produced)
            }
            switch r {
            case Z_STREAM_END:
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

    /// Collects the trailer and hands it to the checker, which compares it once every
    /// byte of the member has been checked; nothing waits here. Without a checker it is
    /// compared at once.
    private mutating func readTrailer(_ bytes: UnsafeRawBufferPointer, checker: CRCChecker?) throws(StageError) -> Int {
        let n = min(8 - trailerCount, bytes.count)
        for i in 0..<n { trailer |= UInt64(bytes[i]) << (8 * UInt64(trailerCount + i)) }
        trailerCount += n
        if trailerCount == 8 {
            let end = CRCChecker.End(
                outputEnd: emittedBytes,
                trailer: GzipCheck.Trailer(storedCRC: UInt32(truncatingIfNeeded: trailer),
                                           storedLength: UInt32(truncatingIfNeeded: trailer >> 32),
                                           member: member, trailerOffset: offset + n - 8))
            let mismatch = checker.map { $0.expect(end) } ?? GzipCheck(crc: crc, length: length).mismatch(end.trailer)
            if let mismatch { throw .failed(mismatch) }
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
        case .warn: warning = "warning: trailing garbage at byte \(position) ignored"
        case .ignore: break
        }
        phase = .ignoring
    }
}
