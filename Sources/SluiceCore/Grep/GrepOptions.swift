/// How grep reads its patterns.
public enum GrepMode: Sendable, Equatable {
    case fixed
    case regex(RegexSyntax)
}

/// What `grep` selects and what it prints about it, as its options say.
public struct GrepOptions: Sendable {
    // MARK: Selection

    public var mode = GrepMode.regex(.basic)
    /// Patterns, one per line of every `-e`/operand/`-f` text (grep splits on newlines).
    public var patterns: [[UInt8]] = []
    public var ignoreCase = false
    public var invert = false
    /// `-x`: the whole line must match (wins over `-w`, as in GNU grep).
    public var lineRegexp = false
    /// `-w`: the match must be a whole word.
    public var wordRegexp = false
    /// `-m`: stop after this many selected lines.
    public var maxCount: Int?
    /// The byte that ends a line: "\n", or NUL with `-z`, on input and output.
    public var separator: UInt8 = 0x0A

    // MARK: Output

    /// `-c`: print only how many lines were selected.
    public var countsLines = false
    /// `-q`: print nothing and stop at the first selected line; the stage's verdict says
    /// whether there was one.
    public var isQuiet = false
    /// `-n`: each line printed starts with its line number.
    public var numbersLines = false
    /// `-b`: each line (with `-o`, each part) printed starts with its byte offset.
    public var showsByteOffsets = false
    /// `-o`: print the matching parts of selected lines, each on a line of its own.
    public var onlyMatching = false
    /// `-A`: lines of context after each selected line; nil when not asked for.
    public var linesAfter: Int?
    /// `-B`: lines of context before each selected line; nil when not asked for.
    public var linesBefore: Int?
    /// A `--` line between groups of context that do not touch (unless
    /// `--no-group-separator`); only when context was asked for, even 0 lines of it.
    public var separatesGroups = true
    /// How `-o` finds the parts it prints, as GNU grep would; nil: as `mode` and `patterns`
    /// suggest (`PartSearch.default`).
    public var partSearch: PartSearch?

    public init() {}

    /// `-c`, `-q`, `-n`, `-b`, `-o` or context: the stage reports more than the lines.
    var reportsMoreThanLines: Bool {
        countsLines || isQuiet || numbersLines || showsByteOffsets || onlyMatching
            || linesAfter != nil || linesBefore != nil
    }

    /// GNU grep exits at once, reading nothing and printing nothing (not even `-c`'s 0),
    /// when it is easy to see that no line can be selected: `-m 0`, no pattern at all
    /// (`-f /dev/null`), or `-v` with only the empty pattern as typed (`partSearch` keeps
    /// them: `-E '?'` is not empty, though it matches as if it were) and neither `-x` nor
    /// `-w`.
    var cannotSelect: Bool {
        if maxCount == 0 { return true }
        let typed = partSearch?.patterns ?? patterns
        if typed.isEmpty { return !invert }
        return invert && !lineRegexp && !wordRegexp && typed.allSatisfy(\.isEmpty)
    }
}

/// How GNU grep finds the parts `-o` prints. It finds them with one of two matchers,
/// which differ under `-w` (and `-x -w`): its fixed-string matcher (kwset) for `-F`, and
/// for two or more regexes that are all plain text; its regex matcher otherwise, on the
/// patterns as typed (GNU regex, not the DFA that selects lines), and for `-F -w` with
/// one pattern, which GNU grep runs as a BRE.
public enum PartSearch: Sendable, Equatable {
    /// The fixed-string matcher on these strings.
    case fixedStrings([[UInt8]])
    /// The regex matcher on these fixed strings.
    case fixedAsRegex([[UInt8]])
    /// The regex matcher on these patterns.
    case regex([[UInt8]], RegexSyntax)

    /// The patterns searched for.
    var patterns: [[UInt8]] {
        switch self {
        case .fixedStrings(let p), .fixedAsRegex(let p), .regex(let p, _): return p
        }
    }

    /// The search GNU grep would make for `mode` and `patterns` as they are (before any
    /// rewriting), distinct patterns counted as GNU grep counts them.
    static func gnu(_ mode: GrepMode, _ patterns: [[UInt8]], wordRegexp: Bool) -> PartSearch {
        // GNU grep drops repeated patterns before it counts them. (Comparing with the
        // first, not a Set: a Set of arrays costs 160,000 instructions of type metadata
        // at startup.)
        let isOne = !patterns.isEmpty && patterns.allSatisfy { $0 == patterns[0] }
        switch mode {
        case .fixed:
            return isOne && wordRegexp ? .fixedAsRegex(patterns) : .fixedStrings(patterns)
        case .regex(let syntax):
            let texts = patterns.compactMap { RegexText.fixedText($0, syntax) }
            if patterns.count > 1 && !isOne && texts.count == patterns.count { return .fixedStrings(texts) }
            return .regex(patterns.map { RegexText.collapsingStackedRepetitions($0, syntax) }, syntax)
        }
    }
}
