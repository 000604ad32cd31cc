/// The two POSIX regex dialects grep offers.
public enum RegexSyntax: Sendable {
    /// BRE (`grep -G`), with GNU's `\+ \? \|`.
    case basic
    /// ERE (`grep -E`).
    case extended
}

/// Reading regex text without compiling it: the literal every match must contain (the
/// prefilter), and the back-reference renumbering that wrapping a pattern needs.
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

    /// An ERE rewritten so that GNU regex reads it as GNU grep's DFA does, where the two
    /// differ: a repetition with nothing before it (`*a`, `(+x)`, `a|?b`, `{1}a`) repeats
    /// the empty string, so it goes; a repetition of an anchor (`\>{1,2}`, `a^*b`) is that
    /// anchor, or nothing when it may repeat zero times; a `{` that opens no valid interval
    /// is a literal brace.
    static func normalizingExtended(_ p: [UInt8]) -> [UInt8] {
        enum Kind { case open, alternation, anchor, atom, repetition }
        var tokens: [(bytes: ArraySlice<UInt8>, kind: Kind)] = []
        var i = 0
        // An anchor just vanished under a repetition (`$?`): repetitions after it go too.
        var vanished = false
        while i < p.count {
            let c = p[i]
            let atStart = tokens.last.map { $0.kind == .open || $0.kind == .alternation } ?? true
            if let (length, minimum) = repetition(p, at: i) {
                let op = p[i..<(i + length)]
                if atStart || vanished {
                    // Repeats nothing: drop it.
                } else if tokens.last?.kind == .anchor {
                    if minimum == 0 {
                        tokens.removeLast()
                        vanished = true
                    }
                } else if tokens.last?.kind == .repetition, let merged = stacked(tokens.last!.bytes, op) {
                    // `a++`, `a+*`, `a?+`: one operator. Stacked, GNU regex builds
                    // exponentially many states (36 `+` took GNU grep past 9 GiB).
                    tokens[tokens.count - 1] = (merged, .repetition)
                } else {
                    tokens.append((op, .repetition))
                }
                i += length
                continue
            }
            vanished = false
            switch c {
            case UInt8(ascii: "["):
                let end = bracketEnd(p, from: i) ?? p.count
                tokens.append((p[i..<end], .atom))
                i = end
                continue
            case UInt8(ascii: "\\"):
                let end = min(i + 2, p.count)
                let isAnchor = end == i + 2 && [UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "b"),
                                                UInt8(ascii: "B"), UInt8(ascii: "`"), UInt8(ascii: "'")].contains(p[i + 1])
                tokens.append((p[i..<end], isAnchor ? .anchor : .atom))
                i = end
                continue
            case UInt8(ascii: "{") where atStart || tokens.last?.kind == .anchor:
                // Not an interval, and nothing to repeat: a literal brace (GNU regex would
                // misread it here; elsewhere it reads it as literal by itself).
                tokens.append(([UInt8(ascii: "\\"), c][...], .atom))
            case UInt8(ascii: "^"), UInt8(ascii: "$"):
                tokens.append((p[i...i], .anchor))
            case UInt8(ascii: "("):
                tokens.append((p[i...i], .open))
            case UInt8(ascii: "|"), 0x0A:
                tokens.append((p[i...i], .alternation))
            default:
                tokens.append((p[i...i], .atom))
            }
            i += 1
        }
        return tokens.flatMap { $0.bytes }
    }

    /// `pattern` with stacked repetition operators merged into the one they amount to
    /// (`a++` is `a+`, `a+?` is `a*`; in a BRE, `a**` is `a*`). The meaning is the same,
    /// but GNU regex builds exponentially many states for a stack (36 `+` took GNU grep
    /// past 9 GiB), so this runs before anything is compiled, the syntax check included.
    static func collapsingStackedRepetitions(_ p: [UInt8], _ syntax: RegexSyntax) -> [UInt8] {
        var out: [UInt8] = []
        var lastOperator: Int?   // index in `out` of an operator just written
        var atStart = true
        var i = 0
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "[") {
                let end = bracketEnd(p, from: i) ?? p.count
                out += p[i..<end]
                i = end
                lastOperator = nil
                atStart = false
                continue
            }
            if c == UInt8(ascii: "\\") {
                let end = min(i + 2, p.count)
                let escaped = end == i + 2 ? p[i + 1] : 0
                out += p[i..<end]
                i = end
                lastOperator = nil
                // In a BRE, `\(` and `\|` open an expression, where `*` is literal.
                atStart = syntax == .basic && (escaped == UInt8(ascii: "(") || escaped == UInt8(ascii: "|"))
                continue
            }
            let isOperator: Bool
            switch syntax {
            case .extended: isOperator = c == UInt8(ascii: "*") || c == UInt8(ascii: "+") || c == UInt8(ascii: "?")
            case .basic: isOperator = c == UInt8(ascii: "*") && !atStart
            }
            if isOperator, let at = lastOperator, let merged = stacked(out[at...at], p[i...i]) {
                out[at] = merged.first!
                i += 1
                continue
            }
            out.append(c)
            lastOperator = isOperator ? out.count - 1 : nil
            atStart = c == 0x0A || (syntax == .extended && (c == UInt8(ascii: "(") || c == UInt8(ascii: "|")))
                || (c == UInt8(ascii: "^") && (out.count == 1 || out[out.count - 2] == 0x0A))
            i += 1
        }
        return out
    }

    /// Two stacked operators among `*`, `+`, `?` as the one they amount to; nil when either
    /// is an interval (left as it is).
    static func stacked(_ first: ArraySlice<UInt8>, _ second: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        guard first.count == 1, second.count == 1 else { return nil }
        let (a, b) = (first.first!, second.first!)
        let star = UInt8(ascii: "*"), plus = UInt8(ascii: "+"), question = UInt8(ascii: "?")
        if a == b { return first }
        if a == star || b == star || (a == plus && b == question) || (a == question && b == plus) { return [star][...] }
        return nil
    }

    /// A BRE rewritten where GNU regex and GNU grep's DFA differ: a repetition of a GNU
    /// anchor (`\<*`, `\b\{2\}`) is that anchor, or nothing when it may repeat zero times.
    /// After an anchor that opens the expression, `*` is a literal star, as in `^*`.
    static func normalizingBasic(_ p: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var anchorStart: Int?
        var i = 0
        func isExpressionStart(_ at: Int) -> Bool {
            at == 0 || out[at - 1] == 0x0A
                || (at >= 2 && out[at - 2] == UInt8(ascii: "\\")
                    && (out[at - 1] == UInt8(ascii: "(") || out[at - 1] == UInt8(ascii: "|")))
        }
        while i < p.count {
            let c = p[i]
            if let anchor = anchorStart, let (length, minimum) = basicRepetition(p, at: i) {
                if isExpressionStart(anchor) {
                    // After a leading anchor the operator is literal text, as `^*` is.
                    out += p[i..<(i + length)].filter { $0 != UInt8(ascii: "\\") }.flatMap {
                        $0 == UInt8(ascii: "*") ? [UInt8(ascii: "\\"), $0] : [$0]
                    }
                    anchorStart = nil
                } else {
                    if minimum == 0 { out.removeSubrange(anchor...) }
                    anchorStart = minimum == 0 ? nil : anchor
                }
                i += length
                continue
            }
            if c == UInt8(ascii: "[") {
                let end = bracketEnd(p, from: i) ?? p.count
                out += p[i..<end]
                i = end
                anchorStart = nil
                continue
            }
            if c == UInt8(ascii: "\\"), i + 1 < p.count {
                let isAnchor = [UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "b"), UInt8(ascii: "B"),
                                UInt8(ascii: "`"), UInt8(ascii: "'")].contains(p[i + 1])
                anchorStart = isAnchor ? out.count : nil
                out += p[i...(i + 1)]
                i += 2
                continue
            }
            anchorStart = nil
            out.append(c)
            i += 1
        }
        return out
    }

    /// `*`, `\+`, `\?` or `\{...\}` at `i` in a BRE, as its length and minimum count.
    private static func basicRepetition(_ p: [UInt8], at i: Int) -> (Int, Int)? {
        if p[i] == UInt8(ascii: "*") { return (1, 0) }
        guard p[i] == UInt8(ascii: "\\"), i + 1 < p.count else { return nil }
        switch p[i + 1] {
        case UInt8(ascii: "+"): return (2, 1)
        case UInt8(ascii: "?"): return (2, 0)
        case UInt8(ascii: "{"):
            var j = i + 2
            var minimum = 0
            while j < p.count, p[j] >= UInt8(ascii: "0"), p[j] <= UInt8(ascii: "9") {
                minimum = min(minimum * 10 + Int(p[j] - 48), 1 << 20)
                j += 1
            }
            while j < p.count, p[j] != UInt8(ascii: "\\") { j += 1 }
            guard j + 1 < p.count, p[j + 1] == UInt8(ascii: "}") else { return nil }
            return (j + 2 - i, minimum)
        default:
            return nil
        }
    }

    /// A repetition operator at `i` — `*`, `+`, `?` or a valid interval `{n}`, `{n,}`,
    /// `{,m}`, `{n,m}` — as its length and its minimum count.
    private static func repetition(_ p: [UInt8], at i: Int) -> (Int, Int)? {
        switch p[i] {
        case UInt8(ascii: "*"), UInt8(ascii: "?"): return (1, 0)
        case UInt8(ascii: "+"): return (1, 1)
        case UInt8(ascii: "{"):
            var j = i + 1
            var minimum = 0, digits = 0, sawComma = false, maxDigits = 0
            while j < p.count {
                let c = p[j]
                if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                    if sawComma { maxDigits += 1 } else { minimum = min(minimum * 10 + Int(c - 48), 1 << 20); digits += 1 }
                } else if c == UInt8(ascii: ",") && !sawComma {
                    sawComma = true
                } else if c == UInt8(ascii: "}") {
                    return digits + maxDigits > 0 ? (j + 1 - i, minimum) : nil
                } else {
                    return nil
                }
                j += 1
            }
            return nil
        default:
            return nil
        }
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
