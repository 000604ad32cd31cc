import CSys
import Glibc

/// Finds lines that match, the way ripgrep's searcher does: search the whole buffer for
/// a literal every match must contain (memmem), then find the line edges around each
/// hit and confirm that line — never split into lines first. Patterns without such a
/// literal, and many fixed strings, run a lazy DFA (`LazyDFA`) over the whole buffer;
/// a candidate line is confirmed by the DFA too. glibc's regex stays for what the DFA
/// cannot do (back-references, word assertions), for patterns whose DFA would not fit
/// its cache, and as the oracle (`usesLiterals: false`) the fuzzer holds the rest to.
///
/// A buffer given to `nextMatch` holds whole lines, each ending in the separator ("\n", or
/// NUL with `-z`, when a line may hold newlines that `.` and `[^a]` match and `^` and `$`
/// do not anchor at, as in GNU grep).
final class LineMatcher {
    /// How a candidate line is confirmed.
    private enum Confirm {
        /// Containing a literal is matching (plain fixed strings).
        case none
        /// The line contains one of the patterns (plain fixed strings, checked per line).
        case contains
        /// The line equals one of the patterns (`-F -x`).
        case wholeLine
        /// One of the patterns occurs as a whole word (`-F -w`).
        case word
        /// One of the compiled regexes matches.
        case regex
    }

    private let confirm: Confirm
    /// Fixed patterns, folded to lower case with `-i`.
    private let fixed: [[UInt8]]
    /// Literals searched for in the buffer (folded with `-i`); empty means every line is
    /// a candidate.
    private let literals: [[UInt8]]
    private let searchers: [FixedSearcher]
    /// Searchers for the fixed patterns, for `-w` (each occurrence is tried).
    private let patternSearchers: [FixedSearcher]
    /// An empty fixed pattern without -x/-w: every line matches.
    private let matchesEverything: Bool
    /// No pattern at all (`-f /dev/null`): no line matches.
    private let matchesNothing: Bool
    private let ignoreCase: Bool
    /// With `-i`, a folded copy of each buffer is searched or compared (literals, fixed
    /// strings); not when the automaton or glibc, which fold by themselves, do all the work.
    private let needsFolded: Bool
    /// The byte that ends a line.
    private let separator: UInt8
    /// The compiled regexes, in a class of their own so that they are freed even when
    /// this initializer throws halfway.
    private let compiled = CompiledRegexes()
    /// The automaton that selects lines in place of `regexes` (and of the fixed strings,
    /// when there are many); nil when glibc must. Once it gives up (`hasGivenUp`), the
    /// matcher goes on without it.
    private let automaton: LazyDFA?
    /// `compiled.all` once compiling is done: a `let`, read per line without the dynamic
    /// exclusivity check that reading the class's `var` costs (3% of `-E '[aeiou]{3}'`).
    private let regexes: [UnsafeMutablePointer<regex_t>]
    /// `buffer` folded to lower case, for `-i` searches; grown to the largest buffer.
    private var folded = ByteBuffer(limit: Int.max - 1)
    /// `folded`'s bytes for the current buffer, set by `prepare`. Read once per line, so
    /// `@exclusivity(unchecked)`: only this matcher's thread touches it, never overlapping.
    @exclusivity(unchecked) private var foldedBase = UnsafeMutableRawPointer(bitPattern: 1)!
    /// Next hit of each literal in the current buffer: an offset, `none` when there is
    /// no more, `unknown` before the first search. `literals.count` entries. A raw
    /// pointer, not an array property: it is written once per line on the hot path, and a
    /// class's stored `var` costs a dynamic exclusivity check per access (a third of
    /// `grep -v -F e`'s instructions at -O). Only this matcher's thread touches it.
    private let nextHits: UnsafeMutablePointer<Int>
    private static let none = -1, unknown = -2

    /// Fixed strings from this many on run through the automaton, not one search each.
    static let fixedStringsForAutomaton = 8

    /// Whether searching for `literal` before running the DFA pays: it is three bytes or
    /// more, or holds a byte rarer than the 48 most common in text (`byteRank`), where
    /// the DFA runs at a table lookup per byte and memmem skips far faster.
    static func isWorthSearching(_ literal: [UInt8]) -> Bool {
        literal.count >= 3 || literal.contains { byteRank[Int($0)] < 208 }
    }

    /// Whether a matcher for `options` may run the automaton (and so hold its cache): for
    /// a regex, or for `fixedStringsForAutomaton` fixed strings or more.
    static func mayUseAutomaton(_ options: GrepOptions) -> Bool {
        switch options.mode {
        case .regex: return true
        case .fixed: return options.patterns.count >= fixedStringsForAutomaton
        }
    }

    /// `usesLiterals: false` confirms every line with glibc instead of searching for
    /// literals or running the automaton: slower, and the oracle the fuzzer holds the fast
    /// path to. `automatonBudgetBytes` is the DFA's cache (small in tests of its clearing).
    init(_ options: GrepOptions, usesLiterals: Bool = true,
         automatonBudgetBytes: Int = LazyDFA.defaultBudgetBytes) throws(SluiceError) {
        ignoreCase = options.ignoreCase
        separator = options.separator
        let fold: ([UInt8]) -> [UInt8] = { options.ignoreCase ? $0.map(asciiLower) : $0 }
        var literals: [[UInt8]]
        var confirm: Confirm
        var tree: RegexNode?
        switch options.mode {
        case .fixed:
            // A fixed string holding the separator (a NUL from `-f` with `-z`) is in no line.
            fixed = options.patterns.filter { !$0.contains(options.separator) }.map(fold)
            matchesNothing = fixed.isEmpty
            literals = fixed.contains { $0.isEmpty } ? [] : fixed
            confirm = options.lineRegexp ? .wholeLine : options.wordRegexp ? .word : .none
            matchesEverything = confirm == .none && fixed.contains { $0.isEmpty }
            if confirm == .none && !matchesEverything && fixed.count >= Self.fixedStringsForAutomaton {
                tree = .alternation(fixed.map { word in
                    .concat(word.map { c in
                        .bytes(options.ignoreCase ? ByteSet { asciiLower($0) == c } : ByteSet(c))
                    })
                })
                literals = []
                confirm = .contains
            }
        case .regex(let syntax):
            fixed = []
            matchesNothing = options.patterns.isEmpty
            matchesEverything = false
            confirm = .regex
            var found: [[UInt8]] = []
            for pattern in options.patterns {
                found.append(RegexText.requiredLiteral(pattern, syntax).map(fold) ?? [])
            }
            literals = found.contains { $0.isEmpty } ? [] : found
            try compiled.compileAsGNUGrep(options.patterns, syntax, options)
            if !options.patterns.isEmpty && !options.patterns.contains(where: RegexText.mayHaveBackReference) {
                // The text glibc compiled, read the way glibc read it.
                let text = try Self.wrapped(Array(options.patterns.joined(separator: [0x0A])), syntax, options)
                tree = RegexParser.parse(text, syntax, ignoreCase: options.ignoreCase)
            }
        }
        if !usesLiterals {
            tree = nil
            literals = []
            if confirm == .none { confirm = .contains }
        }
        let automaton = tree.flatMap { NFA($0) }.map {
            LazyDFA($0, separator: options.separator, budgetBytes: automatonBudgetBytes)
        }
        // A literal as common as `_` finds a candidate in most lines: the DFA alone is faster.
        if automaton != nil && !literals.allSatisfy(Self.isWorthSearching) { literals = [] }
        self.automaton = automaton
        self.literals = literals
        self.confirm = confirm
        nextHits = .allocate(capacity: max(1, literals.count))
        nextHits.initialize(repeating: Self.unknown, count: max(1, literals.count))
        searchers = literals.map(FixedSearcher.init)
        patternSearchers = fixed.map(FixedSearcher.init)
        regexes = compiled.all
        needsFolded = options.ignoreCase && (!self.literals.isEmpty || confirm != .regex)
    }

    deinit {
        folded.release()
        nextHits.deallocate()
    }

    /// Whether the automaton gave up on the pattern; nil when there is none (for tests).
    var automatonHasGivenUp: Bool? { automaton?.hasGivenUp }

    /// Checks each pattern as GNU grep does before anything else: alone, as typed (before
    /// `RegexText`'s normalising), without the -x/-w wrapping. So a `(` in one pattern is
    /// an error even when another pattern, or the wrapping, would close it.
    static func checkSyntax(_ patterns: [[UInt8]], _ syntax: RegexSyntax, ignoreCase: Bool) throws(SluiceError) {
        var bare = GrepOptions()
        bare.ignoreCase = ignoreCase
        for pattern in patterns {
            let checked = try compile(pattern, syntax, bare)
            regfree(checked)
            checked.deallocate()
        }
    }

    /// Compiles `pattern` (one or several patterns joined by newlines, which GNU's
    /// RE_NEWLINE_ALT reads as alternatives) the way GNU grep does: GNU regex with
    /// RE_SYNTAX_GREP or RE_SYNTAX_EGREP, wrapped for `-x` or `-w` as grep wraps its DFA
    /// pattern: `^(P)$` and `(^|[^[:alnum:]_])(P)([^[:alnum:]_]|$)`.
    static func compile(_ pattern: [UInt8], _ syntax: RegexSyntax,
                                _ options: GrepOptions) throws(SluiceError) -> UnsafeMutablePointer<regex_t> {
        let shown = String(decoding: pattern, as: UTF8.self)
        let text = try wrapped(pattern, syntax, options)
        let basic = syntax == .basic
        var bits = basic ? sluice_re_syntax_grep : sluice_re_syntax_egrep
        bits |= sluice_re_no_sub
        if options.ignoreCase { bits |= sluice_re_icase }
        let regex = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        regex.initialize(to: regex_t())
        // A fastmap lets re_search skip impossible starts. GNU grep leaves it out with -i
        // for glibc bug 20381, which is in the multibyte path of the fastmap; sluice never
        // leaves the C locale, where glibc folds both the pattern and the text to upper
        // case and the fastmap marks both cases of every byte. With it, -i -E without a
        // literal runs 2-3x faster; the differential tests hold it to GNU grep.
        regex.pointee.__fastmap = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
        _ = re_set_syntax(bits)
        let error = text.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { re_compile_pattern($0.baseAddress, $0.count, regex) }
        }
        if let error {
            let reason = String(cString: error)
            regfree(regex)
            regex.deallocate()
            throw .usage("grep: invalid pattern '\(shown)': \(reason)", stage: "grep")
        }
        // re_compile_pattern makes `^` and `$` anchor at newlines too, as GNU grep wants
        // for lines; for `-z`'s records they anchor only at the record's edges.
        regex.pointee.__newline_anchor = options.separator == 0x0A ? 1 : 0
        return regex
    }

    /// `pattern` wrapped for `-x` or `-w` as GNU grep wraps its DFA pattern: `^(P)$` and
    /// `(^|[^[:alnum:]_])(P)([^[:alnum:]_]|$)`, back-references renumbered; as it is otherwise.
    static func wrapped(_ pattern: [UInt8], _ syntax: RegexSyntax, _ options: GrepOptions) throws(SluiceError) -> [UInt8] {
        guard options.lineRegexp || options.wordRegexp else { return pattern }
        let shown = String(decoding: pattern, as: UTF8.self)
        let basic = syntax == .basic
        let groups = options.lineRegexp ? 1 : 2
        guard let shifted = RegexText.shiftingBackReferences(pattern, by: groups) else {
            throw .usage("grep: pattern '\(shown)': too many back-references for -x or -w", stage: "grep")
        }
        let (open, close, alt) = basic ? ("\\(", "\\)", "\\|") : ("(", ")", "|")
        let nonWord = "[^[:alnum:]_]"
        let (before, after) = options.lineRegexp
            ? ("^" + open, close + "$")
            : (open + "^" + alt + nonWord + close + open, close + open + nonWord + alt + "$" + close)
        return Array(before.utf8) + shifted + Array(after.utf8)
    }

    /// The first line of `buffer` at or after `from` (a line start) that matches, as the
    /// range of the line with its newline; nil when none does. A search from 0 starts a
    /// new buffer; later calls on the same buffer must go forward (from the end of the
    /// line returned, or further).
    func nextMatch(in buffer: UnsafeRawBufferPointer, from: Int) -> Range<Int>? {
        guard from < buffer.count, let base = buffer.baseAddress, !matchesNothing else { return nil }
        if matchesEverything { return from..<lineEnd(base, buffer.count, from, separator: separator) }
        // The per-line path of `-v` and of common literals: a new buffer is prepared
        // once, and a literal hit that needs no confirming returns without a call.
        if from == 0 { prepare(buffer) }
        if literals.isEmpty, let automaton, !automaton.hasGivenUp {
            let at = automaton.firstMatch(in: base.assumingMemoryBound(to: UInt8.self), from: from, end: buffer.count)
            if at >= 0 {
                return lineStart(base, at, floor: from, separator: separator)..<lineEnd(base, buffer.count, at, separator: separator)
            }
            if at == LazyDFA.noMatch { return nil }
            // It gave up on this pattern: glibc from here on, line by line.
        }
        let haystack = needsFolded ? UnsafeRawPointer(foldedBase) : base
        var position = from
        while position < buffer.count {
            let start: Int
            if literals.isEmpty {
                start = position
            } else {
                guard let hit = nextLiteralHit(haystack, buffer.count, from: position) else { return nil }
                start = lineStart(base, hit, floor: position, separator: separator)
            }
            let end = lineEnd(base, buffer.count, start, separator: separator)
            if confirm == .none || confirms(base + start, end - start - 1, folded: haystack + start) {
                return start..<end
            }
            position = end
        }
        return nil
    }

    /// Starts a new buffer: forgets the cached literal hits and, with -i, folds the
    /// buffer into `folded`, the haystack for literal search.
    private func prepare(_ buffer: UnsafeRawBufferPointer) {
        for i in literals.indices { nextHits[i] = Self.unknown }
        if needsFolded {
            folded.removeAll()
            folded.append(buffer)
            foldedBase = UnsafeMutableRawPointer(mutating: folded.bytes.baseAddress!)
            foldInPlace(foldedBase, buffer.count)
        }
    }

    /// The earliest hit of any literal at or after `from`, keeping each literal's next hit
    /// so that each is searched for once per buffer position, not once per line.
    private func nextLiteralHit(_ haystack: UnsafeRawPointer, _ count: Int, from: Int) -> Int? {
        var best = Int.max
        for i in literals.indices {
            var hit = nextHits[i]
            if hit == Self.unknown || (hit != Self.none && hit < from) {
                hit = searchers[i].find(in: haystack, from: from, end: count) ?? Self.none
                nextHits[i] = hit
            }
            if hit >= 0 && hit < best { best = hit }
        }
        return best == Int.max ? nil : best
    }

    /// Whether the line at `line` (`length` bytes, without its newline) matches.
    private func confirms(_ line: UnsafeRawPointer, _ length: Int, folded: UnsafeRawPointer) -> Bool {
        switch confirm {
        case .none:
            return true
        case .contains:
            let text = ignoreCase ? folded : line
            return patternSearchers.contains { $0.find(in: text, from: 0, end: length) != nil }
        case .wholeLine:
            let text = ignoreCase ? folded : line
            return fixed.contains { p in p.count == length && p.withUnsafeBytes { memcmp(text, $0.baseAddress!, length) == 0 } }
        case .word:
            let text = ignoreCase ? folded : line
            return patternSearchers.contains { hasWord($0, in: text, length) }
        case .regex:
            if let automaton, let matches = automaton.matches(line: line.assumingMemoryBound(to: UInt8.self), count: length) {
                return matches
            }
            let text = line.assumingMemoryBound(to: CChar.self)
            let n = regoff_t(length)
            return regexes.contains { re_search($0, text, n, 0, n, nil) >= 0 }
        }
    }

    /// Whether `pattern` occurs in `text` with a non-word byte (or the line's edge) on
    /// each side; every occurrence is tried, as GNU grep -F -w does.
    private func hasWord(_ searcher: FixedSearcher, in text: UnsafeRawPointer, _ length: Int) -> Bool {
        let pattern = searcher.needle
        if pattern.isEmpty {
            // An empty match fits where two non-word bytes meet, or at an edge.
            if length == 0 { return true }
            for i in 0...length {
                let before = i == 0 || !isWordByte(text.load(fromByteOffset: i - 1, as: UInt8.self))
                let after = i == length || !isWordByte(text.load(fromByteOffset: i, as: UInt8.self))
                if before && after { return true }
            }
            return false
        }
        var from = 0
        while from + pattern.count <= length {
            guard let at = searcher.find(in: text, from: from, end: length) else { return false }
            let end = at + pattern.count
            let before = at == 0 || !isWordByte(text.load(fromByteOffset: at - 1, as: UInt8.self))
            let after = end == length || !isWordByte(text.load(fromByteOffset: end, as: UInt8.self))
            if before && after { return true }
            from = at + 1
        }
        return false
    }
}

/// Regexes compiled with re_compile_pattern, freed with regfree (which frees the fastmap too).
final class CompiledRegexes {
    private(set) var all: [UnsafeMutablePointer<regex_t>] = []

    /// Compiles `patterns` into regexes as GNU grep does: those without back-references
    /// into one, as alternatives, first; then each with a back-reference alone, so that
    /// `\1` means its own first group.
    func compileAsGNUGrep(_ patterns: [[UInt8]], _ syntax: RegexSyntax, _ options: GrepOptions) throws(SluiceError) {
        let plain = patterns.filter { !RegexText.mayHaveBackReference($0) }
        let alone = patterns.filter { RegexText.mayHaveBackReference($0) }
        if !plain.isEmpty {
            all.append(try LineMatcher.compile(Array(plain.joined(separator: [0x0A])), syntax, options))
        }
        for pattern in alone { all.append(try LineMatcher.compile(pattern, syntax, options)) }
    }

    deinit {
        for r in all {
            regfree(r)
            r.deallocate()
        }
    }
}

// MARK: Byte helpers

@inline(__always) func asciiLower(_ c: UInt8) -> UInt8 {
    c &- 0x41 < 26 ? c | 0x20 : c
}

@inline(__always) func isWordByte(_ c: UInt8) -> Bool {
    (c | 0x20) &- 0x61 < 26 || c &- 0x30 < 10 || c == 0x5F
}
