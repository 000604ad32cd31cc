import Testing
@testable import SluiceCore
import SluiceTestSupport

/// The lazy DFA's parts: the parser reads patterns as glibc does, the NFA compiler keeps
/// alternations of strings small and refuses blow-ups, and the DFA selects the lines
/// glibc selects, with a cache small enough to be cleared, and gives up when clearing
/// comes too often. The differential script and the fuzzer hold it to GNU grep and to
/// glibc on random patterns; these pin the cases by name.
@Suite struct RegexAutomatonTests {
    static func parse(_ p: String, _ syntax: RegexSyntax = .extended, ignoreCase: Bool = false) -> RegexNode? {
        RegexParser.parse(Array(p.utf8), syntax, ignoreCase: ignoreCase)
    }

    static func nfa(_ p: String) -> NFA? {
        parse(p).flatMap { NFA($0) }
    }

    static func byte(_ c: Character) -> RegexNode { .bytes(ByteSet(c.asciiValue!)) }

    // MARK: Parser

    @Test func leadingStarIsLiteralInABasicRegexAndSkippedInAnExtendedOne() {
        #expect(Self.parse("*a", .basic) == .concat([Self.byte("*"), Self.byte("a")]))
        #expect(Self.parse("\\(*a\\)", .basic) == .concat([Self.byte("*"), Self.byte("a")]))
        #expect(Self.parse("^*", .basic) == .concat([.lineStart, Self.byte("*")]))
        #expect(Self.parse("*a", .extended) == Self.byte("a"))
    }

    @Test func anchorsInABasicRegexDependOnWhereTheyStand() {
        #expect(Self.parse("a^b", .basic) == .concat([Self.byte("a"), Self.byte("^"), Self.byte("b")]))
        #expect(Self.parse("a$b", .basic) == .concat([Self.byte("a"), Self.byte("$"), Self.byte("b")]))
        #expect(Self.parse("a$\\|^b", .basic) == .alternation([.concat([Self.byte("a"), .lineEnd]),
                                                                .concat([.lineStart, Self.byte("b")])]))
        #expect(Self.parse("a^b", .extended) == .concat([Self.byte("a"), .lineStart, Self.byte("b")]))
    }

    @Test func intervals() {
        #expect(Self.parse("a{2,3}") == .repetition(Self.byte("a"), min: 2, max: 3))
        #expect(Self.parse("a{,3}") == .repetition(Self.byte("a"), min: 0, max: 3))
        #expect(Self.parse("a{2,}") == .repetition(Self.byte("a"), min: 2, max: nil))
        #expect(Self.parse("a\\{2\\}", .basic) == .repetition(Self.byte("a"), min: 2, max: 2))
        #expect(Self.parse("a{0}b") == Self.byte("b"))
        // An ERE brace that opens no interval is a literal.
        #expect(Self.parse("a{1,x") == .concat([Self.byte("a"), Self.byte("{"), Self.byte("1"), Self.byte(","), Self.byte("x")]))
        #expect(Self.parse("a{2}{3}") == .repetition(.repetition(Self.byte("a"), min: 2, max: 2), min: 3, max: 3))
    }

    @Test func bracketExpressions() {
        #expect(Self.parse("[]a]") == .bytes(ByteSet { $0 == 0x5D || $0 == 0x61 }))
        #expect(Self.parse("[^]a]") == .bytes(ByteSet { $0 != 0x5D && $0 != 0x61 }))
        #expect(Self.parse("[a-c-]") == .bytes(ByteSet { (0x61...0x63).contains($0) || $0 == 0x2D }))
        #expect(Self.parse("[[:digit:][.x.][=y=]]") == .bytes(ByteSet { (0x30...0x39).contains($0) || $0 == 0x78 || $0 == 0x79 }))
        #expect(Self.parse("[\\n]") == .bytes(ByteSet { $0 == 0x5C || $0 == 0x6E }))
        #expect(Self.parse("\\w") == .bytes(ByteSet { isWordByte($0) }))
    }

    @Test func ignoringCaseFoldsAsGlibcDoes() {
        #expect(Self.parse("a", ignoreCase: true) == .bytes(ByteSet { $0 == 0x41 || $0 == 0x61 }))
        // glibc upper-cases the pattern and the text: [^a] holds neither case.
        #expect(Self.parse("[^a]", ignoreCase: true) == .bytes(ByteSet { $0 != 0x41 && $0 != 0x61 }))
        #expect(Self.parse("[[:upper:]]", ignoreCase: true) == .bytes(ByteSet { ($0 | 0x20) &- 0x61 < 26 }))
    }

    @Test func whatAnAutomatonCannotDoIsLeftToGlibc() {
        for p in ["(a)\\1", "\\<a", "a\\>", "\\bx", "x\\B"] { #expect(Self.parse(p) == nil, "\(p)") }
        #expect(Self.parse("\\(a\\)\\1", .basic) == nil)
    }

    // MARK: NFA

    @Test func anAlternationOfStringsIsATrie() throws {
        let words = (0..<200).map { "w\($0)x" }
        let trie = try #require(Self.nfa(words.joined(separator: "|")))
        // One state per distinct prefix, not a chain of 200 splits before 200 strings.
        #expect(trie.count < 600)
        let general = try #require(Self.nfa(words.joined(separator: "|") + "|a*"))
        #expect(general.count > trie.count)
    }

    @Test func aBlowUpIsRefused() throws {
        #expect(Self.nfa("(a{1,300}){1,300}") == nil)
        #expect(Self.nfa("x{1,1000}") != nil)
    }

    // MARK: DFA

    /// The lines of `text` that the DFA (with `budget`) selects, by offset of their start.
    static func selected(_ dfa: LazyDFA, _ text: [UInt8]) -> [Int] {
        var starts: [Int] = []
        text.withUnsafeBufferPointer { b in
            let base = UnsafeRawPointer(b.baseAddress!)
            var from = 0
            while from < b.count {
                let at = dfa.firstMatch(in: b.baseAddress!, from: from, end: b.count)
                if at < 0 { break }
                let start = lineStart(base, at, floor: from)
                starts.append(start)
                from = lineEnd(base, b.count, at)
            }
        }
        return starts
    }

    /// The same through glibc, line by line.
    static func oracle(_ pattern: String, _ text: [UInt8]) throws -> [Int] {
        matchStarts(try LineMatcher(extended(pattern), usesLiterals: false), text)
    }

    /// `grep -E PATTERN`'s options.
    static func extended(_ pattern: String) -> GrepOptions {
        var o = GrepOptions()
        o.mode = .regex(.extended)
        o.patterns = [Array(pattern.utf8)]
        return o
    }

    /// Where each match `matcher` finds in `text` starts, in order.
    static func matchStarts(_ matcher: LineMatcher, _ text: [UInt8]) -> [Int] {
        var starts: [Int] = []
        text.withUnsafeBytes { b in
            var from = 0
            while let r = matcher.nextMatch(in: b, from: from) {
                starts.append(r.lowerBound)
                from = r.upperBound
            }
        }
        return starts
    }

    /// Lines of random bytes from `alphabet`, each ending in a newline.
    static func randomText(_ alphabet: String, lines: Int, seed: UInt64) -> [UInt8] {
        var g = SplitMix(seed)
        let letters = Array(alphabet.utf8)
        var text: [UInt8] = []
        for _ in 0..<lines {
            for _ in 0..<(g.next(below: 32) + 5) { text.append(letters[g.next(below: letters.count)]) }
            text.append(0x0A)
        }
        return text
    }

    @Test(arguments: ["a$", "^b", "^$", "^(a|b)*$", "(a|^)b", "a.?b$", "[^ab]", "a{2,}b{2}", "$a", "b|^$", "(ca|b)a{2}", "c c"])
    func linesAreThoseGlibcSelects(_ pattern: String) throws {
        let text = Self.randomText("ab c", lines: 400, seed: 3) + [0x0A, 0x0A]
        let dfa = LazyDFA(try #require(Self.nfa(pattern)), separator: 0x0A)
        #expect(Self.selected(dfa, text) == (try Self.oracle(pattern, text)))
    }

    @Test func aFullCacheIsClearedAndTheSearchGoesOn() throws {
        // `e` followed by 8 more letters then `x`: a state per subset of 9 recent positions.
        let pattern = "e[a-z]{8}x"
        let text = Self.randomText("eabcdefghijklmnopqrstuvwxyz", lines: 20000, seed: 7)
        let nfa = try #require(Self.nfa(pattern))
        let small = LazyDFA(nfa, separator: 0x0A, budgetBytes: 24 << 10)
        let large = LazyDFA(nfa, separator: 0x0A)
        let expected = try Self.oracle(pattern, text)
        #expect(!expected.isEmpty)
        #expect(Self.selected(large, text) == expected)
        #expect(large.clearCount == 0)
        #expect(Self.selected(small, text) == expected)
        #expect(small.clearCount > 0)
        #expect(!small.hasGivenUp)
    }

    @Test func clearingTooOftenGivesUpAndGlibcTakesOver() throws {
        let pattern = "e.{14}x"
        let text = Self.randomText("ex", lines: 20000, seed: 11)
        let nfa = try #require(Self.nfa(pattern))
        let tiny = LazyDFA(nfa, separator: 0x0A, budgetBytes: 4 << 10)
        _ = Self.selected(tiny, text)
        #expect(tiny.hasGivenUp)
        // The matcher notices and finishes the buffer with glibc.
        let matcher = try LineMatcher(Self.extended(pattern), automatonBudgetBytes: 4 << 10)
        let starts = Self.matchStarts(matcher, text)
        #expect(matcher.automatonHasGivenUp == true)
        #expect(starts == (try Self.oracle(pattern, text)))
    }

    @Test func manyFixedStringsAreAhoCorasick() throws {
        let words = (0..<300).map { "k\($0 * 7919 % 1000)z" }
        var o = GrepOptions()
        o.mode = .fixed
        o.patterns = words.map { Array($0.utf8) }
        let text = Array((0..<2000).map { "line k\($0)z and k\($0 * 3)y\n" }.joined().utf8)
        let fast = try LineMatcher(o)
        let slow = try LineMatcher(o, usesLiterals: false)
        #expect(fast.automatonHasGivenUp == false)
        let counts = [fast, slow].map { Self.matchStarts($0, text).count }
        #expect(counts[0] == counts[1])
        #expect(counts[0] > 0)
    }
}
