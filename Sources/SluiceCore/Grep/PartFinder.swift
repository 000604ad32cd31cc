import CSys
import Glibc

/// Finds the parts of a selected line that `grep -o` prints, as GNU grep finds them.
///
/// GNU grep asks its matcher for the leftmost, then longest, match at or after a
/// position, prints it, and asks again from its end (from one byte on after an empty
/// match, which it does not print). Which matcher it asks matters under `-w`, and this
/// follows both to the letter (`PartSearch` says which):
/// - its regex matcher (EGexecute) takes a match that is not a whole word, tries shorter
///   matches at the same start (re_match on the text cut short, `$` not matching at the
///   cut), then the next start one byte on; under `-x -w` it takes a match that runs to
///   the end of the line and reports it with the line's separator;
/// - its fixed-string matcher (Fexecute) treats the position it was asked from as a
///   line start (no word byte before it), tries shorter strings at the same start, then
///   skips past the word bytes there; under `-x` it reports the whole line.
final class PartFinder {
    /// Where matches come from: each unit gives its leftmost-longest match by itself (the
    /// regexes as GNU grep compiles them: the patterns without back-references joined,
    /// then each with one alone; fixed strings as one set).
    private enum Units {
        case regexes([UnsafeMutablePointer<regex_t>])
        case fixed([FixedSearcher])
    }

    private let units: Units
    /// GNU grep's fixed-string matcher, not its regex matcher.
    private let isKwset: Bool
    private let lineRegexp: Bool
    private let wordRegexp: Bool
    /// Fixed strings are folded, and so is each line, into `folded`, with `-i`.
    private let foldsText: Bool
    private var folded = ByteBuffer(limit: Int.max - 1)
    private let compiled = CompiledRegexes()

    init(_ options: GrepOptions) throws(SluiceError) {
        lineRegexp = options.lineRegexp
        wordRegexp = options.wordRegexp
        var bare = GrepOptions()
        bare.ignoreCase = options.ignoreCase
        bare.separator = options.separator
        let fold: ([UInt8]) -> [UInt8] = { options.ignoreCase ? $0.map(asciiLower) : $0 }
        switch options.partSearch ?? PartSearch.gnu(options.mode, options.patterns, wordRegexp: options.wordRegexp) {
        case .fixedStrings(let strings):
            isKwset = true
            foldsText = options.ignoreCase
            units = .fixed(strings.map(fold).map(FixedSearcher.init))
        case .fixedAsRegex(let strings):
            isKwset = false
            foldsText = options.ignoreCase
            units = .fixed(strings.map(fold).map(FixedSearcher.init))
        case .regex(let patterns, let syntax):
            isKwset = false
            foldsText = false
            try compiled.compileAsGNUGrep(patterns, syntax, bare)
            units = .regexes(compiled.all)
        }
    }

    deinit { folded.release() }

    /// The next part of `line` (`count` bytes, without its separator, which follows it)
    /// at or after `from`, as a start and a length; the length may be 0 (an empty match,
    /// not printed) and, under `-x -w` with the regex matcher, may take in the separator.
    func next(in line: UnsafeRawPointer, count: Int, from: Int) -> (start: Int, length: Int)? {
        var text = line
        if foldsText {
            folded.removeAll()
            folded.append(UnsafeRawBufferPointer(start: line, count: count + 1))
            text = UnsafeRawPointer(folded.bytes.baseAddress!)
            foldInPlace(UnsafeMutableRawPointer(mutating: text), count)
        }
        return isKwset ? kwsetNext(text, count, from) : regexNext(text, count, from)
    }

    // MARK: The two matchers

    /// GNU grep's EGexecute with a start position.
    private func regexNext(_ text: UnsafeRawPointer, _ n: Int, _ ptr: Int) -> (start: Int, length: Int)? {
        var best = (start: n + 1, length: 0)
        func assess(_ start: Int, _ length: Int) {
            if start < best.start || (start == best.start && length > best.length) { best = (start, length) }
        }
        for unit in unitIndices {
            guard var (match, length) = first(unit, text, n, from: ptr), match <= best.start else { continue }
            if !wordRegexp {
                assess(match, length)
            } else if lineRegexp {
                if length == n - ptr { assess(ptr, n + 1 - ptr) }
            } else {
                while match <= best.start {
                    if !isWordAfter(text, n, match + length) && !isWordBefore(text, match, floor: 0) {
                        assess(match, length)
                        break
                    }
                    var shorter = 0
                    if length > 0 {
                        length -= 1
                        shorter = longest(unit, text, at: match, end: match + length - ptr) ?? -1
                    }
                    if shorter > 0 {
                        length = shorter
                        continue
                    }
                    if match == n { break }
                    guard let next = first(unit, text, n, from: match + 1) else { break }
                    (match, length) = next
                }
            }
        }
        return best.start <= n ? best : nil
    }

    /// GNU grep's Fexecute with a start position.
    private func kwsetNext(_ text: UnsafeRawPointer, _ n: Int, _ from: Int) -> (start: Int, length: Int)? {
        if lineRegexp {
            // Its strings are the patterns between two separators: only the whole line,
            // asked from its start.
            guard from == 0, longest(0, text, at: 0, end: n) == n else { return nil }
            return (0, n)
        }
        var lineStart = from
        var start = from
        while start <= n {
            guard let found = first(0, text, n, from: start) else { return nil }
            if !wordRegexp { return found }
            start = found.0
            var length = found.1
            if !isWordBefore(text, start, floor: lineStart) {
                while true {
                    if !isWordAfter(text, n, start + length) { return (start, length) }
                    guard length > 0, let shorter = longest(0, text, at: start, end: start + length - 1) else { break }
                    length = shorter
                }
            }
            while start < n && isWordByte(text.load(fromByteOffset: start, as: UInt8.self)) { start += 1 }
            lineStart = start
            start += 1
        }
        return nil
    }

    // MARK: What a unit finds

    private var unitIndices: Range<Int> {
        switch units {
        case .regexes(let all): return all.indices
        case .fixed: return 0..<1
        }
    }

    /// The leftmost match of `unit` starting in `[from, n]`, and its longest length.
    private func first(_ unit: Int, _ text: UnsafeRawPointer, _ n: Int, from: Int) -> (Int, Int)? {
        guard from <= n else { return nil }
        switch units {
        case .regexes(let all):
            let re = all[unit]
            re.pointee.__not_eol = 0
            let subject = text.assumingMemoryBound(to: CChar.self)
            let start = re_search(re, subject, regoff_t(n), regoff_t(from), regoff_t(n - from), nil)
            guard start >= 0 else { return nil }
            let length = re_match(re, subject, regoff_t(n), start, nil)
            return length >= 0 ? (Int(start), Int(length)) : nil
        case .fixed(let searchers):
            var best: (Int, Int)?
            for s in searchers {
                guard let at = s.find(in: text, from: from, end: n) else { continue }
                if best == nil || at < best!.0 || (at == best!.0 && s.needle.count > best!.1) {
                    best = (at, s.needle.count)
                }
            }
            return best
        }
    }

    /// The longest match of `unit` starting at `at` in the text cut at `end`, where `$`
    /// does not match (GNU regex's re_match with `not_eol`); nil when there is none.
    private func longest(_ unit: Int, _ text: UnsafeRawPointer, at: Int, end: Int) -> Int? {
        guard at <= end else { return nil }
        switch units {
        case .regexes(let all):
            let re = all[unit]
            re.pointee.__not_eol = 1
            let length = re_match(re, text.assumingMemoryBound(to: CChar.self), regoff_t(end), regoff_t(at), nil)
            return length >= 0 ? Int(length) : nil
        case .fixed(let searchers):
            var best: Int?
            for s in searchers where at + s.needle.count <= end {
                let matches = s.needle.isEmpty
                    || s.needle.withUnsafeBytes { memcmp(text + at, $0.baseAddress!, $0.count) == 0 }
                if matches && s.needle.count > (best ?? -1) { best = s.needle.count }
            }
            return best
        }
    }

    /// A word byte right after a match ending at `end` (the separator is none).
    private func isWordAfter(_ text: UnsafeRawPointer, _ n: Int, _ end: Int) -> Bool {
        end < n && isWordByte(text.load(fromByteOffset: end, as: UInt8.self))
    }

    /// A word byte right before `start`, which has none at `floor`.
    private func isWordBefore(_ text: UnsafeRawPointer, _ start: Int, floor: Int) -> Bool {
        start > floor && isWordByte(text.load(fromByteOffset: start - 1, as: UInt8.self))
    }
}
