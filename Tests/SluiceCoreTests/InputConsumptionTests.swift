import Testing
@testable import SluiceCore
import SluiceTestSupport

/// `grep -m` counts the input it consumed: up to the end of the line where it stopped,
/// whatever the chunk size, so stdin can be left there.
@Suite struct InputConsumptionTests {
    static let text = [UInt8]("a1\nb2\nc1\nd1\ne2\nlast1")

    /// (pattern, -v, -m, bytes consumed): `-m 2 1` stops after "c1\n" (9 bytes); with
    /// -v, after "e2\n"; with fewer selected than -m, everything, plus the newline grep
    /// adds to the last line (the pipeline never seeks past the end).
    @Test(arguments: [
        ("1", false, 1, 3), ("1", false, 2, 9), ("1", false, 3, 12), ("1", false, 4, 21),
        ("1", false, 9, 21), ("1", true, 1, 6), ("1", true, 2, 15), ("z", false, 1, 21), ("1", false, 0, 0),
    ])
    func grepMaxCount(_ pattern: String, _ invert: Bool, _ max: Int, _ consumed: Int) throws {
        var options = GrepOptions()
        options.mode = .fixed
        options.patterns = [[UInt8](pattern)]
        options.invert = invert
        options.maxCount = max
        for size in chunkSizes {
            let counter = ConsumedBytes()
            let stage = LineStageAdapter(try GrepStage(options, consumed: counter), maxLineBytes: 1 << 20)
            _ = StageHarness.run(stage, input: Self.text, chunkSize: size)
            #expect(counter.count == consumed, "chunk size \(size)")
        }
    }
}
