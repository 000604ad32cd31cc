/// `grep`: passes the lines that match (or, with `-v`, those that do not), byte for byte
/// as `LC_ALL=C grep -a` prints them — a last line without a newline gets one — or what
/// its options print instead: counts, context, numbers, offsets, matching parts. Whether
/// anything matched does not change the exit status, except with `-q`, whose verdict
/// does: sluice transforms, and only tests when asked to.
/// A `LineStage`: the matcher searches each run of whole lines at once.
public struct GrepStage: LineStage {
    private let matcher: LineMatcher
    private let invert: Bool
    /// Selected lines still allowed by `-m`; nil without `-m`.
    private var remaining: Int?
    /// The byte that ends a line: "\n", or NUL with `-z`.
    public let separator: UInt8
    /// Input bytes consumed: every line handed over, or up to the end of the last line
    /// `-m` selected (`InputConsumption`), so stdin can be left there. Nil when nobody asked.
    private let consumed: ConsumedBytes?
    /// In this run, where the last selected line ends, once `-m` is used up (for `consumed`).
    private var lastSelectedEnd = 0
    /// `-c`, `-q` or a printer: the selected lines are counted and printed, not passed plain.
    private let reports: Bool
    /// `-c` (and not `-q`, which wins).
    private let countsLines: Bool
    /// `-q`.
    private let isQuiet: Bool
    /// `-c` or `-q`: `selectedCount` is kept even without `-m`.
    private let countsSelections: Bool
    /// Nothing can be selected: the stage reads nothing (`GrepOptions.cannotSelect`).
    private let cannotSelect: Bool
    /// Prints context, numbers, offsets or parts; nil for the plain lines, `-c` and `-q`.
    private(set) var printer: GrepPrinter?
    /// Lines selected so far, for `-c` and `-q` (and counted with `-m`).
    private var selectedCount = 0
    /// `-c`'s count went out.
    private var hasReported = false

    /// grep prints a last line without its separator with one.
    public static var completesLastLine: Bool { true }

    /// `usesLiterals: false` is the slow path, for fuzzing the fast one against it.
    public init(_ options: GrepOptions, usesLiterals: Bool = true,
                maxLineBytes: Int = GlobalOptions.defaultMaxLineBytes, consumed: ConsumedBytes? = nil) throws(SluiceError) {
        try self.init(options, matcher: try LineMatcher(options, usesLiterals: usesLiterals),
                      maxLineBytes: maxLineBytes, consumed: consumed)
    }

    /// With a matcher compiled from `options` already, as the fuzzer shares one between
    /// runs (compiling is most of what an input costs it).
    init(_ options: GrepOptions, matcher: LineMatcher,
         maxLineBytes: Int = GlobalOptions.defaultMaxLineBytes, consumed: ConsumedBytes? = nil) throws(SluiceError) {
        self.consumed = consumed
        self.matcher = matcher
        invert = options.invert
        remaining = options.maxCount
        separator = options.separator
        reports = options.reportsMoreThanLines
        isQuiet = options.isQuiet
        countsLines = options.countsLines && !options.isQuiet
        countsSelections = options.countsLines || options.isQuiet
        cannotSelect = options.cannotSelect
        if reports && !isQuiet && !countsLines { printer = try GrepPrinter(options, maxLineBytes: maxLineBytes) }
    }

    /// The most the stage holds: the partial line, a folded copy of a run for `-i`, what
    /// the printer keeps, and the DFA's cache when the matcher may run one.
    static func heldBytes(_ options: GrepOptions, _ context: StageContext) -> Int {
        let printed = options.isQuiet || options.countsLines ? 0
            : GrepPrinter.memoryBound(options, maxLineBytes: context.maxLineBytes)
        let automaton = LineMatcher.mayUseAutomaton(options) ? LazyDFA.defaultBudgetBytes : 0
        return Saturating.sum(2 * context.maxLineBytes, context.chunkBytes, printed, automaton)
    }

    public mutating func begin() -> Flow {
        remaining == 0 || cannotSelect ? .stop : .more
    }

    /// Nothing is held: the last line came to `lines`, with its separator. `-c` prints its
    /// count (unless the stage stopped, when it did then).
    public mutating func finish(lastLine: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
        try report(into: &out)
    }

    public mutating func close() { printer?.release() }

    /// With `-q`, whether a line was selected.
    public var verdict: Verdict? {
        isQuiet ? (selectedCount > 0 ? .selected : .noneSelected) : nil
    }

    /// Selects the lines of `lines` (whole lines, each ending in the separator), counting
    /// them off `-m`, and passes them: plain, adjacent selected lines go out in one write;
    /// with `-c`, `-q` or a printer they are counted and handed to the printer, which adds
    /// what goes around them. Stops at `-m` once any trailing context is out, and with
    /// `-q` at the first selected line.
    public mutating func lines(_ lines: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> LineFlow {
        var position = 0
        var run = 0..<0
        lastSelectedEnd = 0
        var isDone = isSatisfied
        while !isDone && position < lines.count {
            let match = matcher.nextMatch(in: lines, from: position)
            let selected = invert ? position..<(match?.lowerBound ?? lines.count) : match ?? position..<position
            if !selected.isEmpty { isDone = try select(selected, of: lines, run: &run, into: &out) }
            guard let match else { break }
            position = match.upperBound
        }
        try emit(run, of: lines, into: &out)
        try printer?.endRun(lines, into: &out)
        // As GNU grep -m: stdin is left after the last selected line, whatever context followed.
        consumed?.count += remaining == 0 ? lastSelectedEnd : lines.count
        guard isSatisfied && (printer?.pending ?? 0) == 0 else { return .more }
        try report(into: &out)
        return .stop
    }

    /// `-m` is used up, or `-q` has its verdict: no more lines are selected.
    private var isSatisfied: Bool { remaining == 0 || (isQuiet && selectedCount > 0) }

    /// Counts `selected` (a line; with `-v`, a run of lines, of which `-m` may allow
    /// fewer) and passes it: plain, added to the pending `run`, which is written first when
    /// they are not adjacent; else to the printer, if any. True once `isSatisfied`, as
    /// it is after the first selected line with `-q`.
    private mutating func select(_ selected: Range<Int>, of lines: UnsafeRawBufferPointer,
                                 run: inout Range<Int>, into out: inout Emitter) throws(StageError) -> Bool {
        var range = selected
        var isDone = false
        if let left = remaining {
            let (count, end) = invert ? countLines(lines, range, limit: left) : (1, range.upperBound)
            remaining = left - count
            selectedCount += count
            range = range.lowerBound..<end
            lastSelectedEnd = end
            isDone = remaining == 0 || isQuiet
        } else if reports && countsSelections {
            selectedCount += invert ? count(of: separator, in: UnsafeRawBufferPointer(rebasing: lines[range])) : 1
            isDone = isQuiet
        }
        if reports {
            try printer?.print(lines, selected: range, into: &out)
        } else if range.lowerBound == run.upperBound {
            run = run.lowerBound..<range.upperBound
        } else {
            try emit(run, of: lines, into: &out)
            run = range
        }
        return isDone
    }

    private func emit(_ range: Range<Int>, of lines: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
        if !range.isEmpty { try out.write(UnsafeRawBufferPointer(rebasing: lines[range])) }
    }

    /// `-c`'s count, once, with "\n" whatever the separator, as GNU grep prints it.
    private mutating func report(into out: inout Emitter) throws(StageError) {
        guard countsLines && !hasReported else { return }
        hasReported = true
        try out.write(Array("\(selectedCount)\n".utf8))
    }

    /// Lines in `range`, at most `limit`, and where the last of them ends.
    private func countLines(_ lines: UnsafeRawBufferPointer, _ range: Range<Int>, limit: Int) -> (Int, Int) {
        var seen = 0
        var at = range.lowerBound
        while at < range.upperBound && seen < limit {
            at = lineEnd(lines.baseAddress!, range.upperBound, at, separator: separator)
            seen += 1
        }
        return (seen, at)
    }

    public static let descriptor = StageDescriptor(
        name: "grep",
        synopsis: "grep [-EFGbcinoqvwxz] [-m NUM] [-ABC NUM] [-e PATTERN]... [-f FILE] [PATTERN]",
        summary: "pass the lines that match (C locale, as grep -a); the exit status ignores matching, but for -q",
        options: [
            OptionSpec("F", "fixed-strings", help: "PATTERN is a set of fixed strings"),
            OptionSpec("E", "extended-regexp", help: "PATTERN is an extended regular expression"),
            OptionSpec("G", "basic-regexp", help: "PATTERN is a basic regular expression (the default)"),
            OptionSpec("e", "regexp", .required("PATTERN"), help: "use PATTERN; may be given more than once"),
            OptionSpec("f", "file", .required("FILE"), help: "take patterns from FILE, one per line"),
            OptionSpec("i", "ignore-case", help: "ignore ASCII case distinctions (-y too)"),
            OptionSpec("y", nil, key: "ignore-case", help: "the same as -i"),
            OptionSpec("v", "invert-match", help: "pass the lines that do not match"),
            OptionSpec("x", "line-regexp", help: "match whole lines only"),
            OptionSpec("w", "word-regexp", help: "match whole words only"),
            OptionSpec("m", "max-count", .required("NUM"), help: "stop after NUM selected lines; upstream stops reading"),
            OptionSpec("c", "count", help: "print only the count of selected lines"),
            OptionSpec("q", "quiet", help: "print nothing, stop at the first selected line; exit 0 if one was, else 1"),
            OptionSpec(nil, "silent", key: "quiet", help: "the same as -q"),
            OptionSpec("n", "line-number", help: "start each line with its line number and ':' ('-' for context)"),
            OptionSpec("b", "byte-offset", help: "start each line (with -o, each part) with its byte offset"),
            OptionSpec("o", "only-matching", help: "print only the matching parts, each on a line of its own"),
            OptionSpec("A", "after-context", .required("NUM"), help: "print NUM lines after each selected line"),
            OptionSpec("B", "before-context", .required("NUM"), help: "print NUM lines before each selected line"),
            OptionSpec("C", "context", .required("NUM"), help: "NUM lines before and after (-NUM too)"),
            OptionSpec(nil, "no-group-separator", help: "no '--' line between groups of context"),
            OptionSpec("z", "null-data", help: "lines end in NUL, not newline, on input and output"),
            OptionSpec(nil, "line-buffered", help: "accepted: sluice passes lines on as they come"),
        ],
        digitsKey: "context",
        operands: 0...1,
        // With -e or -f the patterns are given: an operand is a file meant for stdin.
        operandLimit: { $0.has("regexp") || $0.has("file") ? 0 : 1 }
    ) { args, context throws(SluiceError) in
        let options = try GrepOptions(args)
        // As GNU grep -m: stdin is left just after the last selected line.
        let consumed = options.maxCount == nil ? nil : ConsumedBytes()
        var plan = StagePlan(LineStageAdapter(try GrepStage(options, maxLineBytes: context.maxLineBytes, consumed: consumed),
                                              maxLineBytes: context.maxLineBytes),
                             heldBytes: heldBytes(options, context))
        plan.inputConsumption = consumed.map { .counted($0) }
        return plan
    }
}
