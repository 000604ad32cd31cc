/// The rewrites a pattern goes through before it is compiled, where GNU regex and GNU
/// grep's DFA read the same text differently, or where GNU regex would build
/// exponentially many states for it.
extension RegexText {
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

    /// `pattern` with each `^` and `$` that GNU regex reads as an anchor rewritten as
    /// GNU's buffer anchors `` \` `` and `\'`, for `-z`'s records. Compiled without newline
    /// anchors, `^` and `$` should match only at the record's edges, as in GNU grep, but
    /// glibc still lets `$` be followed, and `^` preceded, by a newline that something
    /// else matches (`a$.b` and, in an ERE, `a.^b` matched "a\nb"); the buffer anchors
    /// have no such gap. In a BRE, as glibc reads it, `^` is an anchor first in the
    /// pattern or after `\(`, `\|`, a newline or another anchor, and `$` last or before
    /// `\)`, `\|` or a newline; in an ERE both always are.
    static func anchoringAtRecordEdges(_ p: [UInt8], _ syntax: RegexSyntax) -> [UInt8] {
        let isBasic = syntax == .basic
        let backslash = UInt8(ascii: "\\")
        var out: [UInt8] = []
        var isCaretAnchor = true
        var i = 0
        while i < p.count {
            let c = p[i]
            if c == UInt8(ascii: "[") {
                let end = bracketEnd(p, from: i) ?? p.count
                out += p[i..<end]
                i = end
                isCaretAnchor = false
                continue
            }
            if c == backslash && i + 1 < p.count {
                let e = p[i + 1]
                out += [c, e]
                i += 2
                isCaretAnchor = Array("(|<>bB`'".utf8).contains(e)
                continue
            }
            if c == UInt8(ascii: "^") && (!isBasic || isCaretAnchor) {
                out += [backslash, UInt8(ascii: "`")]
                isCaretAnchor = true
            } else if c == UInt8(ascii: "$") && (!isBasic || endsBasicExpression(p, after: i)) {
                out += [backslash, UInt8(ascii: "'")]
                isCaretAnchor = true
            } else {
                out.append(c)
                isCaretAnchor = c == 0x0A
            }
            i += 1
        }
        return out
    }

    /// Whether a BRE expression ends after offset `i`: at the pattern's end, a newline,
    /// `\)` or `\|`.
    private static func endsBasicExpression(_ p: [UInt8], after i: Int) -> Bool {
        let next = i + 1
        if next == p.count || p[next] == 0x0A { return true }
        return p[next] == UInt8(ascii: "\\") && next + 1 < p.count
            && (p[next + 1] == UInt8(ascii: ")") || p[next + 1] == UInt8(ascii: "|"))
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
}
