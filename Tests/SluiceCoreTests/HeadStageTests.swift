import Testing
@testable import SluiceCore
import SluiceTestSupport

@Suite struct CatStageTests {
    @Test(arguments: [0, 1, 2, 3, 100, 70_000])
    func identity(_ size: Int) {
        let input = pseudoRandomBytes(size)
        for (chunkSize, result) in StageHarness.runAtAllSizes(input, { CatStage() }) {
            #expect(result.output == input, "chunk size \(chunkSize)")
            #expect(result.end == .finished)
        }
    }
}

@Suite struct HeadStageTests {
    static let text = [UInt8]("one\ntwo\n\nfour\nfive")

    @Test(arguments: [
        (0, ""), (1, "one\n"), (2, "one\ntwo\n"), (3, "one\ntwo\n\n"),
        (5, "one\ntwo\n\nfour\nfive"), (9, "one\ntwo\n\nfour\nfive"),
    ])
    func lines(_ n: Int, _ expected: String) {
        for (size, result) in StageHarness.runAtAllSizes(Self.text, { HeadStage.make(.lines(n)) }) {
            #expect(result.output == [UInt8](expected), "chunk size \(size)")
        }
    }

    @Test(arguments: [0, 1, 2, 3, 7, 18, 19, 100])
    func bytes(_ n: Int) {
        for (size, result) in StageHarness.runAtAllSizes(Self.text, { HeadStage.make(.bytes(n)) }) {
            #expect(result.output == Array(Self.text.prefix(n)), "chunk size \(size)")
        }
    }

    @Test func stopsReadingWhenDone() {
        // 1 MiB of lines, head -n 1: the feeder must be told to stop long before the end.
        let input = [UInt8](repeating: 0x0A, count: 1 << 20)
        let result = StageHarness.run(HeadStage.make(.lines(1)), input: input, chunkSize: 4096)
        #expect(result.output == [0x0A])
        #expect(result.end == .stopped)
        #expect(result.bytesSent < input.count)
    }

    @Test func zeroReadsNothing() {
        let result = StageHarness.run(HeadStage.make(.lines(0)), input: [UInt8]("abc\n"), chunkSize: 1)
        #expect(result.output.isEmpty)
        #expect(result.end == .stopped)
    }
}
