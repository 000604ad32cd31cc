import Glibc

/// Prints the lines grep selects as GNU grep prints them (its prtext, prline and
/// prpending), for the options that add to the lines: context (`-A`, `-B`, `-C`, and the
/// `--` between groups that do not touch), line numbers (`-n`), byte offsets (`-b`),
/// only the matching parts (`-o`).
///
/// The stage hands it runs of whole lines in stream order, and for each run the selected
/// lines in order (`print`), then the end of the run (`endRun`). Positions are offsets in
/// the run; `runStart` turns them into stream offsets, which number bytes and lines from
/// the start of the stage's input. What a run does not show is carried over: the trailing
/// context still owed (`pending`, whose lines start where the last printing stopped),
/// the lines before the run that may yet be leading context (`history`, at most `-B`
/// lines, all after the last printed one), and the lines counted so far.
///
/// With `-o` a context line prints nothing (and a selected one prints its parts), but
/// counts as printed, so the `--` separators fall where GNU grep puts them; with `-o -v`
/// the context lines, which are the matching ones, print their parts.
struct GrepPrinter {
    private let separator: UInt8
    private let before: Int
    private let after: Int
    private let separatesGroups: Bool
    private let numbersLines: Bool
    private let showsOffsets: Bool
    private let invert: Bool
    private let parts: PartFinder?
    /// Up to `before` lines, the last before the current run and after the last printed.
    private(set) var history: RecentLines
    /// Stream offset of the current run's first byte.
    private var runStart = 0
    /// Lines before the current run; counted with `-n` only.
    private var linesBeforeRun = 0
    /// With `-n`: the lines before offset `countedTo` of the run number `linesBeforeCounted`
    /// (counting only moves forward, and skips the lines it numbered).
    private var countedTo = 0
    private var linesBeforeCounted = 0
    /// Stream offset just past the last line printed; nil before any.
    private var lastOut: Int?
    /// Lines of trailing context still to print.
    private(set) var pending = 0
    /// Something was printed (GNU grep's `used`): a later group may need a separator.
    private var hasPrinted = false
    /// Room for a line number, a byte offset and their marks, or one separator byte.
    private let room = Room()
    private var scratch: UnsafeMutableRawPointer { room.base }

    init(_ options: GrepOptions, maxLineBytes: Int) throws(SluiceError) {
        separator = options.separator
        before = options.linesBefore ?? 0
        after = options.linesAfter ?? 0
        separatesGroups = options.separatesGroups && (options.linesBefore != nil || options.linesAfter != nil)
        numbersLines = options.numbersLines
        showsOffsets = options.showsByteOffsets
        invert = options.invert
        parts = options.onlyMatching ? try PartFinder(options) : nil
        history = RecentLines(keeping: before, separator: options.separator, maxLineBytes: maxLineBytes)
    }

    /// What it holds beyond the stage's own lines: `-B`'s lines, and a folded copy of one
    /// line for `-o -i` on fixed strings (counted whenever `-o -i`).
    static func memoryBound(_ options: GrepOptions, maxLineBytes: Int) -> Int {
        let history = RecentLines.memoryBound(keeping: options.linesBefore ?? 0, maxLineBytes: maxLineBytes)
        return Saturating.sum(history, options.onlyMatching && options.ignoreCase ? maxLineBytes + 1 : 0)
    }

    mutating func release() { history.release() }

    /// Prints `selected`, whole lines of `run` that are all selected, after what comes
    /// first: the trailing context still owed, `--` when this group does not touch the
    /// last one, and up to `before` lines of leading context.
    mutating func print(_ run: UnsafeRawBufferPointer, selected: Range<Int>, into out: inout Emitter) throws(StageError) {
        if pending > 0 { try printPending(run, upTo: selected.lowerBound, into: &out) }
        let base = run.baseAddress!
        let isLastOutInRun = (lastOut ?? -1) >= runStart
        let floor = isLastOutInRun ? lastOut! - runStart : 0
        var first = selected.lowerBound
        var leading = 0
        while leading < before && first > floor {
            first = lineStart(base, first - 1, floor: floor, separator: separator)
            leading += 1
        }
        let fromHistory = first == 0 && !isLastOutInRun ? min(before - leading, history.count) : 0
        let historyStart = history.startOfLast(fromHistory)
        let groupStart = runStart - (fromHistory > 0 ? history.bytes.count - historyStart : -first)
        if separatesGroups && hasPrinted && groupStart != lastOut {
            let line = StaticString("--\n")
            try out.write(UnsafeRawBufferPointer(start: line.utf8Start, count: line.utf8CodeUnitCount))
        }
        if fromHistory > 0 { try printHistory(from: historyStart, lines: fromHistory, into: &out) }
        try printLines(run, first..<selected.lowerBound, isSelected: false, into: &out)
        try printLines(run, selected, isSelected: true, into: &out)
        lastOut = runStart + selected.upperBound
        pending = after
        hasPrinted = true
    }

    /// Ends a run: prints the trailing context owed up to its end, keeps its last lines
    /// after the last printed for `-B`, counts its lines for `-n`.
    mutating func endRun(_ run: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) {
        if pending > 0 { try printPending(run, upTo: run.count, into: &out) }
        if before > 0 {
            if let lastOut, lastOut >= runStart {
                history.removeAll()
                history.remember(UnsafeRawBufferPointer(rebasing: run[(lastOut - runStart)...]))
            } else {
                history.remember(run)
            }
        }
        if numbersLines {
            linesBeforeRun = linesBeforeCounted + count(of: separator, in: UnsafeRawBufferPointer(rebasing: run[countedTo...]))
            linesBeforeCounted = linesBeforeRun
            countedTo = 0
        }
        runStart += run.count
    }

    /// Prints trailing context from the last printed line on, up to offset `limit` of the
    /// run. The last printed line ends in this run or where it starts, whenever any is
    /// owed: each run ends with this up to its end.
    private mutating func printPending(_ run: UnsafeRawBufferPointer, upTo limit: Int,
                                       into out: inout Emitter) throws(StageError) {
        var at = lastOut! - runStart
        while pending > 0 && at < limit {
            let end = lineEnd(run.baseAddress!, run.count, at, separator: separator)
            try printLine(UnsafeRawBufferPointer(rebasing: run[at..<end]), offset: runStart + at,
                          number: lineNumber(run, at..<end), isSelected: false, into: &out)
            at = end
            pending -= 1
        }
        lastOut = runStart + at
    }

    private mutating func printLines(_ run: UnsafeRawBufferPointer, _ range: Range<Int>, isSelected: Bool,
                                     into out: inout Emitter) throws(StageError) {
        var at = range.lowerBound
        while at < range.upperBound {
            let end = lineEnd(run.baseAddress!, range.upperBound, at, separator: separator)
            try printLine(UnsafeRawBufferPointer(rebasing: run[at..<end]), offset: runStart + at,
                          number: lineNumber(run, at..<end), isSelected: isSelected, into: &out)
            at = end
        }
    }

    /// Prints the last `lines` lines of `history` (from byte `start` of it) as context.
    private mutating func printHistory(from start: Int, lines: Int, into out: inout Emitter) throws(StageError) {
        let held = history.bytes
        var at = start
        for i in 0..<lines {
            let end = lineEnd(held.baseAddress!, held.count, at, separator: separator)
            try printLine(UnsafeRawBufferPointer(rebasing: held[at..<end]), offset: runStart - held.count + at,
                          number: linesBeforeRun - lines + i + 1, isSelected: false, into: &out)
            at = end
        }
    }

    /// The number of the line at `line` in the run, with `-n` (else 0).
    private mutating func lineNumber(_ run: UnsafeRawBufferPointer, _ line: Range<Int>) -> Int {
        guard numbersLines else { return 0 }
        if line.lowerBound > countedTo {
            let skipped = UnsafeRawBufferPointer(rebasing: run[countedTo..<line.lowerBound])
            linesBeforeCounted += count(of: separator, in: skipped)
        }
        countedTo = line.upperBound
        linesBeforeCounted += 1
        return linesBeforeCounted
    }

    /// One line (ending in its separator), selected (`:` after its number and offset) or
    /// context (`-`); with `-o`, its parts if it is a matching one.
    private func printLine(_ line: UnsafeRawBufferPointer, offset: Int, number: Int, isSelected: Bool,
                           into out: inout Emitter) throws(StageError) {
        let mark = isSelected ? UInt8(ascii: ":") : UInt8(ascii: "-")
        guard let parts else {
            try writePrefix(number: number, offset: offset, mark: mark, into: &out)
            try out.write(line)
            return
        }
        guard isSelected != invert else { return }
        let n = line.count - 1
        var from = 0
        while from <= n, let part = parts.next(in: line.baseAddress!, count: n, from: from) {
            if part.length == 0 {
                from = part.start + 1
                continue
            }
            try writePrefix(number: number, offset: offset + part.start, mark: mark, into: &out)
            try out.write(UnsafeRawBufferPointer(rebasing: line[part.start..<(part.start + part.length)]))
            scratch.storeBytes(of: separator, as: UInt8.self)
            try out.write(UnsafeRawBufferPointer(start: scratch, count: 1))
            from = part.start + part.length
        }
    }

    /// `NUMBER:OFFSET:` as `-n` and `-b` ask, with `mark` for `:`.
    private func writePrefix(number: Int, offset: Int, mark: UInt8, into out: inout Emitter) throws(StageError) {
        guard numbersLines || showsOffsets else { return }
        var length = 0
        if numbersLines { length = appendDecimal(number, mark, at: length) }
        if showsOffsets { length = appendDecimal(offset, mark, at: length) }
        try out.write(UnsafeRawBufferPointer(start: scratch, count: length))
    }

    /// Writes `value` in decimal and `mark` into `scratch` at `at`; returns the end.
    private func appendDecimal(_ value: Int, _ mark: UInt8, at: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        var v = value
        for i in stride(from: at + digits - 1, through: at, by: -1) {
            scratch.storeBytes(of: UInt8(ascii: "0") + UInt8(v % 10), toByteOffset: i, as: UInt8.self)
            v /= 10
        }
        scratch.storeBytes(of: mark, toByteOffset: at + digits, as: UInt8.self)
        return at + digits + 1
    }
}

/// 64 bytes of scratch, in a class so that they are freed however the printer ends (its
/// initializer may throw after they exist).
private final class Room {
    let base = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
    deinit { base.deallocate() }
}
