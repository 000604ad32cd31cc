import CZlib
import Testing
@testable import SluiceCore
import SluiceTestSupport

@Suite struct ParallelGunzipTests {
    static let sizes = [1, 7, 65536]

    /// Runs the stage with one thread and with two at chunk sizes 1, 7 and 64K: every run
    /// must give the same output and the same end; returns that end and output.
    func decode(_ data: [UInt8], trailing: TrailingPolicy = .error,
                sourceLocation: SourceLocation = #_sourceLocation) -> (StageEnd, [UInt8]) {
        let reference = StageHarness.run(try! GunzipStage(trailing: trailing), input: data, chunkSize: 4096)
        for threads in [1, 2] {
            for (size, r) in StageHarness.runAtAllSizes(data, sizes: Self.sizes, { try! GunzipStage(trailing: trailing, threads: threads) }) {
                #expect(r.end == reference.end, "\(threads) threads, chunk \(size)", sourceLocation: sourceLocation)
                #expect(r.output == reference.output, "\(threads) threads, chunk \(size): \(r.output.count) bytes",
                        sourceLocation: sourceLocation)
            }
        }
        // As the fuzzer runs it: the CRC checked inline, the pool's jobs decoded by the
        // stage's own thread.
        for size in Self.sizes + [131072] {
            let stage = try! GunzipStage(trailing: trailing, threads: 2, checksInline: true, poolWorkers: 0)
            let r = StageHarness.runOnOneThread(stage, input: data, chunkSize: size)
            #expect(r.end == reference.end, "one thread, chunk \(size)", sourceLocation: sourceLocation)
            #expect(r.output == reference.output, "one thread, chunk \(size): \(r.output.count) bytes",
                    sourceLocation: sourceLocation)
        }
        return (reference.end, reference.output)
    }

    @Test(arguments: [true, false])
    func wholeFile(_ endOfFile: Bool) {
        let data = BGZFFixture.file(BGZFFixture.payload, endOfFile: endOfFile)
        #expect(GzipFixture.gunzip(data) == BGZFFixture.payload)
        let (end, output) = decode(data)
        #expect(end == .finished)
        #expect(output == BGZFFixture.payload)
    }

    @Test(arguments: [0, 1, 4095, 4096, 4097])
    func boundarySizes(_ size: Int) {
        let payload = Array(BGZFFixture.payload.prefix(size))
        let (end, output) = decode(BGZFFixture.file(payload))
        #expect(end == .finished)
        #expect(output == payload)
    }

    @Test func mixedWithPlainMembers() {
        let a = Array(BGZFFixture.payload.prefix(10_000)), b = GzipFixture.text(300), c = GzipFixture.text(40)
        let data = BGZFFixture.file(a, endOfFile: false) + GzipFixture.deflate(b) + BGZFFixture.file(c)
            + GzipFixture.member(c, name: "plain") + BGZFFixture.member(a.prefix(100).map { $0 })
        let (end, output) = decode(data)
        #expect(end == .finished)
        #expect(output == a + b + c + c + a.prefix(100))
    }

    @Test func paddingAndGarbageAfterBGZF() {
        let data = BGZFFixture.file(BGZFFixture.payload)
        #expect(decode(data + [0, 0, 0]).0 == .finished)
        #expect(decode(data + Array("junk".utf8)).0 == .failed("trailing garbage at byte \(data.count)"))
        #expect(decode(data + Array("junk".utf8), trailing: .ignore) == (.finished, BGZFFixture.payload))
        #expect(decode(data + [0x1f, 0x41]).0 == .failed("trailing garbage at byte \(data.count)"))
    }

    /// A damaged member in the middle: the error names it, everything before it is
    /// written, nothing after it.
    @Test(arguments: ["crc", "length", "body", "header"])
    func damagedMemberInTheMiddle(_ damage: String) {
        var members = BGZFFixture.members(BGZFFixture.file(BGZFFixture.payload))
        let k = 4, start = members.prefix(k - 1).reduce(0) { $0 + $1.count }
        let n = members[k - 1].count
        switch damage {
        case "crc": members[k - 1][n - 8] ^= 0xff
        case "length": members[k - 1][n - 1] ^= 0x01
        case "body": for i in 20..<40 { members[k - 1][i] = 0xff }
        default: members[k - 1][2] = 7
        }
        let (end, output) = decode(members.flatMap { $0 })
        let before = Array(BGZFFixture.payload.prefix(4096 * (k - 1)))
        guard case .failed(let message) = end else {
            Issue.record("ended \(end)")
            return
        }
        switch damage {
        case "crc":
            #expect(message.hasPrefix("CRC mismatch in member \(k) at byte \(start + n - 8) "))
            #expect(output == Array(BGZFFixture.payload.prefix(4096 * k)))
        case "length":
            #expect(message.hasPrefix("length mismatch in member \(k) at byte \(start + n - 4) "))
            #expect(output == Array(BGZFFixture.payload.prefix(4096 * k)))
        case "body":
            // zlib's own reason, at the offset where zlib, given the whole body, stops.
            let (reason, used) = GzipFixture.inflateError(Array(members[k - 1][18..<(n - 8)]))
            #expect(message == "\(reason) in member \(k) at byte \(start + 18 + used)")
            #expect(output.starts(with: before) && BGZFFixture.payload.starts(with: output))
        default:
            #expect(message == "unknown compression method 7 in member \(k) at byte \(start + 2)")
            #expect(output == before)
        }
    }

    @Test func truncatedAtEveryKindOfPlace() {
        let data = BGZFFixture.file(BGZFFixture.payload)
        let first = BGZFFixture.members(data)[0].count
        for cut in [5, 12, 17, 18, 30, first - 8, first - 1, first, first + 3, first + 20, data.count - 28, data.count - 1] {
            let (end, output) = decode(Array(data.prefix(cut)))
            // A cut between members ends a whole stream; any other is named.
            let isBetween = cut == first || cut == data.count - 28
            #expect(isBetween ? end == .finished : end.isTruncation, "cut at \(cut): \(end)")
            #expect(BGZFFixture.payload.starts(with: output), "cut at \(cut)")
        }
    }

    /// Sizes that lie: a `BC` size pointing inside the member, or past it, and an ISIZE
    /// too large for a slot. The sequential reading decides, whatever it makes of them.
    @Test func sizesThatLie() {
        let good = BGZFFixture.member(Array(BGZFFixture.payload.prefix(3000)))
        var short = good; short[16] = 40
        var long = good; long[16] = long[16] &+ 9
        var huge = good; huge[huge.count - 2] = 2
        let big = GzipFixture.text(4000)
        // A member with a size whose output is larger than a slot: decoded sequentially.
        let body = GzipFixture.deflate(big, windowBits: -15)
        let large = BGZFFixture.header(memberBytes: 18 + body.count + 8) + body
            + GzipFixture.littleEndian(big.withUnsafeBytes { crc32(0, $0) }) + GzipFixture.littleEndian(UInt32(big.count))
        for data in [short + good, long + good, huge + good, good + large + good] {
            _ = decode(data + BGZFFixture.endOfFile)
        }
        #expect(decode(good + large + BGZFFixture.endOfFile).0 == .finished)
    }

    @Test func pipelinedChecksOfManySmallMembers() {
        // Plain members (no size): the sequential path with checks in the background; a
        // bad CRC in member 30 of 60 still stops the output right after that member.
        var data: [UInt8] = [], want: [UInt8] = []
        var badAt = 0
        for i in 1...60 {
            let text = GzipFixture.text(i)
            var member = GzipFixture.deflate(text)
            if i == 30 {
                member[member.count - 6] ^= 0x10
                badAt = data.count + member.count - 8
            }
            if i <= 30 { want += text }
            data += member
        }
        let (end, output) = decode(data)
        #expect(end.message?.hasPrefix("CRC mismatch in member 30 at byte \(badAt) ") == true, "\(end)")
        #expect(output == want)
    }
}

extension StageEnd {
    var message: String? {
        if case .failed(let m) = self { return m }
        return nil
    }

    var isTruncation: Bool { message?.hasPrefix("unexpected end of input") == true }
}

@Suite struct BGZFWriterTests {
    @Test(arguments: [0, 1, 65279, 65280, 65281, 200_000])
    func membersAreBGZF(_ size: Int) {
        let input = Array(GzipFixture.text(size / 40 + 1).prefix(size))
        for threads in [1, 3] {
            var settings = GzipStage.Settings(level: 6, threads: threads)
            settings.isBGZF = true
            for (chunk, r) in StageHarness.runAtAllSizes(input, sizes: [1, 7, 65536], { try! GzipStage(settings) }) {
                #expect(r.end == .finished)
                #expect(GzipFixture.gunzip(r.output) == input, "chunk \(chunk)")
                let members = BGZFFixture.members(r.output)
                #expect(members.count == (input.count + 65279) / 65280 + 1)
                #expect(members.last == BGZFFixture.endOfFile)
                #expect(members.allSatisfy { $0.count <= 65536 && $0.prefix(16) == BGZFFixture.endOfFile.prefix(16) })
                #expect(members.reduce(0) { $0 + $1.count } == r.output.count)
            }
        }
    }

    @Test func incompressibleBlocksFit() {
        let input = pseudoRandomBytes(300_000)
        for level in [1, 9] {
            var settings = GzipStage.Settings(level: level, threads: 2)
            settings.isBGZF = true
            let r = StageHarness.run(try! GzipStage(settings), input: input, chunkSize: 65536)
            #expect(GzipFixture.gunzip(r.output) == input)
            #expect(BGZFFixture.members(r.output).allSatisfy { $0.count <= 65536 })
            let back = StageHarness.run(try! GunzipStage(threads: 2), input: r.output, chunkSize: 4096)
            #expect(back.end == .finished && back.output == input)
        }
    }

    @Test func locatesOnlyWhatHasASize() {
        let member = BGZFFixture.member([1, 2, 3])
        member.withUnsafeBytes { #expect(BGZF.locate($0) == .member(bytes: member.count)) }
        member.withUnsafeBytes { #expect(BGZF.locate(UnsafeRawBufferPointer(rebasing: $0.prefix(11))) == .needs(12)) }
        GzipFixture.deflate([1, 2, 3]).withUnsafeBytes { #expect(BGZF.locate($0) == .unknown) }
        // Another subfield first, then BC.
        let other = GzipFixture.member([1], extra: [0x41, 0x41, 1, 0, 9, 0x42, 0x43, 2, 0, 40, 0])
        other.withUnsafeBytes { #expect(BGZF.locate($0) == .member(bytes: 41)) }
        let noBC = GzipFixture.member([1], extra: [0x41, 0x41, 2, 0, 9, 9])
        noBC.withUnsafeBytes { #expect(BGZF.locate($0) == .unknown) }
    }
}
