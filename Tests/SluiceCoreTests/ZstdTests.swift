import Testing
@testable import SluiceCore
import SluiceTestSupport

@Suite struct ZstdStageTests {
    @Test(arguments: [0, 1, 2, 3, 1000, 200_000])
    func roundTripsThroughLibzstd(_ size: Int) throws {
        let input = size == 200_000 ? pseudoRandomBytes(size) : GzipFixture.text(size)
        for (chunkSize, result) in StageHarness.runAtAllSizes(input, { try! ZstdStage(.init()) }) {
            #expect(result.end == .finished)
            #expect(try ZstdFixture.decompress(result.output).get() == input, "chunk size \(chunkSize)")
            #expect(result.largestChunk <= chunkSize)
        }
    }

    @Test(arguments: [-5, 1, 9, 19, 22])
    func levelsAndTheLongWindowRoundTrip(_ level: Int) throws {
        let input = GzipFixture.text(5000)
        for long in [nil, 24] as [Int?] {
            let parameters = ZstdParameters(level: level, hasChecksum: level != 9, longWindowLog: long)
            let r = StageHarness.run(try ZstdStage(.init(parameters: parameters)), input: input, chunkSize: 4096)
            #expect(r.end == .finished)
            #expect(try ZstdFixture.decompress(r.output, maxWindowLog: 31).get() == input, "level \(level), long \(String(describing: long))")
            // The frame header's descriptor says whether a checksum follows (bit 2).
            #expect(r.output.count > 4 && (r.output[4] & 4 != 0) == (level != 9))
        }
    }

    /// On threads, a frame per block, each after a skippable frame that gives its size, as
    /// pzstd writes: in order, whatever the chunks and the thread count.
    @Test(arguments: [2, 3, 8])
    func threadsWriteAFramePerBlockAsPzstd(_ threads: Int) throws {
        let input = GzipFixture.text(9000) + pseudoRandomBytes(100_000)
        let block = 64 << 10
        var settings = ZstdStage.Settings(threads: threads)
        settings.blockBytes = block
        for (chunkSize, r) in StageHarness.runAtAllSizes(input, sizes: [7, 4096, 65536], { try! ZstdStage(settings) }) {
            #expect(r.end == .finished)
            #expect(try ZstdFixture.decompress(r.output).get() == input, "chunk size \(chunkSize)")
            var at = 0, frames = 0
            while at < r.output.count {
                let size = ZstdFixture.pzstdFrameSize(r.output, at: at)
                try #require(size != nil, "no size frame at \(at), chunk size \(chunkSize)")
                at += 12 + size!
                frames += 1
            }
            #expect(at == r.output.count && frames == (input.count + block - 1) / block, "chunk size \(chunkSize)")
        }
        // Empty input: one empty frame, as zstd writes.
        let empty = StageHarness.run(try ZstdStage(settings), input: [], chunkSize: 4096)
        #expect(try ZstdFixture.decompress(empty.output).get() == [])
        #expect(ZstdFixture.pzstdFrameSize(empty.output, at: 0).map { $0 + 12 } == empty.output.count)
    }

    /// Levels cost what libzstd says they do: more for a higher level, and a long window
    /// more still; the estimate is what the memory bound counts.
    @Test func heldBytesGrowWithTheLevelAndTheWindow() {
        let three = ZstdParameters(level: 3).heldBytes()
        let nineteen = ZstdParameters(level: 19).heldBytes()
        let long = ZstdParameters(level: 3, longWindowLog: 27).heldBytes()
        #expect(three > 1 << 20 && three < nineteen)
        #expect(long > 128 << 20)
    }
}

@Suite struct UnzstdStageTests {
    static let payload = GzipFixture.text(800)

    /// Keyed by chunk size; plus 1_000_000 + size: on 3 threads, and -size: on 2 threads
    /// whose jobs the stage's own thread decodes (as the fuzzer runs it). Every way must
    /// give the same output and end.
    func unzstd(_ data: [UInt8], trailing: TrailingPolicy = .error, maxWindowLog: Int = 27,
                sizes: [Int] = StageHarness.chunkSizes) -> [Int: StageHarness.Result] {
        let window = UInt64(1) << UInt64(maxWindowLog)
        var results = StageHarness.runAtAllSizes(data, sizes: sizes) {
            try! UnzstdStage(trailing: trailing, maxWindowBytes: window)
        }
        for (size, r) in StageHarness.runAtAllSizes(data, sizes: sizes, {
            try! UnzstdStage(trailing: trailing, maxWindowBytes: window, threads: 3)
        }) {
            results[1_000_000 + size] = r
        }
        for size in sizes {
            results[-size] = StageHarness.runOnOneThread(
                try! UnzstdStage(trailing: trailing, maxWindowBytes: window, threads: 2, poolWorkers: 0),
                input: data, chunkSize: size)
        }
        // libzstd checking the checksums itself, as on a machine of one core: the checker
        // thread must say what it says, where it says it.
        for (size, r) in StageHarness.runAtAllSizes(data, sizes: sizes, {
            try! UnzstdStage(trailing: trailing, maxWindowBytes: window, checksInline: true)
        }) {
            results[2_000_000 + size] = r
        }
        return results
    }

    func expectSame(_ results: [Int: StageHarness.Result], output: [UInt8], end: StageEnd,
                    sourceLocation: SourceLocation = #_sourceLocation) {
        for (size, r) in results {
            #expect(r.end == end, "chunk size \(size)", sourceLocation: sourceLocation)
            let same = r.output == output  // not in the expectation, which would print both
            #expect(same, "chunk size \(size): \(r.output.count) bytes, not \(output.count)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [0, 1, 2, 3, 1000])
    func decodesLibzstdOutput(_ lines: Int) {
        let input = GzipFixture.text(lines)
        for (checksum, size) in [(true, true), (false, true), (true, false), (false, false)] {
            let frame = ZstdFixture.compress(input, hasChecksum: checksum, hasContentSize: size)
            expectSame(unzstd(frame), output: input, end: .finished)
        }
    }

    /// Frames one after another decode as one stream, skippable frames anywhere are
    /// skipped (one holding nothing ends with its header), and an empty frame adds nothing.
    @Test func concatenatedAndSkippableFrames() {
        let a = GzipFixture.text(300), b = GzipFixture.text(7)
        let stream = ZstdFixture.skippable([1, 2, 3]) + ZstdFixture.compress(a) + ZstdFixture.skippable([], nibble: 15)
            + ZstdFixture.compress([]) + ZstdFixture.compress(b, hasChecksum: false) + ZstdFixture.skippable([9])
        expectSame(unzstd(stream), output: a + b, end: .finished)
        expectSame(unzstd(ZstdFixture.skippable([])), output: [], end: .finished)
    }

    @Test func emptyInputAndOtherFormats() {
        expectSame(unzstd([]), output: [], end: .failed("unexpected end of input at byte 0 (empty input)"))
        expectSame(unzstd(Array("hello\n".utf8)), output: [], end: .failed("not in zstd format at byte 0"))
        expectSame(unzstd(GzipFixture.deflate(Self.payload)), output: [], end: .failed("not in zstd format at byte 0 (gzip data: use gunzip)"))
        // Less than a magic number is no frame, as zstd says; a header cut short is a frame cut short.
        expectSame(unzstd([0x28, 0xB5]), output: [], end: .failed("not in zstd format at byte 0"))
        expectSame(unzstd([0x28, 0xB5, 0x2F, 0xFD]), output: [], end: .failed("unexpected end of input in frame 1 at byte 4"))
    }

    @Test func trailingBytesByPolicy() {
        let frame = ZstdFixture.compress(Self.payload)
        // zstd has no padding; and less than a magic number is no frame.
        for tail in [Array("garbage".utf8), [0, 0, 0, 0], [0x28], [0x28, 0xB5, 0x2F]] {
            let data = frame + tail
            let at = frame.count
            expectSame(unzstd(data), output: Self.payload, end: .failed("trailing garbage at byte \(at)"))
            expectSame(unzstd(data, trailing: .warn), output: Self.payload, end: .finished)
            expectSame(unzstd(data, trailing: .ignore), output: Self.payload, end: .finished)
        }
    }

    /// Cut anywhere inside a frame: an error naming the frame and the end, after all the
    /// output libzstd could make of what came (the same as its own streaming decoder).
    @Test func truncatedAnywhere() {
        let input = GzipFixture.text(10_000)
        let frame = ZstdFixture.compress(input, level: 1)
        let second = ZstdFixture.compress(Self.payload)
        for cut in [4, 5, 9, frame.count / 3, frame.count - 5, frame.count - 1] {
            let data = Array(frame.prefix(cut))
            guard case .failure(let reference) = ZstdFixture.decompress(data) else {
                Issue.record("libzstd decoded a frame cut at \(cut)")
                continue
            }
            expectSame(unzstd(data), output: reference.output, end: .failed("unexpected end of input in frame 1 at byte \(cut)"))
        }
        let two = frame + second.prefix(second.count - 2)
        guard case .failure(let reference) = ZstdFixture.decompress(two) else { Issue.record("libzstd decoded it"); return }
        #expect(reference.output.count == input.count + Self.payload.count)
        expectSame(unzstd(two), output: reference.output, end: .failed("unexpected end of input in frame 2 at byte \(two.count)"))
    }

    /// Frames of known and unknown size, pzstd's size frames, one frame too large for a
    /// job (decoded here, the jobs after it still in parallel), one too large to collect.
    @Test func framesInParallelAndFramesTooLarge() {
        let a = GzipFixture.text(3000), b = pseudoRandomBytes(70_000)
        let big = GzipFixture.text(240_000)  // 11 MiB: over a job's 8 MiB
        let frames = [ZstdFixture.compress(a), ZstdFixture.compress(b, hasContentSize: false, windowLog: 20),
                      ZstdFixture.compress(big, level: 1, hasContentSize: false, windowLog: 20),
                      ZstdFixture.compress(a, hasChecksum: false), ZstdFixture.compress(b)]
        let stream = frames.flatMap { frame in
            ZstdFixture.skippable((0..<4).map { UInt8(truncatingIfNeeded: frame.count >> (8 * $0)) }) + frame
        }
        expectSame(unzstd(stream, sizes: [4096, 65536]), output: a + b + big + a + b, end: .finished)
        let incompressible = pseudoRandomBytes(9 << 20)
        let tooLargeToCollect = ZstdFixture.compress(incompressible, hasContentSize: false, windowLog: 20)
        expectSame(unzstd(frames[0] + tooLargeToCollect + frames[4], sizes: [65536]), output: a + incompressible + b,
                   end: .finished)
    }

    /// A damaged frame among frames decoded in parallel: the same error, offset and output
    /// as on one thread, whichever frame it is.
    @Test(arguments: [0, 2, 5])
    func damagedFrameAmongParallelOnes(_ damaged: Int) {
        let parts = (0..<6).map { GzipFixture.text(200 + 50 * $0) }
        var frames = parts.map { ZstdFixture.compress($0) }
        frames[damaged][frames[damaged].count - 2] ^= 0x10
        let stream = frames.flatMap { $0 }
        let results = unzstd(stream, sizes: [7, 4096, 65536])
        let one = results[65536]!
        guard case .failed(let text) = one.end else { Issue.record("\(one.end)"); return }
        #expect(text.hasPrefix("restored data doesn't match checksum in frame \(damaged + 1) at byte "), "\(text)")
        #expect(one.output == parts.prefix(damaged + 1).flatMap { $0 })
        expectSame(results, output: one.output, end: one.end)
    }

    /// pzstd's layout, a skippable size frame before each frame: a damaged frame among
    /// them is named by the same frame number (skippable frames count) and byte whatever
    /// the threads and the chunks, with every frame before it written. (The skippable
    /// frames are skipped by the sequential decoder while the threads decode, and a
    /// damaged frame is read by it in between.)
    @Test(arguments: [("checksum", 3), ("block", 3), ("checksum", 0), ("block", 4)])
    func damagedFrameAmongPzstdFrames(_ damage: String, _ damaged: Int) {
        let parts = (0..<5).map { GzipFixture.text(300 + 40 * $0) }
        var frames = parts.map { ZstdFixture.compress($0, hasContentSize: false) }
        if damage == "checksum" {
            frames[damaged][frames[damaged].count - 1] ^= 0x01
        } else {
            // A compressed block's header made to say "reserved" (type 3).
            frames[damaged][6] |= 0x06
        }
        let stream = frames.flatMap { frame in
            ZstdFixture.skippable((0..<4).map { UInt8(truncatingIfNeeded: frame.count >> (8 * $0)) }) + frame
        }
        #expect(ZstdFixture.pzstdFrameSize(stream, at: 0) != nil)
        let results = unzstd(stream, sizes: [1, 7, 4096, 65536])
        let one = results[65536]!
        guard case .failed(let text) = one.end else { Issue.record("\(one.end)"); return }
        let start = frames.prefix(damaged).reduce(0) { $0 + 12 + $1.count } + 12
        if damage == "checksum" {
            #expect(text == "restored data doesn't match checksum in frame \(2 * damaged + 2) at byte "
                + "\(start + frames[damaged].count - 4)")
            #expect(one.output == parts.prefix(damaged + 1).flatMap { $0 })
        } else {
            #expect(text.hasSuffix(" in frame \(2 * damaged + 2) at byte \(start + 6)"), "\(text)")
            #expect(one.output == parts.prefix(damaged).flatMap { $0 })
        }
        expectSame(results, output: one.output, end: one.end)
    }

    @Test func checksumMismatchNamesTheFrame() {
        var frame = ZstdFixture.compress(Self.payload)
        frame[frame.count - 1] ^= 0x40
        let data = ZstdFixture.compress([65]) + frame
        let results = unzstd(data)
        for (size, r) in results {
            guard case .failed(let text) = r.end else { Issue.record("chunk size \(size): \(r.end)"); continue }
            // The checksum's first byte, whatever the chunks.
            #expect(text == "restored data doesn't match checksum in frame 2 at byte \(data.count - 4)", "chunk size \(size)")
            // All of the frame's output, as zstd -dc writes it, then the error.
            let all = r.output == [65] + Self.payload
            #expect(all, "chunk size \(size)")
        }
    }

    /// A frame asking for a 1 GiB window is refused at its first byte, naming what allows
    /// it, before libzstd allocates anything; allowed, it decodes.
    @Test func windowOverTheLimit() {
        // Magic, no content size nor checksum, window descriptor 2^(10+20), one empty last raw block.
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x00, 20 << 3, 0x01, 0x00, 0x00]
        let data = ZstdFixture.compress(Self.payload) + frame
        let at = data.count - frame.count
        expectSame(unzstd(data), output: Self.payload, end: .failed(
            "frame 2 at byte \(at) needs a 1 GiB window, over the limit of 128 MiB: --long=30 or --memory 1G allows it"))
        expectSame(unzstd(data, maxWindowLog: 30), output: Self.payload, end: .finished)
    }

    /// Found by the fuzzer: a frame whose header says 248 bytes and whose one block is
    /// empty. libzstd refuses it given the whole frame at once, as zstd -dc is, but not
    /// fed piece by piece.
    @Test func contentSizeMustMatchTheHeader() {
        let frame: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x24, 0xF8, 0x01, 0x00, 0x00, 0x99, 0xE9, 0xD8, 0x51]
        guard case .failure(let reference) = ZstdFixture.decompress(frame) else { Issue.record("libzstd decoded it"); return }
        #expect(reference.name == "Data corruption detected")
        expectSame(unzstd(frame), output: [], end: .failed(
            "data corruption detected (the frame decodes to 0 bytes, its header says 248) in frame 1 at byte 13"))
    }

    /// Found by the fuzzer: a single-segment frame whose content size, and so its window,
    /// is past 2^63 (the message's arithmetic trapped); and a frame made with a dictionary,
    /// which the threads must leave to libzstd to refuse.
    @Test func hostileHeadersAreRefusedAlike() {
        let huge: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0xE0, 0x05, 0x2D, 0x58, 0x41, 0x0A, 0x4E, 0x50, 0x82, 0x11]
        for (size, r) in unzstd(huge) {
            guard case .failed(let text) = r.end else { Issue.record("chunk size \(size): \(r.end)"); continue }
            #expect(text.hasPrefix("frame 1 at byte 0 needs a "), "\(text)")
        }
        let dictionary: [UInt8] = [0x28, 0xB5, 0x2F, 0xFD, 0x12, 0x00, 0x01, 0x00]
        expectSame(unzstd(dictionary), output: [], end: .failed("dictionary mismatch in frame 1 at byte 0"))
    }

    /// Found by the fuzzer: a frame whose checksum is wrong (read on the stage's thread
    /// after the threads gave up on it, and checked by the checker thread), then a damaged
    /// frame. The checksum's mismatch comes first in the stream, so it is the error, with
    /// every way of running the stage; the damaged frame's error, raised while writing
    /// out the jobs in flight, once won.
    @Test func checksumBeforeADamagedFrameWins() {
        let hex = [
            "502a4d180300000061626328b52ffd0468250900462b480ab0e5182449426c4ce47445004700400097a00ce491461649",
            "e49042063909c830de68638d34ce28638c8f600ce289269648e2882286b808c4105e686185144e28618487200c7b6b5b",
            "4b3b2b1bfb820d9e66498e6278af9cf1fe8237803db006b6c012d8012b6003ec6001d810bca0052b48c1094a30820741",
            "309c77da59279d73ca19e727388379a699659239a698616e023394575a592595534a1965465bb4443bb4421bb4d302da",
            "307bb3365bb3343bb3321bb3cf82d9207bb2265bb2243bb2221bb2cb02d9107bb1165bb1143bb1121bb1c782d8f0de6b",
            "6fbdf44e021086b017d6c256580a3b61256c843d2c081b6eefd66eeb966ee7566ee3f65b701b6ccfd66ccb966cc7566c",
            "c3765b601b6aafd66aab966aa7566aa3f65a501b688f3600034cc3cb28b52ffd64b4092501004624480ab0e518244942",
            "6c4ce47445004700400097a00ce491461649e49042063909c830de68638d34ce28638c8f600ce289269648e2882286b8",
            "08c4105e686185144e28618487200c7b6b5b4b3b2b765b601b6aafd66aab966aa7566aa3f65a501b688f3600034cc3cb",
        ].joined()
        let data = stride(from: 0, to: hex.count, by: 2).map { i -> UInt8 in
            let at = hex.index(hex.startIndex, offsetBy: i)
            return UInt8(hex[at ..< hex.index(at, offsetBy: 2)], radix: 16)!
        }
        let results = unzstd(data, sizes: [1, 7, 64, 4096])
        let one = results[4096]!
        #expect(one.end == .failed("restored data doesn't match checksum in frame 2 at byte 312"))
        #expect(one.output.count == 692)
        expectSame(results, output: one.output, end: one.end)
    }

    @Test func corruptBlockIsLibzstdsError() {
        var frame = ZstdFixture.compress(GzipFixture.text(2000) + pseudoRandomBytes(20_000))
        for i in 12..<40 { frame[i] ^= 0x5A }
        guard case .failure(let reference) = ZstdFixture.decompress(frame) else {
            Issue.record("libzstd decoded a damaged frame")
            return
        }
        let results = unzstd(frame)
        // The block's first byte, whatever the chunks.
        #expect(Set(results.values.map { "\($0.end)" }).count == 1, "\(results.mapValues(\.end))")
        for (size, r) in results {
            guard case .failed(let text) = r.end else { Issue.record("chunk size \(size): \(r.end)"); continue }
            #expect(text.lowercased().hasPrefix(reference.name.lowercased()), "\(text) / \(reference.name)")
            #expect(text.contains(" in frame 1 at byte "), "\(text)")
        }
    }
}
