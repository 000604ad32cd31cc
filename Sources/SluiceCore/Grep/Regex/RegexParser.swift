/// Reads a BRE or ERE into a `RegexNode` exactly as glibc's regcomp.c reads it with GNU
/// grep's syntax bits (RE_SYNTAX_GREP / RE_SYNTAX_EGREP, RE_NEWLINE_ALT, RE_ICASE for
/// `-i`), over bytes in the C locale, so that the automaton selects the lines GNU regex
/// would. The text given is one that glibc has already compiled without error (sluice
/// checks every pattern with glibc first), after `RegexText`'s normalising; anything
/// this reader is not sure of, and what a finite automaton cannot do (back-references,
/// the word assertions `\< \> \b \B`), gives nil, and the caller keeps glibc.
///
/// The glibc rules followed (regcomp.c: peek_token, parse_expression, parse_dup_op,
/// parse_bracket_exp):
/// - a newline, `|` (ERE) or `\|` (BRE) separates alternatives;
/// - in a BRE, `^` is an anchor first in the text, after a newline, `\(` or `\|`, and `$`
///   last or before `\)`, `\|` or a newline; elsewhere both are literal. In an ERE both
///   are always anchors;
/// - no repetition applies to an anchor: the operator after one starts the next atom;
/// - a repetition with nothing before it is skipped in an ERE and literal in a BRE;
/// - an ERE `{` that opens no valid interval is a literal brace; intervals may stack;
/// - under RE_ICASE, glibc upper-cases the pattern (but not class names, and
///   `[:upper:]`/`[:lower:]` become `[:alpha:]`) and the text; so a byte matches a set
///   when its upper case is in the set built from the upper-cased pattern.
struct RegexParser {
    private let p: [UInt8]
    private let isBasic: Bool
    private let ignoreCase: Bool
    private var i = 0
    private var token = Token.end

    /// Intervals up to GNU's RE_DUP_MAX.
    static let maxRepetition = 0x7fff

    private enum Token: Equatable {
        case byte(UInt8), set(ByteSet), any, bracket
        case alternation, open, close, star, plus, question, openInterval
        case lineStart, lineEnd
        /// A back-reference or word assertion: not for an automaton.
        case unsupported
        case end
    }

    private struct Unsupported: Error {}

    private init(_ pattern: [UInt8], _ syntax: RegexSyntax, ignoreCase: Bool) {
        p = pattern
        isBasic = syntax == .basic
        self.ignoreCase = ignoreCase
    }

    /// The tree of `pattern`, or nil when it holds anything a finite automaton cannot
    /// match or this reader does not know.
    static func parse(_ pattern: [UInt8], _ syntax: RegexSyntax, ignoreCase: Bool) -> RegexNode? {
        var parser = RegexParser(pattern, syntax, ignoreCase: ignoreCase)
        do {
            parser.fetch(caretAnchorsHere: true)
            let tree = try parser.alternation(nest: 0)
            return parser.token == .end ? tree : nil
        } catch {
            return nil
        }
    }

    // MARK: Grammar

    private mutating func alternation(nest: Int) throws -> RegexNode {
        var branches = [try branch(nest: nest)]
        while token == .alternation {
            fetch(caretAnchorsHere: true)
            if token == .alternation || token == .end || (nest > 0 && token == .close) {
                branches.append(.empty)
            } else {
                branches.append(try branch(nest: nest))
            }
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    private mutating func branch(nest: Int) throws -> RegexNode {
        var parts = [try expression(nest: nest)]
        while token != .alternation && token != .end && (nest == 0 || token != .close) {
            parts.append(try expression(nest: nest))
        }
        parts.removeAll { $0 == .empty }
        return parts.isEmpty ? .empty : parts.count == 1 ? parts[0] : .concat(parts)
    }

    /// One atom and the repetitions after it (parse_expression).
    private mutating func expression(nest: Int) throws -> RegexNode {
        var atom: RegexNode
        switch token {
        case .byte(let c):
            atom = .bytes(set(of: c))
        case .set(let s):
            atom = .bytes(finished(s))
        case .any:
            atom = .bytes(.all)
        case .bracket:
            atom = .bytes(finished(try bracket()))
        case .open:
            fetch(caretAnchorsHere: true)
            if token == .close {
                atom = .empty
            } else {
                atom = try alternation(nest: nest + 1)
                guard token == .close else { throw Unsupported() }
            }
        case .lineStart, .lineEnd:
            // No repetition applies to an anchor.
            let anchor: RegexNode = token == .lineStart ? .lineStart : .lineEnd
            fetch(caretAnchorsHere: false)
            return anchor
        case .star, .plus, .question, .openInterval:
            if !isBasic {
                fetch(caretAnchorsHere: false)
                return try expression(nest: nest)
            }
            // A BRE's leading `*`, `\+`, `\?` are literal; a leading `\{` is left to glibc.
            guard let c = literalOperator(token) else { throw Unsupported() }
            atom = .bytes(set(of: c))
        case .close:
            // An unmatched `)` in an ERE is literal (RE_UNMATCHED_RIGHT_PAREN_ORD).
            guard !isBasic else { throw Unsupported() }
            atom = .bytes(set(of: UInt8(ascii: ")")))
        case .alternation, .end:
            return .empty
        case .unsupported:
            throw Unsupported()
        }
        fetch(caretAnchorsHere: false)
        while [.star, .plus, .question, .openInterval].contains(token) {
            guard let (low, high) = try repetition() else { break }
            atom = low == 0 && high == 0 ? .empty : .repetition(atom, min: low, max: high)
        }
        return atom
    }

    private func literalOperator(_ t: Token) -> UInt8? {
        switch t {
        case .star: return UInt8(ascii: "*")
        case .plus: return UInt8(ascii: "+")
        case .question: return UInt8(ascii: "?")
        default: return nil
        }
    }

    /// The repetition at `token` as (min, max), with the token after it fetched; nil (and
    /// `token` a literal `{`) for an ERE brace that opens no valid interval.
    private mutating func repetition() throws -> (Int, Int?)? {
        switch token {
        case .star: fetch(caretAnchorsHere: false); return (0, nil)
        case .plus: fetch(caretAnchorsHere: false); return (1, nil)
        case .question: fetch(caretAnchorsHere: false); return (0, 1)
        default: break
        }
        let braceAt = i
        guard let (low, high) = interval() else {
            guard !isBasic else { throw Unsupported() }
            // Rolled back: the brace is a literal, the next atom.
            i = braceAt
            token = .byte(UInt8(ascii: "{"))
            return nil
        }
        if let high, low > high { throw Unsupported() }
        if max(low, high ?? 0) > Self.maxRepetition { throw Unsupported() }
        fetch(caretAnchorsHere: false)
        return (low, high)
    }

    /// Reads `n}`, `n,}`, `,m}`, `n,m}` or `,}` after the opening brace (glibc's
    /// fetch_number twice), leaving `i` after the closing brace; nil when invalid.
    private mutating func interval() -> (Int, Int?)? {
        let close: [UInt8] = isBasic ? [UInt8(ascii: "\\"), UInt8(ascii: "}")] : [UInt8(ascii: "}")]
        func number(_ i: inout Int) -> (value: Int?, next: UInt8?)? {
            var value: Int?
            while i < p.count {
                if p[i...].starts(with: close) { return (value, UInt8(ascii: "}")) }
                let c = p[i]
                if c == UInt8(ascii: ",") { return (value, c) }
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { return nil }
                value = min((value ?? 0) * 10 + Int(c - UInt8(ascii: "0")), Self.maxRepetition + 1)
                i += 1
            }
            return nil
        }
        var j = i
        guard let (first, stop) = number(&j) else { return nil }
        let low: Int
        if let first { low = first } else if stop == UInt8(ascii: ",") { low = 0 } else { return nil }
        if stop == UInt8(ascii: "}") {
            i = j + close.count
            return (low, low)
        }
        j += 1
        guard let (second, end) = number(&j), end == UInt8(ascii: "}") else { return nil }
        i = j + close.count
        return (low, second)
    }

    // MARK: Tokens

    /// Reads the token at `i` into `token` (peek_token). `caretAnchorsHere`: right after
    /// an alternation or an opening group, where a BRE's `^` is an anchor.
    private mutating func fetch(caretAnchorsHere: Bool) {
        guard i < p.count else { token = .end; return }
        let c = p[i]
        i += 1
        if c == UInt8(ascii: "\\") {
            guard i < p.count else { token = .unsupported; return }
            token = escaped(p[i])
            i += 1
            return
        }
        switch c {
        case 0x0A: token = .alternation
        case UInt8(ascii: "["): token = .bracket
        case UInt8(ascii: "."): token = .any
        case UInt8(ascii: "*"): token = .star
        case UInt8(ascii: "^"):
            let isAnchor = !isBasic || caretAnchorsHere || i == 1 || p[i - 2] == 0x0A
            token = isAnchor ? .lineStart : .byte(c)
        case UInt8(ascii: "$"):
            token = !isBasic || endsBasicExpression(at: i) ? .lineEnd : .byte(c)
        case UInt8(ascii: "|") where !isBasic: token = .alternation
        case UInt8(ascii: "+") where !isBasic: token = .plus
        case UInt8(ascii: "?") where !isBasic: token = .question
        case UInt8(ascii: "{") where !isBasic: token = .openInterval
        case UInt8(ascii: "(") where !isBasic: token = .open
        case UInt8(ascii: ")") where !isBasic: token = .close
        default: token = .byte(c)
        }
    }

    private func escaped(_ e: UInt8) -> Token {
        switch e {
        case UInt8(ascii: "1")...UInt8(ascii: "9"), UInt8(ascii: "<"), UInt8(ascii: ">"),
             UInt8(ascii: "b"), UInt8(ascii: "B"):
            return .unsupported
        case UInt8(ascii: "w"): return .set(Self.wordBytes)
        case UInt8(ascii: "W"): return .set(Self.wordBytes.inverted)
        case UInt8(ascii: "s"): return .set(Self.characterClass("space")!)
        case UInt8(ascii: "S"): return .set(Self.characterClass("space")!.inverted)
        case UInt8(ascii: "`"): return .lineStart
        case UInt8(ascii: "'"): return .lineEnd
        default: break
        }
        guard isBasic else { return .byte(e) }
        switch e {
        case UInt8(ascii: "|"): return .alternation
        case UInt8(ascii: "("): return .open
        case UInt8(ascii: ")"): return .close
        case UInt8(ascii: "+"): return .plus
        case UInt8(ascii: "?"): return .question
        case UInt8(ascii: "{"): return .openInterval
        default: return .byte(e)
        }
    }

    /// Whether a BRE's `$` just read (ending before `at`) is an anchor: last, or before
    /// `\)`, `\|` or a newline.
    private func endsBasicExpression(at next: Int) -> Bool {
        if next == p.count || p[next] == 0x0A { return true }
        return p[next] == UInt8(ascii: "\\") && next + 1 < p.count
            && (p[next + 1] == UInt8(ascii: ")") || p[next + 1] == UInt8(ascii: "|"))
    }

    // MARK: Sets

    /// A literal byte, as a set (both cases under -i).
    private func set(of c: UInt8) -> ByteSet {
        finished(ByteSet(fold(c)))
    }

    /// glibc's view under RE_ICASE: the text is upper-cased before it is tested.
    private func fold(_ c: UInt8) -> UInt8 {
        ignoreCase && c &- UInt8(ascii: "a") < 26 ? c - 32 : c
    }

    /// The bytes whose upper case is in `s` (with -i), or `s`.
    private func finished(_ s: ByteSet) -> ByteSet {
        ignoreCase ? ByteSet { s.contains(fold($0)) } : s
    }

    /// A bracket expression, the `[` read (parse_bracket_exp), in upper-cased terms
    /// under -i; `i` left after its `]`.
    private mutating func bracket() throws -> ByteSet {
        var s = ByteSet()
        var negated = false
        if i < p.count && p[i] == UInt8(ascii: "^") { negated = true; i += 1 }
        var first = true
        while true {
            guard i < p.count else { throw Unsupported() }
            if p[i] == UInt8(ascii: "]") && !first { i += 1; break }
            first = false
            let start = try bracketElement()
            // A `-` that is not last makes a range.
            if i + 1 < p.count && p[i] == UInt8(ascii: "-") && p[i + 1] != UInt8(ascii: "]") {
                i += 1
                guard case .byte(let low) = start, case .byte(let high) = try bracketElement(), low <= high else {
                    throw Unsupported()
                }
                s.insert(low...high)
                continue
            }
            switch start {
            case .byte(let c): s.insert(c)
            case .set(let c): s.formUnion(c)
            }
        }
        return negated ? s.inverted : s
    }

    private enum BracketElement { case byte(UInt8), set(ByteSet) }

    /// One character, `[:class:]`, `[=c=]` or `[.c.]` of a bracket expression.
    private mutating func bracketElement() throws -> BracketElement {
        let c = p[i]
        if c == UInt8(ascii: "["), i + 1 < p.count,
           [UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: ".")].contains(p[i + 1]) {
            let kind = p[i + 1]
            var j = i + 2
            while j + 1 < p.count && !(p[j] == kind && p[j + 1] == UInt8(ascii: "]")) { j += 1 }
            guard j + 1 < p.count else { throw Unsupported() }
            let name = Array(p[(i + 2)..<j])
            i = j + 2
            if kind == UInt8(ascii: ":") {
                var className = String(decoding: name, as: UTF8.self)
                if ignoreCase && (className == "upper" || className == "lower") { className = "alpha" }
                guard let set = Self.characterClass(className) else { throw Unsupported() }
                return .set(set)
            }
            // In the C locale a collating element or an equivalence class is one byte.
            guard name.count == 1 else { throw Unsupported() }
            return .byte(fold(name[0]))
        }
        i += 1
        return .byte(fold(c))
    }

    /// `\w`: letters, digits and underscore.
    static let wordBytes = ByteSet { isWordByte($0) }

    /// A POSIX character class in the C locale.
    static func characterClass(_ name: String) -> ByteSet? {
        let test: (UInt8) -> Bool
        switch name {
        case "alpha": test = { ($0 | 0x20) &- 0x61 < 26 }
        case "upper": test = { $0 &- 0x41 < 26 }
        case "lower": test = { $0 &- 0x61 < 26 }
        case "digit": test = { $0 &- 0x30 < 10 }
        case "xdigit": test = { $0 &- 0x30 < 10 || ($0 | 0x20) &- 0x61 < 6 }
        case "alnum": test = { ($0 | 0x20) &- 0x61 < 26 || $0 &- 0x30 < 10 }
        case "space": test = { $0 == 0x20 || $0 &- 0x09 < 5 }
        case "blank": test = { $0 == 0x20 || $0 == 0x09 }
        case "punct": test = { $0 &- 0x21 < 94 && !(($0 | 0x20) &- 0x61 < 26 || $0 &- 0x30 < 10) }
        case "print": test = { $0 &- 0x20 < 95 }
        case "graph": test = { $0 &- 0x21 < 94 }
        case "cntrl": test = { $0 < 0x20 || $0 == 0x7F }
        default: return nil
        }
        return ByteSet(where: test)
    }
}
