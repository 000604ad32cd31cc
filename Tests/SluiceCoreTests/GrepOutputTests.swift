import Testing
@testable import SluiceCore
import SluiceTestSupport

/// Ten lines, no final newline; "foo" on lines 2, 4, 7 and 10.
let tenLines = [UInt8]("one\ntwo foo\nthree\nfour foo\nfive\nsix\nseven foo\neight\nnine\nten foo")
/// NUL-ended records holding newlines; the last one unended.
let records = [UInt8]("a\nb\u{0}c\u{0}foo\nbar\u{0}d")

/// What grep prints besides the lines (-c -q -n -b -o -z, context), every case at every
/// chunk size. The expected bytes are GNU grep 3.8's (`LC_ALL=C grep -a`); the end-to-end
/// tests and the differential script compare with it directly.
@Suite struct GrepOutputTests {
    static func grep(_ patterns: [String], mode: GrepMode = .fixed, _ configure: (inout GrepOptions) -> Void = { _ in })
        -> () -> any Stage {
        var o = GrepOptions()
        o.mode = mode
        o.patterns = patterns.map { Array($0.utf8) }
        configure(&o)
        let options = o
        return { LineStageAdapter(try! GrepStage(options, maxLineBytes: 1 << 20), maxLineBytes: 1 << 20) }
    }

    func expectAllSizes(_ make: () -> any Stage, _ expected: String, input: [UInt8] = tenLines,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        for (size, r) in StageHarness.runAtAllSizes(input, make) {
            #expect(r.output == [UInt8](expected), "chunk size \(size)", sourceLocation: sourceLocation)
        }
    }

    @Test func count() {
        expectAllSizes(Self.grep(["foo"]) { $0.countsLines = true }, "4\n")
        expectAllSizes(Self.grep(["foo"]) { $0.countsLines = true; $0.invert = true }, "6\n")
        expectAllSizes(Self.grep(["foo"]) { $0.countsLines = true; $0.maxCount = 2 }, "2\n")
        expectAllSizes(Self.grep(["foo"]) { $0.countsLines = true; $0.onlyMatching = true }, "4\n")
        expectAllSizes(Self.grep(["c"]) { $0.countsLines = true; $0.invert = true; $0.separator = 0 }, "3\n",
                       input: records)
        expectAllSizes(Self.grep(["x"]) { $0.countsLines = true }, "0\n", input: [])
    }

    /// GNU grep reads nothing and prints nothing, not even a count, when nothing can be
    /// selected.
    @Test func countOfWhatCannotBeSelected() {
        expectAllSizes(Self.grep(["foo"]) { $0.countsLines = true; $0.maxCount = 0 }, "")
        expectAllSizes(Self.grep([]) { $0.countsLines = true }, "")
        expectAllSizes(Self.grep([""]) { $0.countsLines = true; $0.invert = true }, "")
        expectAllSizes(Self.grep([]) { $0.countsLines = true; $0.invert = true }, "10\n")
        expectAllSizes(Self.grep([""]) { $0.countsLines = true; $0.invert = true; $0.lineRegexp = true }, "10\n")
    }

    @Test func countStopsReadingAtMaxCount() {
        let input = [UInt8](String(repeating: "yes\n", count: 200_000).utf8)
        let r = StageHarness.run(Self.grep(["y"]) { $0.countsLines = true; $0.maxCount = 2 }(), input: input,
                                 chunkSize: 4096)
        #expect(r.output == [UInt8]("2\n"))
        #expect(r.end == .stopped)
        #expect(r.bytesSent < input.count)
    }

    @Test(arguments: [("foo", false, Verdict.selected), ("nothing", false, .noneSelected),
                      ("foo", true, .selected), ("", true, .noneSelected)])
    func quiet(_ pattern: String, _ invert: Bool, _ verdict: Verdict) {
        for (size, r) in StageHarness.runAtAllSizes(tenLines, Self.grep([pattern]) { $0.isQuiet = true; $0.invert = invert }) {
            #expect(r.output.isEmpty, "chunk size \(size)")
            #expect(r.verdict == verdict, "chunk size \(size)")
        }
    }

    @Test func quietStopsReadingAtTheFirstSelectedLine() {
        let input = [UInt8](String(repeating: "no\n", count: 1000).utf8) + [UInt8](String(repeating: "yes\n", count: 200_000).utf8)
        let r = StageHarness.run(Self.grep(["yes"]) { $0.isQuiet = true; $0.countsLines = true }(), input: input,
                                 chunkSize: 4096)
        #expect(r.output.isEmpty)
        #expect(r.verdict == .selected)
        #expect(r.bytesSent < input.count)
    }

    @Test func onlyQuietSetsAVerdict() {
        let r = StageHarness.run(Self.grep(["nothing"]) { $0.countsLines = true }(), input: tenLines, chunkSize: 7)
        #expect(r.verdict == nil)
    }

    @Test func numbersAndOffsets() {
        expectAllSizes(Self.grep(["foo"]) { $0.numbersLines = true }, "2:two foo\n4:four foo\n7:seven foo\n10:ten foo\n")
        expectAllSizes(Self.grep(["foo"]) { $0.showsByteOffsets = true }, "4:two foo\n18:four foo\n36:seven foo\n57:ten foo\n")
        expectAllSizes(Self.grep(["foo"]) { $0.numbersLines = true; $0.showsByteOffsets = true; $0.invert = true },
                       "1:0:one\n3:12:three\n5:27:five\n6:32:six\n8:46:eight\n9:52:nine\n")
    }

    @Test func context() {
        expectAllSizes(Self.grep(["foo"]) { $0.linesAfter = 1 },
                       "two foo\nthree\nfour foo\nfive\n--\nseven foo\neight\n--\nten foo\n")
        expectAllSizes(Self.grep(["foo"]) { $0.linesBefore = 1 },
                       "one\ntwo foo\nthree\nfour foo\n--\nsix\nseven foo\n--\nnine\nten foo\n")
        expectAllSizes(Self.grep(["foo"]) { $0.linesBefore = 1; $0.linesAfter = 1; $0.numbersLines = true },
                       "1-one\n2:two foo\n3-three\n4:four foo\n5-five\n6-six\n7:seven foo\n8-eight\n9-nine\n10:ten foo\n")
        expectAllSizes(Self.grep(["foo"]) { $0.linesBefore = 1; $0.linesAfter = 1; $0.maxCount = 2; $0.showsByteOffsets = true },
                       "0-one\n4:two foo\n12-three\n18:four foo\n27-five\n")
    }

    /// `-A 0` still separates groups that do not touch, unless told not to.
    @Test func zeroContextSeparatesGroups() {
        expectAllSizes(Self.grep(["foo"]) { $0.linesAfter = 0 }, "two foo\n--\nfour foo\n--\nseven foo\n--\nten foo\n")
        expectAllSizes(Self.grep(["foo"]) { $0.linesAfter = 0; $0.separatesGroups = false },
                       "two foo\nfour foo\nseven foo\nten foo\n")
    }

    /// After `-m`'s last line, trailing context goes on through lines that match, then
    /// reading stops.
    @Test func maxCountWithContext() {
        expectAllSizes(Self.grep(["foo"]) { $0.maxCount = 1; $0.linesAfter = 2 }, "two foo\nthree\nfour foo\n")
        expectAllSizes(Self.grep(["foo"]) { $0.maxCount = 2; $0.linesBefore = 5; $0.invert = true }, "one\ntwo foo\nthree\n")
        let input = [UInt8](String(repeating: "yes\n", count: 200_000).utf8)
        let r = StageHarness.run(Self.grep(["y"]) { $0.maxCount = 1; $0.linesAfter = 3 }(), input: input, chunkSize: 4096)
        #expect(r.output == [UInt8]("yes\nyes\nyes\nyes\n"))
        #expect(r.end == .stopped)
        #expect(r.bytesSent < input.count)
    }

    @Test func onlyMatching() {
        expectAllSizes(Self.grep(["o"]) { $0.onlyMatching = true; $0.showsByteOffsets = true },
                       "0:o\n6:o\n9:o\n10:o\n19:o\n24:o\n25:o\n43:o\n44:o\n62:o\n63:o\n")
        expectAllSizes(Self.grep(["O"]) { $0.onlyMatching = true; $0.numbersLines = true; $0.ignoreCase = true },
                       "1:o\n2:o\n2:o\n2:o\n4:o\n4:o\n4:o\n7:o\n7:o\n10:o\n10:o\n")
        expectAllSizes(Self.grep(["o"]) { $0.onlyMatching = true; $0.invert = true }, "")
        expectAllSizes(Self.grep(["o*"], mode: .regex(.extended)) { $0.onlyMatching = true }, "o\no\noo\no\noo\noo\noo\n")
        expectAllSizes(Self.grep(["fo*|t[a-z]+"], mode: .regex(.extended)) {
            $0.onlyMatching = true; $0.wordRegexp = true; $0.showsByteOffsets = true
        }, "4:two\n8:foo\n12:three\n23:foo\n42:foo\n57:ten\n61:foo\n")
    }

    /// With `-o -v`, the context lines are the matching ones, and print their parts.
    @Test func onlyMatchingContextOfInvertedSelection() {
        expectAllSizes(Self.grep(["e"]) { $0.onlyMatching = true; $0.invert = true; $0.linesAfter = 1; $0.numbersLines = true },
                       "3-e\n3-e\n5-e\n7-e\n7-e\n")
    }

    /// GNU grep's regex matcher reports a match of the whole line under `-x -w` with the
    /// line's separator; its fixed-string matcher (two or more fixed strings) does not.
    @Test func onlyMatchingWholeLinesAndWords() {
        expectAllSizes(Self.grep(["t.*o"], mode: .regex(.extended)) {
            $0.onlyMatching = true; $0.lineRegexp = true; $0.wordRegexp = true
        }, "two foo\n\nten foo\n\n")
        expectAllSizes(Self.grep(["ab", "-c"]) { $0.onlyMatching = true; $0.wordRegexp = true }, "ab\n-c\n",
                       input: [UInt8]("ab-c\n"))
        expectAllSizes(Self.grep(["ab|-c"], mode: .regex(.extended)) { $0.onlyMatching = true; $0.wordRegexp = true },
                       "ab\n", input: [UInt8]("ab-c\n"))
    }

    @Test func nullData() {
        expectAllSizes(Self.grep(["b"]) { $0.separator = 0 }, "a\nb\u{0}foo\nbar\u{0}", input: records)
        expectAllSizes(Self.grep(["."], mode: .regex(.basic)) { $0.separator = 0; $0.numbersLines = true },
                       "1:a\nb\u{0}2:c\u{0}3:foo\nbar\u{0}4:d\u{0}", input: records)
        expectAllSizes(Self.grep(["[a-z]"], mode: .regex(.basic)) { $0.separator = 0; $0.onlyMatching = true; $0.showsByteOffsets = true },
                       "0:a\u{0}2:b\u{0}4:c\u{0}6:f\u{0}7:o\u{0}8:o\u{0}10:b\u{0}11:a\u{0}12:r\u{0}14:d\u{0}", input: records)
        expectAllSizes(Self.grep(["c"]) { $0.separator = 0; $0.linesAfter = 1; $0.numbersLines = true },
                       "2:c\u{0}3-foo\nbar\u{0}", input: records)
        expectAllSizes(Self.grep(["a.b"], mode: .regex(.basic)) { $0.separator = 0 }, "a\nb\u{0}", input: records)
    }

    /// `-B N` keeps at most N lines beyond the run at hand, and counts them in the bound.
    @Test func leadingContextHoldsOnlyWhatItMust() {
        let input = [UInt8](String(repeating: "abcdefg\n", count: 1 << 17).utf8) + [UInt8]("match\n")
        var options = GrepOptions()
        options.mode = .fixed
        options.patterns = [[UInt8]("match")]
        options.linesBefore = 3
        var grep = LineStageAdapter(try! GrepStage(options, maxLineBytes: 1 << 20), maxLineBytes: 1 << 20)
        let r = StageHarness.run(&grep, input: input, chunkSize: 65536)
        #expect(r.output == [UInt8]("abcdefg\nabcdefg\nabcdefg\nmatch\n"))
        let held = grep.stage.printer!.history.peakCapacity
        #expect(held <= 4096)
        #expect(held <= RecentLines.memoryBound(keeping: 3, maxLineBytes: 1 << 20))
        let context = StageContext(chunkBytes: 65536, maxLineBytes: 1 << 20, diagnostics: Diagnostics())
        #expect(GrepStage.heldBytes(options, context) == 2 * (1 << 20) + 65536 + 3 * ((1 << 20) + 1))
        options.linesBefore = Int.max
        #expect(GrepStage.heldBytes(options, context) == Int.max)
    }
}

@Suite struct RecentLinesTests {
    @Test func keepsTheLastLines() {
        var recent = RecentLines(keeping: 2, separator: 0x0A, maxLineBytes: 100)
        defer { recent.release() }
        [UInt8]("a\nbb\n").withUnsafeBytes { recent.remember($0) }
        #expect(Array(recent.bytes) == [UInt8]("a\nbb\n"))
        [UInt8]("ccc\n").withUnsafeBytes { recent.remember($0) }
        #expect(Array(recent.bytes) == [UInt8]("bb\nccc\n"))
        #expect(recent.startOfLast(1) == 3)
        [UInt8]("d\ne\nf\n").withUnsafeBytes { recent.remember($0) }
        #expect(Array(recent.bytes) == [UInt8]("e\nf\n"))
        #expect(recent.count == 2)
        recent.removeAll()
        #expect(recent.bytes.isEmpty)
    }

    @Test func neverGrowsPastItsLimit() {
        var recent = RecentLines(keeping: 3, separator: 0, maxLineBytes: 1000)
        defer { recent.release() }
        let line = [UInt8](repeating: 0x61, count: 1000) + [0]
        for _ in 0..<50 { line.withUnsafeBytes { recent.remember($0) } }
        #expect(recent.count == 3)
        #expect(recent.peakCapacity <= RecentLines.memoryBound(keeping: 3, maxLineBytes: 1000))
    }
}

@Suite struct GrepMatcherChoiceTests {
    @Test func partsAsGNUGrepFindsThem() {
        let p = { (s: [String]) in s.map { Array($0.utf8) } }
        #expect(PartSearch.gnu(.fixed, p(["ab"]), wordRegexp: true) == .fixedAsRegex(p(["ab"])))
        #expect(PartSearch.gnu(.fixed, p(["ab", "ab"]), wordRegexp: true) == .fixedAsRegex(p(["ab", "ab"])))
        #expect(PartSearch.gnu(.fixed, p(["ab", "cd"]), wordRegexp: true) == .fixedStrings(p(["ab", "cd"])))
        #expect(PartSearch.gnu(.fixed, p(["ab"]), wordRegexp: false) == .fixedStrings(p(["ab"])))
        #expect(PartSearch.gnu(.regex(.basic), p(["a\\.b", "c+"]), wordRegexp: true) == .fixedStrings(p(["a.b", "c+"])))
        #expect(PartSearch.gnu(.regex(.extended), p(["ab", "c+"]), wordRegexp: true) == .regex(p(["ab", "c+"]), .extended))
        #expect(PartSearch.gnu(.regex(.basic), p(["ab"]), wordRegexp: true) == .regex(p(["ab"]), .basic))
    }

    @Test(arguments: [("a\\.b", RegexSyntax.basic, "a.b"), ("a+{", .basic, "a+{"), ("a\\x", .extended, "ax"),
                      ("a)", .extended, "a)"), ("a\\)", .extended, "a)"), ("a\\}", .basic, "a}")])
    func fixedText(_ pattern: String, _ syntax: RegexSyntax, _ text: String) {
        #expect(RegexText.fixedText(Array(pattern.utf8), syntax) == Array(text.utf8))
    }

    @Test(arguments: [("a.b", RegexSyntax.basic), ("a+", .extended), ("a\\w", .basic), ("a\\1", .basic),
                      ("a\\(", .basic), ("a\\", .basic), ("^a", .basic), ("a|b", .extended)])
    func notFixedText(_ pattern: String, _ syntax: RegexSyntax) {
        #expect(RegexText.fixedText(Array(pattern.utf8), syntax) == nil)
    }

    @Test(arguments: [("^a$", RegexSyntax.basic, "\\`a\\'"), ("a^b$c", .basic, "a^b$c"), ("\\(^a$\\)", .basic, "\\(\\`a\\'\\)"),
                      ("a$\\|^b", .basic, "a\\'\\|\\`b"), ("a.^b$.", .extended, "a.\\`b\\'."), ("[$^]", .extended, "[$^]"),
                      ("\\$\\^", .extended, "\\$\\^"), ("^^", .basic, "\\`\\`")])
    func anchorsAtRecordEdges(_ pattern: String, _ syntax: RegexSyntax, _ expected: String) {
        #expect(RegexText.anchoringAtRecordEdges(Array(pattern.utf8), syntax) == Array(expected.utf8))
    }
}
