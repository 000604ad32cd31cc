import Testing
@testable import SluiceCore
import SluiceTestSupport

/// `buffer SIZE [--start PERCENT]`: the stage forwards; what it adds is its output
/// buffer's plan (its size, the start gate, chunks given back), checked here through the
/// water marks a run makes of it, without threads.
@Suite struct BufferStageTests {
    func plans(_ words: [String]) throws(SluiceError) -> [StagePlan] {
        guard case .run(let g, let stages) = try CommandParser.parse(words) else { throw .usage("not a run") }
        let context = StageContext(chunkBytes: g.chunkBytes, maxLineBytes: g.maxLineBytes, diagnostics: Diagnostics())
        return try StageRegistry.plans(for: stages, globals: g, context: context)
    }

    @Test(arguments: [0, 1, 2, 3, 100, 70_000])
    func forwardsEverything(_ size: Int) throws {
        let input = pseudoRandomBytes(size)
        let plan = try #require(try plans(["buffer", "1M", "--start", "50"]).first)
        for (chunkSize, result) in StageHarness.runAtAllSizes(input, { plan.stage }) {
            #expect(result.output == input, "chunk size \(chunkSize)")
            #expect(result.end == .finished)
        }
    }

    /// SIZE is the buffer's high-water mark, whatever `--hwm` says for the others; its
    /// drained chunks go back to the system.
    @Test func sizeIsTheHighWaterMark() throws {
        let p = try plans(["--hwm", "64K", "cat", "+", "buffer", "3M"])
        #expect(p.map(\.buffer.highWaterMark) == [64 << 10, 3 << 20])
        #expect(p[1].buffer.lowWaterMark == 3 << 19)
        #expect(p[1].buffer.startBytes == 0)
        #expect(p.map(\.buffer.keepsIdleChunks) == [true, false])
    }

    /// PERCENT of SIZE, rounded up, with or without `%`.
    @Test(arguments: [("50", 5), ("33%", 4), ("0", 0), ("100", 10), ("1", 1)])
    func startIsAShareOfTheSize(_ percent: String, _ bytes: Int) throws {
        #expect(try plans(["buffer", "10", "--start", percent])[0].buffer.startBytes == bytes)
    }

    /// Nothing leaves until `--start` is reached or input has ended, and again after the
    /// buffer runs empty.
    @Test func startHoldsOutputBack() throws {
        let plan = try #require(try plans(["buffer", "100", "--start", "40%"]).first)
        var marks = plan.buffer.waterMarks(chunkBytes: 4)
        var taken: [Bool] = []
        taken.append(marks.mayTake(bytes: 39, chunks: 10, isSenderDone: false))
        taken.append(marks.mayTake(bytes: 40, chunks: 10, isSenderDone: false))
        marks.didTake(chunksLeft: 5)
        taken.append(marks.mayTake(bytes: 20, chunks: 5, isSenderDone: false))
        marks.didTake(chunksLeft: 0)
        taken.append(marks.mayTake(bytes: 4, chunks: 1, isSenderDone: false))
        taken.append(marks.mayTake(bytes: 4, chunks: 1, isSenderDone: true))
        #expect(taken == [false, true, true, false, true])
    }

    @Test(arguments: [
        (["buffer", "1M", "--hwm", "2M"], "buffer: the buffer's size is its SIZE operand, not --hwm"),
        (["buffer", "1M", "--start", "101"], "buffer: --start: invalid percentage '101' (use 0 to 100)"),
        (["buffer", "1M", "-s", "x%"], "buffer: -s: invalid percentage 'x%' (use 0 to 100)"),
        (["buffer", "0"], "buffer: SIZE: size must be at least 1 B: '0'"),
    ])
    func errors(_ words: [String], _ message: String) {
        #expect(throws: SluiceError.usage(message, stage: "buffer")) { _ = try plans(words) }
    }
}
