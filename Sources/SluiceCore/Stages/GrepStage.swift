import Glibc

/// `grep`: passes the lines that match (or, with `-v`, those that do not), byte for byte
/// as `LC_ALL=C grep -a` prints them — a last line without a newline gets one. Whether
/// anything matched does not change the exit status: sluice transforms, it does not test.
/// A `LineStage`: the matcher searches each run of whole lines at once.
public struct GrepStage: LineStage {
    private let matcher: LineMatcher
    private let invert: Bool
    /// Selected lines still allowed by `-m`; nil without `-m`.
    private var remaining: Int?
    /// The byte that ends a line: "\n", or NUL with `-z`.
    public let separator: UInt8

    /// grep prints a last line without "\n" with one.
    public static var completesLastLine: Bool { true }

    /// `usesLiterals: false` is the slow path, for fuzzing the fast one against it.
    public init(_ options: GrepOptions, usesLiterals: Bool = true) throws(SluiceError) {
        matcher = try LineMatcher(options, usesLiterals: usesLiterals)
        invert = options.invert
        remaining = options.maxCount
        separator = options.separator
    }

    public mutating func begin() -> Flow {
        remaining == 0 ? .stop : .more
    }

    /// Nothing is held: the last line came to `lines`, with its newline.
    public mutating func finish(lastLine: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {}

    /// Writes the selected lines of `lines` (whole lines, each ending in "\n"); adjacent
    /// selected lines go out in one write. Stops at `-m`.
    public mutating func lines(_ lines: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> LineFlow {
        var position = 0
        var run = 0..<0
        while position < lines.count {
            let match = matcher.nextMatch(in: lines, from: position)
            let selected = invert ? position..<(match?.lowerBound ?? lines.count) : match ?? position..<position
            if !selected.isEmpty, try take(selected, of: lines, run: &run, into: &out) {
                try emit(run, of: lines, into: &out)
                return .stop
            }
            guard let match else { break }
            position = match.upperBound
        }
        try emit(run, of: lines, into: &out)
        return .more
    }

    /// Adds `selected` to the pending `run`, writing the run first when they are not
    /// adjacent, and counts it off `-m`; true when `-m` is reached (the run then ends at
    /// the last line allowed).
    private mutating func take(_ selected: Range<Int>, of lines: UnsafeRawBufferPointer,
                               run: inout Range<Int>, into out: inout Emitter) throws(StageError) -> Bool {
        var selected = selected
        if let left = remaining {
            let (count, end) = invert ? countLines(lines, selected, limit: left) : (1, selected.upperBound)
            remaining = left - count
            selected = selected.lowerBound..<end
        }
        if selected.lowerBound == run.upperBound {
            run = run.lowerBound..<selected.upperBound
        } else {
            try emit(run, of: lines, into: &out)
            run = selected
        }
        return remaining == 0
    }

    private func emit(_ range: Range<Int>, of lines: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
        if !range.isEmpty { try out.write(UnsafeRawBufferPointer(rebasing: lines[range])) }
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
        synopsis: "grep [-F|-E|-G] [-ivxw] [-m NUM] [-e PATTERN]... [-f FILE] [PATTERN]",
        summary: "pass the lines that match (C locale, as grep -a); the exit status ignores matching",
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
        ],
        operands: 0...1
    ) { args, context throws(SluiceError) in
        StagePlan(LineStageAdapter(try GrepStage(GrepStage.options(from: args)), maxLineBytes: context.maxLineBytes),
                  heldBytes: 2 * context.maxLineBytes + context.chunkBytes)
    }

    /// Reads grep's options as GNU grep does: the matchers conflict, patterns come from
    /// every `-e` and `-f`, or else from the operand, and split at newlines.
    static func options(from args: OptionReader) throws(SluiceError) -> GrepOptions {
        var o = GrepOptions()
        let matchers = Set(args.parsed.given.map(\.key).filter {
            ["fixed-strings", "extended-regexp", "basic-regexp"].contains($0)
        })
        if matchers.count > 1 { throw args.fail("conflicting matchers specified") }
        switch matchers.first {
        case "fixed-strings": o.mode = .fixed
        case "extended-regexp": o.mode = .regex(.extended)
        default: o.mode = .regex(.basic)
        }
        o.ignoreCase = args.has("ignore-case")
        o.invert = args.has("invert-match")
        o.lineRegexp = args.has("line-regexp")
        o.wordRegexp = args.has("word-regexp")
        if let m = args.last("max-count"), let text = m.value {
            o.maxCount = try args.parseCount(text, for: m.spelling)
        }
        for text in try patternTexts(args) {
            o.patterns += text.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        }
        if case .regex(let syntax) = o.mode { try readRegexes(&o, syntax) }
        switch o.mode {
        case .regex(.extended): o.patterns = o.patterns.map(RegexText.normalizingExtended)
        case .regex(.basic): o.patterns = o.patterns.map(RegexText.normalizingBasic)
        case .fixed: break
        }
        return o
    }

    /// Checks regex patterns and rewrites them for GNU regex. Regexes that are plain text
    /// search as fixed strings (GNU grep does the same): `grep -w int` then never runs the
    /// regex engine; an escaped letter that means itself (`a\x`) is plain text too.
    private static func readRegexes(_ o: inout GrepOptions, _ syntax: RegexSyntax) throws(SluiceError) {
        if o.patterns.allSatisfy({ RegexText.isLiteral($0, syntax) }) {
            o.mode = .fixed
            return
        }
        o.patterns = o.patterns.map { RegexText.collapsingStackedRepetitions($0, syntax) }
        try LineMatcher.checkSyntax(o.patterns, syntax, ignoreCase: o.ignoreCase)
        o.patterns = o.patterns.map(RegexText.droppingStrayEscapes)
        if o.patterns.allSatisfy({ RegexText.isLiteral($0, syntax) }) { o.mode = .fixed }
    }

    /// The texts of every `-e` and `-f`, in order, or else of the operand.
    private static func patternTexts(_ args: OptionReader) throws(SluiceError) -> [[UInt8]] {
        var texts: [[UInt8]] = []
        var sawPatternOption = false
        for given in args.parsed.given where given.key == "regexp" || given.key == "file" {
            sawPatternOption = true
            guard let value = given.value else { continue }
            if given.key == "regexp" {
                texts.append(Array(value.utf8))
            } else {
                texts += try patternFile(value, args)
            }
        }
        if !sawPatternOption {
            guard let first = args.operands.first else { throw args.fail("no pattern given (usage: grep PATTERN)") }
            texts.append(Array(first.utf8))
        } else if let extra = args.operands.first {
            throw args.fail("unexpected argument '\(extra)' (grep reads standard input; patterns come from -e)")
        }
        return texts
    }

    /// The lines of FILE as patterns (a final newline does not add an empty pattern).
    private static func patternFile(_ path: String, _ args: OptionReader) throws(SluiceError) -> [[UInt8]] {
        let fd: FileDescriptor
        do throws(Errno) { fd = try FileDescriptor.open(path, flags: O_RDONLY) } catch {
            throw .runtime("grep: \(path): \(error)")
        }
        defer { try? fd.close() }
        var data: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n: Int
            do throws(Errno) { n = try fd.read(into: buffer) } catch { throw .runtime("grep: \(path): \(error)") }
            if n == 0 { break }
            data += UnsafeRawBufferPointer(rebasing: buffer[..<n])
            if data.count > 64 << 20 { throw .runtime("grep: \(path): pattern file larger than 64 MiB") }
        }
        if data.isEmpty { return [] }
        if data.last == 0x0A { data.removeLast() }
        return [data]
    }
}
