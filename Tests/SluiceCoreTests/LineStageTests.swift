import Testing
@testable import SluiceCore
import SluiceTestSupport

/// Edge-case text: empty lines, CRLF, NUL bytes, a long line, no final newline.
let edgeText = [UInt8]("alpha\n\nBeta gamma\r\nfoo_bar foo\n\u{0}nul\u{0}\nint x;\nprint\n" + String(repeating: "z", count: 9000) + "\nlast foo")

/// The reference model of `grep -F`, one pattern.
func modelGrep(_ text: [UInt8], _ pattern: [UInt8], invert: Bool = false, ignoreCase: Bool = false,
               line: Bool = false, word: Bool = false, max: Int? = nil) -> [UInt8] {
    Reference.grepFixed(text, [pattern], invert: invert, ignoreCase: ignoreCase, line: line, word: word, max: max)
}

@Suite struct LineSplitterTests {
    @Test(arguments: chunkSizes)
    func reassemblesLines(_ size: Int) throws {
        var splitter = LineSplitter(maxLineBytes: 1 << 20)
        var out: [UInt8] = []
        var offset = 0
        while offset < edgeText.count {
            let piece = Array(edgeText[offset..<min(offset + size, edgeText.count)])
            offset += piece.count
            try piece.withUnsafeBytes { (bytes) throws in
                let split = try splitter.split(bytes)
                if let line = split.completedLine {
                    #expect(line.last == 0x0A)
                    out += line
                }
                if let tail = split.tail { try splitter.keep(tail) }
                #expect(split.lines.isEmpty || split.lines.last == 0x0A)
                out += split.lines
            }
        }
        out += splitter.finish(completing: true)
        #expect(out == edgeText + [0x0A])
    }

    @Test func refusesLongLines() throws {
        var splitter = LineSplitter(maxLineBytes: 10)
        let ok = [UInt8]("0123456789\nabc")
        try ok.withUnsafeBytes { (b) throws in
            let split = try splitter.split(b)
            if let tail = split.tail { try splitter.keep(tail) }
        }
        #expect(throws: StageError.failed("line longer than 10 B at byte 11 (raise --max-line)")) {
            try [UInt8]("defghijk").withUnsafeBytes { (b) throws in _ = try splitter.split(b) }
        }
    }

    @Test func refusesLongLinesInsideAChunk() {
        var splitter = LineSplitter(maxLineBytes: 4)
        #expect(throws: StageError.failed("line longer than 4 B at byte 3 (raise --max-line)")) {
            try [UInt8]("ab\n12345\n").withUnsafeBytes { (b) throws in _ = try splitter.split(b) }
        }
    }
}

@Suite struct GrepStageTests {
    func grep(_ patterns: [String], mode: GrepMode = .fixed, _ configure: (inout GrepOptions) -> Void = { _ in })
        -> () -> any Stage {
        var o = GrepOptions()
        o.mode = mode
        o.patterns = patterns.map { Array($0.utf8) }
        configure(&o)
        let options = o
        return { LineStageAdapter(try! GrepStage(options), maxLineBytes: 1 << 20) }
    }

    func expectAllSizes(_ make: () -> any Stage, _ expected: [UInt8], input: [UInt8] = edgeText,
                        sourceLocation: SourceLocation = #_sourceLocation) {
        for (size, r) in StageHarness.runAtAllSizes(input, make) {
            #expect(r.output == expected, "chunk size \(size)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: ["foo", "o", "", "z", "zzzzzzzzzzzzzzzzz", "last foo", "\u{0}", "\r", "nomatch"])
    func fixedMatchesTheModel(_ pattern: String) {
        let p = Array(pattern.utf8)
        expectAllSizes(grep([pattern]), modelGrep(edgeText, p))
        expectAllSizes(grep([pattern]) { $0.invert = true }, modelGrep(edgeText, p, invert: true))
        expectAllSizes(grep([pattern]) { $0.ignoreCase = true }, modelGrep(edgeText, p, ignoreCase: true))
        expectAllSizes(grep([pattern]) { $0.lineRegexp = true }, modelGrep(edgeText, p, line: true))
        expectAllSizes(grep([pattern]) { $0.wordRegexp = true }, modelGrep(edgeText, p, word: true))
    }

    @Test(arguments: [0, 1, 2, 5])
    func maxCount(_ m: Int) {
        expectAllSizes(grep(["o"]) { $0.maxCount = m }, modelGrep(edgeText, [UInt8]("o"), max: m))
        expectAllSizes(grep(["o"]) { $0.maxCount = m; $0.invert = true },
                       modelGrep(edgeText, [UInt8]("o"), invert: true, max: m))
    }

    @Test func maxCountStopsReading() {
        let input = [UInt8](String(repeating: "yes\n", count: 200_000).utf8)
        let r = StageHarness.run(grep(["y"]) { $0.maxCount = 2 }(), input: input, chunkSize: 4096)
        #expect(r.output == [UInt8]("yes\nyes\n"))
        #expect(r.end == .stopped)
        #expect(r.bytesSent < input.count)
    }

    @Test func severalPatterns() {
        let expected = modelGrep(edgeText, [UInt8]("nul")) + []
        _ = expected
        let both = [UInt8]("foo_bar foo\n\u{0}nul\u{0}\nlast foo\n")
        expectAllSizes(grep(["nul", "foo"]), both)
        expectAllSizes(grep(["nul", "foo"], mode: .regex(.extended)), both)
    }

    @Test func noPatternsMatchNothing() {
        expectAllSizes(grep([]), [])
        expectAllSizes(grep([]) { $0.invert = true }, modelGrep(edgeText, [UInt8]("\u{1}"), invert: true))
    }

    @Test func regexAtAllSizes() {
        // Lines with a word starting with f or b followed by o or a.
        let expected = [UInt8]("Beta gamma\r\nfoo_bar foo\nlast foo\n")
        expectAllSizes(grep(["\\<[fbB][oae]"], mode: .regex(.basic)), expected)
        expectAllSizes(grep(["\\<[fbB][oae]"], mode: .regex(.extended)), expected)
        expectAllSizes(grep(["^$"], mode: .regex(.basic)), [0x0A])
        expectAllSizes(grep(["^.nul.$"], mode: .regex(.basic)), [UInt8]("\u{0}nul\u{0}\n"))
    }

    @Test func lastLineGetsANewline() {
        expectAllSizes(grep(["foo"]), [UInt8]("x foo\n"), input: [UInt8]("x foo"))
        expectAllSizes(grep(["foo"]) { $0.invert = true }, [UInt8]("a\n"), input: [UInt8]("foo\na"))
        expectAllSizes(grep(["x"]), [], input: [])
    }

    @Test func lineOverTheLimitFails() {
        var o = GrepOptions()
        o.mode = .fixed
        o.patterns = [[UInt8]("x")]
        let r = StageHarness.run(LineStageAdapter(try! GrepStage(o), maxLineBytes: 100), input: [UInt8](repeating: 0x61, count: 1000), chunkSize: 64)
        #expect(r.end == .failed("line longer than 100 B at byte 0 (raise --max-line)"))
    }
}

@Suite struct RegexTextTests {
    @Test(arguments: [
        ("static (int|void) [a-z_]+\\(", RegexSyntax.extended, "static "),
        ("abc", .basic, "abc"),
        ("ab*c", .basic, "a"),
        ("abcd*", .basic, "abc"),
        ("a+bc", .extended, "bc"),
        ("a\\+bc", .basic, "bc"),
        ("x\\.y", .extended, "x.y"),
        ("ab?", .extended, "a"),
        ("\\.+?a", .extended, "a"),
        ("foo{0,3}bar", .extended, "bar"),
        ("foo{2}bar", .extended, "foo"),
        ("ab[cd]ef", .extended, "ab"),
        ("^#(if|endif)", .extended, "#"),
        ("\\(ab\\)*cd", .basic, "cd"),
        ("a.b", .extended, "a"),
    ])
    func requiredLiteral(_ pattern: String, _ syntax: RegexSyntax, _ literal: String) {
        #expect(RegexText.requiredLiteral(Array(pattern.utf8), syntax) == Array(literal.utf8))
    }

    @Test(arguments: [("a|b", RegexSyntax.extended), ("a\\|b", .basic), ("*a", .extended), ("(a", .extended),
                      ("[abc", .extended), ("\\w+", .extended), (".*", .basic)])
    func noLiteral(_ pattern: String, _ syntax: RegexSyntax) {
        #expect(RegexText.requiredLiteral(Array(pattern.utf8), syntax) == nil)
    }

    @Test func shiftsBackReferences() {
        #expect(RegexText.shiftingBackReferences(Array("\\(a\\)\\1[\\1]".utf8), by: 2) == Array("\\(a\\)\\3[\\1]".utf8))
        #expect(RegexText.shiftingBackReferences(Array("\\9".utf8), by: 1) == nil)
    }

    @Test(arguments: [("*a", "a"), ("+a", "a"), ("(?x)", "(x)"), ("a|*b", "a|b"), ("{1}foo", "foo"),
                      ("a{1", "a{1"), ("{x", "\\{x"), ("a^*b", "ab"), ("\\>{1,2}", "\\>"), ("\\<?a", "a"),
                      ("[*]a", "[*]a")])
    func normalizesExtended(_ pattern: String, _ expected: String) {
        #expect(RegexText.normalizingExtended(Array(pattern.utf8)) == Array(expected.utf8))
    }

    @Test(arguments: [("a++", RegexSyntax.extended, "a+"), ("a+?", .extended, "a*"), ("a?+*", .extended, "a*"),
                      ("a??", .extended, "a?"), ("[+*]++", .extended, "[+*]+"), ("a\\++", .extended, "a\\++"),
                      ("a{2}+", .extended, "a{2}+"), ("a**", .basic, "a*"), ("**a", .basic, "**a"),
                      ("\\(**a\\)", .basic, "\\(**a\\)"), ("^**", .basic, "^**"), ("x\\+\\+", .basic, "x\\+\\+")])
    func collapsesStackedRepetitions(_ pattern: String, _ syntax: RegexSyntax, _ expected: String) {
        #expect(RegexText.collapsingStackedRepetitions(Array(pattern.utf8), syntax) == Array(expected.utf8))
    }

    @Test(arguments: [("a\\x", "ax"), ("\\q\\Q\\z", "qQz"), ("\\w\\W\\s\\S\\b\\B", "\\w\\W\\s\\S\\b\\B"),
                      ("[\\x]\\x", "[\\x]x"), ("\\\\x", "\\\\x"), ("\\.\\1\\<", "\\.\\1\\<"), ("a\\", "a\\")])
    func dropsStrayEscapes(_ pattern: String, _ expected: String) {
        #expect(RegexText.droppingStrayEscapes(Array(pattern.utf8)) == Array(expected.utf8))
    }

    @Test func literalPatterns() {
        #expect(RegexText.isLiteral(Array("int main".utf8), .basic))
        #expect(RegexText.isLiteral(Array("a+b{}".utf8), .basic))
        #expect(!RegexText.isLiteral(Array("a+b".utf8), .extended))
        #expect(!RegexText.isLiteral(Array("a.b".utf8), .basic))
    }
}

@Suite struct HeadTailStageTests {
    static let text = [UInt8]("1\n22\n\n333\n4444\nno newline")

    /// Coreutils' answers for `text`, worked out by hand from its definition.
    @Test(arguments: [
        (HeadStage.Limit.lines(2), "1\n22\n"), (.lines(0), ""), (.lines(6), "1\n22\n\n333\n4444\nno newline"),
        (.lines(100), "1\n22\n\n333\n4444\nno newline"), (.bytes(4), "1\n22"),
        (.allButLines(1), "1\n22\n\n333\n4444\n"), (.allButLines(2), "1\n22\n\n333\n"), (.allButLines(0), "1\n22\n\n333\n4444\nno newline"),
        (.allButLines(9), ""), (.allButBytes(10), "1\n22\n\n333\n4444\n"), (.allButBytes(0), "1\n22\n\n333\n4444\nno newline"),
    ])
    func head(_ limit: HeadStage.Limit, _ expected: String) {
        for (size, r) in StageHarness.runAtAllSizes(Self.text, { HeadStage.make(limit) }) {
            #expect(r.output == [UInt8](expected), "chunk size \(size)")
        }
    }

    @Test(arguments: [
        (TailStage.Limit.lines(1), "no newline"), (.lines(2), "4444\nno newline"), (.lines(0), ""),
        (.lines(100), "1\n22\n\n333\n4444\nno newline"), (.bytes(3), "ine"), (.bytes(0), ""),
        (.fromLine(1), "1\n22\n\n333\n4444\nno newline"), (.fromLine(0), "1\n22\n\n333\n4444\nno newline"),
        (.fromLine(3), "\n333\n4444\nno newline"), (.fromLine(6), "no newline"), (.fromLine(7), ""),
        (.fromByte(3), "22\n\n333\n4444\nno newline"), (.fromByte(100), ""),
    ])
    func tail(_ limit: TailStage.Limit, _ expected: String) {
        for (size, r) in StageHarness.runAtAllSizes(Self.text, { TailStage.make(limit) }) {
            #expect(r.output == [UInt8](expected), "chunk size \(size)")
        }
    }

    @Test func tailHoldsOnlyWhatItMust() {
        // 4 MiB of short lines, tail -n 3: after each run the queue is cut back to its first
        // segment and the 3 lines after it, so at its peak it also holds one chunk's run.
        let input = [UInt8](String(repeating: "abcdefg\n", count: 1 << 19).utf8)
        var tail = LineStageAdapter(TailStage.LastLines(keeping: 3), maxLineBytes: 1 << 20)
        let r = StageHarness.run(&tail, input: input, chunkSize: 65536)
        #expect(r.output == [UInt8]("abcdefg\nabcdefg\nabcdefg\n"))
        #expect(tail.stage.held.peakCount <= ByteQueue.segmentBytes + 3 * 8 + 65536)
    }

    @Test func headAllButHoldsOnlyWhatItMust() {
        // head -n -3 keeps exactly the last 3 lines after each run, plus the run it adds.
        let input = [UInt8](String(repeating: "abcdefg\n", count: 1 << 19).utf8)
        var head = LineStageAdapter(HeadStage.AllButLastLines(keeping: 3), maxLineBytes: 1 << 20)
        let r = StageHarness.run(&head, input: input, chunkSize: 65536)
        #expect(r.output == Array(input.dropLast(24)))
        #expect(head.stage.held.peakCount <= 3 * 8 + 65536)
    }

    @Test func heldBytesCountTheLinesKept() {
        let context = StageContext(chunkBytes: 128 << 10, maxLineBytes: 1 << 20, diagnostics: Diagnostics())
        let line = (1 << 20) + 1, segments = 3 * ByteQueue.segmentBytes
        // The partial line, N lines kept, one line or chunk appended, three segments.
        #expect(TailStage.heldBytes(.lines(10), context) == line + 10 * line + line + segments)
        #expect(HeadStage.heldBytes(.allButLines(10), context) == line + 10 * line + line + segments)
        #expect(TailStage.heldBytes(.bytes(1000), context) == 1000 + (128 << 10) + segments)
        #expect(HeadStage.heldBytes(.allButBytes(1000), context) == 1000 + (128 << 10) + segments)
        #expect(TailStage.heldBytes(.fromLine(5), context) == line)
        #expect(HeadStage.heldBytes(.lines(5), context) == line)
    }

    @Test func heldBytesSaturate() {
        let context = StageContext(chunkBytes: 128 << 10, maxLineBytes: 1 << 30, diagnostics: Diagnostics())
        #expect(TailStage.heldBytes(.lines(Int.max), context) == Int.max)
        #expect(HeadStage.heldBytes(.allButLines(1 << 40), context) == Int.max)
        #expect(TailStage.heldBytes(.bytes(Int.max), context) == Int.max)
        #expect(HeadStage.heldBytes(.allButBytes(Int.max - 1), context) == Int.max)
    }

    @Test func headLineOverTheLimit() {
        let r = StageHarness.run(HeadStage.make(.lines(1), maxLineBytes: 1000), input: [UInt8](repeating: 0, count: 5000), chunkSize: 512)
        #expect(r.end == .failed("line longer than 1000 B at byte 0 (raise --max-line)"))
        #expect(r.output.isEmpty)
    }
}
