import Glibc

extension GrepOptions {
    /// Reads grep's options as GNU grep does: the matchers conflict, patterns come from
    /// every `-e` and `-f`, or else from the operand, and split at newlines.
    init(_ args: OptionReader) throws(SluiceError) {
        self.init()
        let matchers = Set(args.parsed.given.map(\.key).filter {
            ["fixed-strings", "extended-regexp", "basic-regexp"].contains($0)
        })
        if matchers.count > 1 { throw args.fail("conflicting matchers specified") }
        switch matchers.first {
        case "fixed-strings": mode = .fixed
        case "extended-regexp": mode = .regex(.extended)
        default: mode = .regex(.basic)
        }
        ignoreCase = args.has("ignore-case")
        invert = args.has("invert-match")
        lineRegexp = args.has("line-regexp")
        wordRegexp = args.has("word-regexp")
        maxCount = try args.optionalCount("max-count")
        try readOutputOptions(args)
        for text in try Self.patternTexts(args) {
            patterns += text.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        }
        try rewritePatterns()
    }

    /// The options that say what is printed: `-c -q -n -b -o -z`, and context, where `-A`
    /// and `-B` win over `-C` (and `-NUM`), as in GNU grep.
    private mutating func readOutputOptions(_ args: OptionReader) throws(SluiceError) {
        countsLines = args.has("count")
        isQuiet = args.has("quiet")
        numbersLines = args.has("line-number")
        showsByteOffsets = args.has("byte-offset")
        onlyMatching = args.has("only-matching")
        separator = args.has("null-data") ? 0 : 0x0A
        let context = try args.optionalCount("context")
        linesAfter = try args.optionalCount("after-context") ?? context
        linesBefore = try args.optionalCount("before-context") ?? context
        separatesGroups = !args.has("no-group-separator")
    }

    /// Notes how GNU grep would find `-o`'s parts, then rewrites the patterns as typed
    /// into what the matchers search for.
    private mutating func rewritePatterns() throws(SluiceError) {
        partSearch = PartSearch.gnu(mode, patterns, wordRegexp: wordRegexp)
        if case .fixedStrings(let texts) = partSearch, mode != .fixed {
            // Two or more regexes that are all plain text: GNU grep searches them as fixed
            // strings, and so does sluice (`a\.b` is `a.b`).
            mode = .fixed
            patterns = texts
        }
        if case .regex(let syntax) = mode { try readRegexes(syntax) }
        switch mode {
        case .regex(.extended): patterns = patterns.map(RegexText.normalizingExtended)
        case .regex(.basic): patterns = patterns.map(RegexText.normalizingBasic)
        case .fixed: break
        }
        if case .regex(let syntax) = mode, separator != 0x0A {
            patterns = patterns.map { RegexText.anchoringAtRecordEdges($0, syntax) }
        }
    }

    /// Checks regex patterns and rewrites them for GNU regex. Regexes that are plain text
    /// search as fixed strings (GNU grep does the same): `grep -w int` then never runs the
    /// regex engine; an escaped letter that means itself (`a\x`) is plain text too.
    private mutating func readRegexes(_ syntax: RegexSyntax) throws(SluiceError) {
        if patterns.allSatisfy({ RegexText.isLiteral($0, syntax) }) {
            mode = .fixed
            return
        }
        patterns = patterns.map { RegexText.collapsingStackedRepetitions($0, syntax) }
        try LineMatcher.checkSyntax(patterns, syntax, ignoreCase: ignoreCase)
        patterns = patterns.map(RegexText.droppingStrayEscapes)
        if patterns.allSatisfy({ RegexText.isLiteral($0, syntax) }) { mode = .fixed }
    }

    /// The texts of every `-e` and `-f`, in order, or else of the operand.
    private static func patternTexts(_ args: OptionReader) throws(SluiceError) -> [[UInt8]] {
        var texts: [[UInt8]] = []
        var sawPatternOption = false
        for given in args.parsed.given where given.key == "regexp" || given.key == "file" {
            sawPatternOption = true
            guard let value = given.value else { continue }
            if given.key == "regexp" {
                texts.append(value.rawBytes)
            } else {
                texts += try patternFile(value)
            }
        }
        if !sawPatternOption {
            guard let first = args.operands.first else { throw args.fail("no pattern given (usage: grep PATTERN)") }
            texts.append(first.rawBytes)
        } else if let extra = args.operands.first {
            throw args.fail("unexpected argument '\(extra)' (grep reads standard input; patterns come from -e)")
        }
        return texts
    }

    /// The most a pattern file may hold: 64 MiB, far past any real list of patterns.
    private static let maxPatternFileBytes = 64 << 20

    /// The lines of FILE as patterns (a final newline does not add an empty pattern).
    private static func patternFile(_ path: String) throws(SluiceError) -> [[UInt8]] {
        var data: [UInt8]?
        do throws(Errno) {
            let fd = try FileDescriptor.open(path.rawBytes, flags: O_RDONLY)
            defer { try? fd.close() }
            data = try fd.readToEnd(maxBytes: maxPatternFileBytes)
        } catch {
            throw .runtime("grep: \(path): \(error)")
        }
        guard var data else { throw .runtime("grep: \(path): pattern file larger than 64 MiB") }
        if data.isEmpty { return [] }
        if data.last == 0x0A { data.removeLast() }
        return [data]
    }
}
