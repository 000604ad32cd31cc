import CZlib
import Testing
@testable import SluiceCore
import SluiceTestSupport

@Suite struct GzipStageTests {
    @Test(arguments: [0, 1, 2, 3, 1000, 200_000])
    func roundTripsThroughZlib(_ size: Int) throws {
        let input = size == 200_000 ? pseudoRandomBytes(size) : GzipFixture.text(size)
        for (chunkSize, result) in StageHarness.runAtAllSizes(input, { try! GzipStage(level: 6) }) {
            #expect(result.end == .finished)
            #expect(GzipFixture.gunzip(result.output) == input, "chunk size \(chunkSize)")
            #expect(result.largestChunk <= chunkSize)
        }
    }

    @Test(arguments: 1...9)
    func everyLevelMatchesZlib(_ level: Int) throws {
        let input = GzipFixture.text(5000)
        let result = StageHarness.run(try GzipStage(level: level), input: input, chunkSize: 65536)
        #expect(result.output == GzipFixture.deflate(input, level: Int32(level)))
    }

    @Test func abortedInputGetsNoTrailer() {
        // An upstream error ends the stream aborted: gzip must not finish the member, or
        // a truncated input would look like a whole one.
        let pool = ChunkPool(chunkBytes: 4096, maxIdleChunks: 8)
        let marks = WaterMarks(highWaterMark: 1 << 20, lowWaterMark: 0, chunkBytes: 4096)
        let input = BoundedChannel(marks, pool: pool)
        let output = BoundedChannel(marks, pool: pool)
        let chunk = pool.take()
        _ = GzipFixture.text(100).withUnsafeBytes { chunk.append($0) }
        _ = input.send(chunk)
        input.close(reason: .upstreamFailed(.runtime("stdin: Input/output error")))
        var stage: any Stage = try! GzipStage(level: 6)
        #expect(StageLoop.run(&stage, input: input, output: output, pool: pool) == .aborted)
        var bytes: [UInt8] = []
        var received = output.receive()
        while case .chunk(let c) = received {
            bytes += c.bytes
            received = output.receive()
        }
        guard case .ended(.upstreamFailed) = received else {
            Issue.record("the output of an aborted stage ends as failed upstream")
            return
        }
        #expect(GzipFixture.gunzip(bytes) == nil)
    }
}

@Suite struct GunzipStageTests {
    static let payload = GzipFixture.text(800)

    /// Keyed by chunk size; negative keys: the CRC checked inline, on one thread.
    func gunzip(_ data: [UInt8], trailing: TrailingPolicy = .error) -> [Int: StageHarness.Result] {
        var results = StageHarness.runAtAllSizes(data) { try! GunzipStage(trailing: trailing) }
        for size in StageHarness.chunkSizes {
            results[-size] = StageHarness.runOnOneThread(try! GunzipStage(trailing: trailing, checksInline: true),
                                                         input: data, chunkSize: size)
        }
        return results
    }

    /// Every chunk size gives the same output and the same end.
    func expectSame(_ results: [Int: StageHarness.Result], output: [UInt8], end: StageEnd,
                    sourceLocation: SourceLocation = #_sourceLocation) {
        for (size, r) in results {
            #expect(r.end == end, "chunk size \(size)", sourceLocation: sourceLocation)
            #expect(r.output == output, "chunk size \(size): \(r.output.count) bytes", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [0, 1, 2, 3, 1000])
    func decodesZlibOutput(_ lines: Int) {
        let input = GzipFixture.text(lines)
        expectSame(gunzip(GzipFixture.deflate(input)), output: input, end: .finished)
    }

    @Test func headerFields() {
        let p = GzipFixture.text(200)
        let variants: [[UInt8]] = [
            GzipFixture.member(p, name: "app.log"),
            GzipFixture.member(p, comment: "a comment"),
            GzipFixture.member(p, extra: [1, 2, 3, 4, 5]),
            GzipFixture.member(p, extra: []),
            GzipFixture.member(p, extra: [UInt8](repeating: 7, count: 0xffff)),
            GzipFixture.member(p, headerCRC: true),
            GzipFixture.member(p, extra: [9, 9], name: "n", comment: "c", headerCRC: true, text: true, os: 255),
            GzipFixture.member(p, name: String(repeating: "x", count: 20_000)),
        ]
        for data in variants { expectSame(gunzip(data), output: p, end: .finished) }
    }

    @Test func concatenatedMembers() {
        let a = GzipFixture.text(10), b = GzipFixture.text(2000), empty: [UInt8] = []
        let data = GzipFixture.deflate(a) + GzipFixture.member(empty) + GzipFixture.member(b, name: "b")
        expectSame(gunzip(data), output: a + b, end: .finished)
    }

    @Test func zeroPaddingIsIgnored() {
        let data = GzipFixture.deflate(Self.payload) + [UInt8](repeating: 0, count: 10_000)
        expectSame(gunzip(data), output: Self.payload, end: .finished)
    }

    @Test func bombStaysInChunks() {
        // 16 MiB of zeros compress to ~16 KiB; output must come in chunk-sized pieces.
        let zeros = [UInt8](repeating: 0, count: 16 << 20)
        let data = GzipFixture.deflate(zeros, level: 9)
        #expect(data.count < 40_000)
        let r = StageHarness.run(try! GunzipStage(), input: data, chunkSize: 4096)
        #expect(r.end == .finished)
        #expect(r.output.count == zeros.count)
        #expect(r.largestChunk <= 4096)
    }

    static let good = GzipFixture.deflate(payload)

    /// Damaged inputs: (bytes, expected end). Output before the error is checked too.
    static var damaged: [(String, [UInt8], String)] {
        let g = good
        let n = g.count
        var badCRC = g; badCRC[n - 8] ^= 0xff
        var badLength = g; badLength[n - 1] ^= 0x01
        var badMethod = g; badMethod[2] = 7
        var reserved = g; reserved[3] = 0x20
        var badHeaderCRC = GzipFixture.member(payload, headerCRC: true); badHeaderCRC[10] ^= 1
        var badBody = g; badBody[12] = 0xff; badBody[13] = 0xff
        let second = GzipFixture.deflate(GzipFixture.text(5))
        return [
            ("empty", [], "unexpected end of input at byte 0 (empty input)"),
            ("not gzip", Array("hello\n".utf8), "not in gzip format at byte 0"),
            ("half magic", [0x1f, 0x00], "not in gzip format at byte 1"),
            ("magic only", [0x1f, 0x8b], "unexpected end of input in member 1 at byte 2"),
            ("bad method", badMethod, "unknown compression method 7 in member 1 at byte 2"),
            ("reserved flags", reserved, "reserved header flags set (0x20) in member 1 at byte 3"),
            ("header crc", badHeaderCRC, "header CRC mismatch in member 1 at byte 10"),
            ("truncated header", Array(g.prefix(5)), "unexpected end of input in member 1 at byte 5"),
            ("truncated body", Array(g.prefix(n / 2)), "unexpected end of input in member 1 at byte \(n / 2)"),
            ("truncated trailer", Array(g.prefix(n - 3)), "unexpected end of input in member 1 at byte \(n - 3)"),
            ("crc", badCRC, "CRC mismatch in member 1 at byte \(n - 8)"),
            ("length", badLength, "length mismatch in member 1 at byte \(n - 4) (stored \(UInt32(payload.count) ^ 0x01000000), decompressed \(payload.count) mod 2^32)"),
            ("garbage", g + Array("junk".utf8), "trailing garbage at byte \(n)"),
            ("zeros then garbage", g + [0, 0, 0, 0x41], "trailing garbage at byte \(n + 3)"),
            ("second member bad magic", g + [0x1f, 0x41, 0, 0], "trailing garbage at byte \(n)"),
            ("lone 1f", g + [0x1f], "unexpected end of input in member 2 at byte \(n + 1)"),
            ("second truncated", g + Array(second.prefix(15)), "unexpected end of input in member 2 at byte \(n + 15)"),
            ("bad body", badBody, "invalid"),
        ]
    }

    @Test(arguments: damaged.map { $0.0 })
    func damagedInput(_ name: String) {
        let (_, data, message) = Self.damaged.first { $0.0 == name }!
        let results = gunzip(data)
        let outputs = Set(results.values.map { $0.output })
        for (size, r) in results {
            guard case .failed(let text) = r.end else {
                Issue.record("chunk size \(size): ended \(r.end), not with \(message)")
                continue
            }
            if message == "invalid" {
                #expect(text.hasPrefix("invalid") && text.hasSuffix(" in member 1 at byte \(text.split(separator: " ").last!)"))
            } else if message.hasPrefix("CRC mismatch") {
                #expect(text.hasPrefix(message), "chunk size \(size)")
            } else {
                #expect(text == message, "chunk size \(size)")
            }
            // What came out is a prefix of the real payload.
            #expect(Self.payload.starts(with: r.output) || r.output.isEmpty || name == "second truncated",
                    "chunk size \(size)")
        }
        if name != "bad body" {
            #expect(outputs.count == 1, "output differs across chunk sizes")
        }
    }

    @Test func trailingWarnAndIgnore() {
        let data = Self.good + Array("junk".utf8)
        expectSame(gunzip(data, trailing: .ignore), output: Self.payload, end: .finished)
        expectSame(gunzip(data, trailing: .warn), output: Self.payload, end: .finished)
    }

    @Test func outputIsWholeBeforeTrailerError() {
        // A CRC error comes after the member's bytes were all written.
        var data = Self.good
        data[data.count - 8] ^= 1
        expectSame(gunzip(data), output: Self.payload, end: .failed(
            "CRC mismatch in member 1 at byte \(data.count - 8) (stored 0x\(hex(data)), computed 0x\(hex(Self.good)))"))
    }

    private func hex(_ gz: [UInt8]) -> String {
        let n = gz.count
        let v = UInt32(gz[n - 8]) | UInt32(gz[n - 7]) << 8 | UInt32(gz[n - 6]) << 16 | UInt32(gz[n - 5]) << 24
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}

@Suite struct ParallelGzipTests {
    static let block = 32 << 10

    @Test(arguments: [0, 1, block - 1, block, block + 1, 3 * block + 17])
    func roundTripsAtEveryChunkSize(_ size: Int) {
        let input = GzipFixture.text(size / 40 + 1).prefix(size).map { $0 }
        for threads in [2, 4] {
            let settings = GzipStage.Settings(level: 6, threads: threads, blockBytes: Self.block)
            for (chunkSize, r) in StageHarness.runAtAllSizes(input, { try! GzipStage(settings) }) {
                #expect(r.end == .finished)
                #expect(GzipFixture.gunzip(r.output) == input, "\(threads) threads, chunk size \(chunkSize)")
            }
        }
    }

    @Test(arguments: [1, 6, 9])
    func levelsAndIndependentBlocks(_ level: Int) {
        let input = GzipFixture.text(20_000) + pseudoRandomBytes(100_000)
        for independent in [false, true] {
            let settings = GzipStage.Settings(level: level, threads: 3, blockBytes: Self.block, isIndependent: independent)
            let r = StageHarness.run(try! GzipStage(settings), input: input, chunkSize: 4096)
            #expect(GzipFixture.gunzip(r.output) == input, "level \(level), independent \(independent)")
            // Same header as zlib's for that level.
            #expect(Array(r.output.prefix(10)) == Array(GzipFixture.deflate([], level: Int32(level)).prefix(10)))
        }
    }

    @Test func dictionaryPrimingHelps() {
        // Repetitive text compresses better with each block primed by the one before.
        let input = GzipFixture.text(30_000)
        let primed = StageHarness.run(try! GzipStage(.init(threads: 2, blockBytes: Self.block)), input: input, chunkSize: 65536)
        let independent = StageHarness.run(try! GzipStage(.init(threads: 2, blockBytes: Self.block, isIndependent: true)),
                                           input: input, chunkSize: 65536)
        #expect(primed.output.count < independent.output.count)
    }

    @Test func backpressureStopsTheWorkers() {
        // A consumer that does not read: once its channel is full the dispatcher blocks
        // writing, the 2N job slots fill, the workers idle and the stage takes no more
        // input, so the feeder is held back too. What it got in by then fits in the
        // buffers between it and the consumer: the input channel (up to the high-water
        // mark plus the chunk that crosses it), the chunk the stage is taking apart, 2N
        // blocks, and the output channel and the emitter's partial chunk (random data
        // does not compress, so their bytes stand for as many input bytes).
        let threads = 2, highWaterMark = 8192, chunkSize = 4096
        let input = pseudoRandomBytes(4 << 20)
        let r = StageHarness.run(try! GzipStage(.init(threads: threads, blockBytes: Self.block)), input: input,
                                 chunkSize: chunkSize, highWaterMark: highWaterMark, stallsCollector: true)
        let bound = 2 * (highWaterMark + chunkSize) + chunkSize + 2 * threads * Self.block + chunkSize
        let sent = r.bytesSentWhileStalled ?? input.count
        #expect(sent <= bound, "the feeder sent \(sent) bytes to a consumer that did not read")
        #expect(GzipFixture.gunzip(r.output) == input)
    }
}
