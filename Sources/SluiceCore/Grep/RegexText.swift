/// The two POSIX regex dialects grep offers.
public enum RegexSyntax: Sendable {
    /// BRE (`grep -G`), with GNU's `\+ \? \|`.
    case basic
    /// ERE (`grep -E`).
    case extended
}

/// Reading regex text without compiling it: the literal every match must contain (the
/// prefilter), the back-reference renumbering that wrapping a pattern needs, and (in
/// RegexText+Normalizing.swift) the rewrites that make GNU regex read a pattern as GNU
/// grep does.
enum RegexText {
    /// The longest byte string that every match of `pattern` contains, or nil when there
    /// is none or the pattern uses anything this reader is not sure of. Conservative by
    /// design: a literal returned here is certainly required, so lines without it can be
    /// skipped without running the regex.
    static func requiredLiteral(_ pattern: [UInt8], _ syntax: RegexSyntax) -> [UInt8]? {
        var reader = LiteralReader(p: pattern, syntax: syntax)
        guard reader.read() else { return nil }
        let best = reader.runs.max { $0.count < $1.count } ?? []
        return best.isEmpty ? nil : best
    }

    /// True when `pattern` has no byte that is special in `syntax`, so it matches exactly
    /// its own text.
    static func isLiteral(_ pattern: [UInt8], _ syntax: RegexSyntax) -> Bool {
        let special = Array((syntax == .basic ? "\\.[*^$" : "\\.[*^$+?{}|()").utf8)
        return !pattern.contains { special.contains($0) }
    }

    /// The fixed string `pattern` stands for, when GNU grep would search it as one (its
    /// `try_fgrep_pattern`, tried when there are two or more patterns): no byte special
    /// in `syntax`, and a backslash only before a byte that it leaves ordinary, which is
    /// kept without it; nil otherwise.
    static func fixedText(_ pattern: [UInt8], _ syntax: RegexSyntax) -> [UInt8]? {
        let isBasic = syntax == .basic
        var out: [UInt8] = []
        var i = 0
        while i < pattern.count {
            var c = pattern[i]
            if Array("$*.[^".utf8).contains(c) { return nil }
            if !isBasic && Array("(+?{|".utf8).contains(c) { return nil }
            if c == UInt8(ascii: "\\") {
                // A trailing backslash is GNU grep 3.8's error, not a fixed string.
                guard i + 1 < pattern.count else { return nil }
                c = pattern[i + 1]
                if Array("BSW'<bsw`>123456789".utf8).contains(c) { return nil }
                if isBasic && Array("(+?{|)".utf8).contains(c) { return nil }
                i += 1
            }
            out.append(c)
            i += 1
        }
        return out
    }

    /// `pattern` with the backslash dropped from every escaped letter that is not one of
    /// GNU's escapes (`\w \W \s \S \b \B`): `\x` is the letter x to GNU grep, and to GNU
    /// regex too, except under RE_ICASE, where glibc folds the text and the pattern to
    /// upper case but leaves an escaped letter as typed, so `grep -i 'a\x'` matched
    /// nothing. Bracket expressions, where a backslash is an ordinary byte, are left alone.
    static func droppingStrayEscapes(_ pattern: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(pattern.count)
        var i = 0
        while i < pattern.count {
            let c = pattern[i]
            if c == UInt8(ascii: "[") {
                let end = bracketEnd(pattern, from: i) ?? pattern.count
                out += pattern[i..<end]
                i = end
                continue
            }
            if c == UInt8(ascii: "\\") && i + 1 < pattern.count {
                let e = pattern[i + 1]
                if isStrayEscape(e) { out.append(e) } else { out += [c, e] }
                i += 2
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }

    /// A letter that means itself after a backslash: every ASCII letter but GNU's
    /// `w W s S b B`.
    static func isStrayEscape(_ e: UInt8) -> Bool {
        let isLetter = (e | 0x20) &- UInt8(ascii: "a") < 26
        return isLetter && !Array("wWsSbB".utf8).contains(e)
    }

    /// True when `pattern` might hold a back-reference `\1`..`\9` (GNU grep's test: a
    /// false alarm such as `[\1]` only costs a separate compile).
    static func mayHaveBackReference(_ pattern: [UInt8]) -> Bool {
        var i = 0
        while i + 1 < pattern.count {
            if pattern[i] == UInt8(ascii: "\\") {
                let e = pattern[i + 1]
                if e >= UInt8(ascii: "1") && e <= UInt8(ascii: "9") { return true }
                i += 2
                continue
            }
            i += 1
        }
        return false
    }

    /// `pattern` with every back-reference `\N` outside bracket expressions raised by
    /// `shift`, for wrapping it in `shift` more groups; nil when one would pass `\9`.
    static func shiftingBackReferences(_ pattern: [UInt8], by shift: Int) -> [UInt8]? {
        var out: [UInt8] = []
        var i = 0
        while i < pattern.count {
            let c = pattern[i]
            if c == UInt8(ascii: "[") {
                guard let end = bracketEnd(pattern, from: i) else { return nil }
                out += pattern[i..<end]
                i = end
                continue
            }
            if c == UInt8(ascii: "\\") && i + 1 < pattern.count {
                let e = pattern[i + 1]
                if e >= UInt8(ascii: "1") && e <= UInt8(ascii: "9") {
                    let n = Int(e - UInt8(ascii: "0")) + shift
                    if n > 9 { return nil }
                    out += [c, UInt8(ascii: "0") + UInt8(n)]
                } else {
                    out += [c, e]
                }
                i += 2
                continue
            }
            out.append(c)
            i += 1
        }
        return out
    }

    /// The index just past the bracket expression starting at `start` (`[`), honouring
    /// `]` first, `[^]...]`, and `[:class:]`, `[=x=]`, `[.x.]`; nil when unterminated.
    static func bracketEnd(_ p: [UInt8], from start: Int) -> Int? {
        var i = start + 1
        if i < p.count && p[i] == UInt8(ascii: "^") { i += 1 }
        if i < p.count && p[i] == UInt8(ascii: "]") { i += 1 }
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "]") { return i + 1 }
            if c == UInt8(ascii: "[") && i + 1 < p.count,
               [UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: ".")].contains(p[i + 1]) {
                let kind = p[i + 1]
                var j = i + 2
                while j + 1 < p.count && !(p[j] == kind && p[j + 1] == UInt8(ascii: "]")) { j += 1 }
                if j + 1 >= p.count { return nil }
                i = j + 2
                continue
            }
            i += 1
        }
        return nil
    }
}

/// Walks the top level of a pattern, collecting the runs of literal bytes that every
/// match must contain in order. Gives up (returns false) on alternation at the top level
/// or anything unusual.
private struct LiteralReader {
    let p: [UInt8]
    let syntax: RegexSyntax
    var runs: [[UInt8]] = []
    var current: [UInt8] = []
    /// The last atom was a literal byte, the last of `current`, so a quantifier that
    /// follows it can make it optional.
    var lastWasLiteral = false
    /// The last literal was repeated (`a+`): it stays required, but what follows is not
    /// adjacent to it, so the run ends before the next literal.
    var mustBreak = false
    var i = 0

    init(p: [UInt8], syntax: RegexSyntax) {
        self.p = p
        self.syntax = syntax
    }

    mutating func endRun() {
        if !current.isEmpty { runs.append(current) }
        current = []
        lastWasLiteral = false
        mustBreak = false
    }

    mutating func literal(_ c: UInt8) {
        if mustBreak { endRun() }
        current.append(c)
        lastWasLiteral = true
    }

    /// A quantifier requiring at least one repetition.
    mutating func requiredQuantifier() {
        if lastWasLiteral { mustBreak = true } else { endRun() }
    }

    /// A quantifier allowing zero repetitions: the atom before it is not required.
    mutating func optionalQuantifier() -> Bool {
        if lastWasLiteral { current.removeLast() }
        endRun()
        return true
    }

    mutating func read() -> Bool {
        let isBasic = syntax == .basic
        while i < p.count {
            let c = p[i]
            let atStart = i == 0 || (i == 1 && p[0] == UInt8(ascii: "^"))
            i += 1
            switch c {
            case UInt8(ascii: "\\"):
                guard i < p.count else { return false }
                let e = p[i]
                i += 1
                if !escaped(e, isBasic: isBasic) { return false }
            case UInt8(ascii: "["):
                guard let end = RegexText.bracketEnd(p, from: i - 1) else { return false }
                i = end
                endRun()
            case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"):
                endRun()
            case UInt8(ascii: "*"):
                if atStart {
                    if !isBasic { return false }
                    literal(c)
                } else if !optionalQuantifier() { return false }
            case UInt8(ascii: "?") where !isBasic:
                if atStart || !optionalQuantifier() { return false }
            case UInt8(ascii: "+") where !isBasic:
                if atStart { return false }
                requiredQuantifier()
            case UInt8(ascii: "{") where !isBasic:
                guard !atStart, let min = interval(closing: [UInt8(ascii: "}")]) else { return false }
                if min == 0 { _ = optionalQuantifier() } else { requiredQuantifier() }
            case UInt8(ascii: "|") where !isBasic:
                return false
            case UInt8(ascii: "(") where !isBasic:
                guard skipGroup(open: [UInt8(ascii: "(")], close: [UInt8(ascii: ")")]) else { return false }
                endRun()
            case UInt8(ascii: ")") where !isBasic:
                return false
            default:
                literal(c)
            }
        }
        endRun()
        return true
    }

    /// Handles `\e`; false to give up.
    mutating func escaped(_ e: UInt8, isBasic: Bool) -> Bool {
        switch e {
        case UInt8(ascii: "1")...UInt8(ascii: "9"):
            endRun()
        case UInt8(ascii: "w"), UInt8(ascii: "W"), UInt8(ascii: "s"), UInt8(ascii: "S"),
             UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: "`"), UInt8(ascii: "'"):
            endRun()
        case UInt8(ascii: "|") where isBasic:
            return false
        case UInt8(ascii: "(") where isBasic:
            guard skipGroup(open: [UInt8(ascii: "\\"), UInt8(ascii: "(")],
                            close: [UInt8(ascii: "\\"), UInt8(ascii: ")")]) else { return false }
            endRun()
        case UInt8(ascii: ")") where isBasic:
            return false
        case UInt8(ascii: "?") where isBasic:
            return optionalQuantifier()
        case UInt8(ascii: "+") where isBasic:
            requiredQuantifier()
        case UInt8(ascii: "{") where isBasic:
            guard let min = interval(closing: [UInt8(ascii: "\\"), UInt8(ascii: "}")]) else { return false }
            if min == 0 { _ = optionalQuantifier() } else { requiredQuantifier() }
        default:
            // Any other escaped byte stands for itself (`\.`, `\*`, `\\`, `\{` in ERE).
            if (e >= UInt8(ascii: "a") && e <= UInt8(ascii: "z")) || (e >= UInt8(ascii: "A") && e <= UInt8(ascii: "Z")) {
                return false  // an escape this reader does not know
            }
            literal(e)
        }
        return true
    }

    /// Reads `n}`, `n,}`, `n,m}` or `,m}` after the opening brace; returns the minimum.
    mutating func interval(closing: [UInt8]) -> Int? {
        var min = 0
        var digits = 0
        while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") {
            min = min * 10 + Int(p[i] - UInt8(ascii: "0"))
            digits += 1
            i += 1
            if min > 32767 { return nil }
        }
        if i < p.count && p[i] == UInt8(ascii: ",") {
            i += 1
            while i < p.count, p[i] >= UInt8(ascii: "0"), p[i] <= UInt8(ascii: "9") { i += 1 }
        } else if digits == 0 {
            return nil
        }
        guard i + closing.count <= p.count, Array(p[i..<(i + closing.count)]) == closing else { return nil }
        i += closing.count
        return min
    }

    /// Skips a group whose opener was just read, with nesting, brackets and escapes.
    mutating func skipGroup(open: [UInt8], close: [UInt8]) -> Bool {
        var depth = 1
        while i < p.count {
            if p[i] == UInt8(ascii: "[") {
                guard let end = RegexText.bracketEnd(p, from: i) else { return false }
                i = end
                continue
            }
            if matches(open) {
                depth += 1
                i += open.count
                continue
            }
            if matches(close) {
                depth -= 1
                i += close.count
                if depth == 0 { return true }
                continue
            }
            i += p[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        return false
    }

    func matches(_ token: [UInt8]) -> Bool {
        i + token.count <= p.count && Array(p[i..<(i + token.count)]) == token
    }
}
