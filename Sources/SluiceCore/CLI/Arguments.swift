/// How an option takes its value.
public enum OptionValue: Sendable, Equatable {
    /// A flag: `-v`, `--invert-match`.
    case none
    /// A value: `-n 10`, `-n10`, `--lines 10`, `--lines=10`.
    case required(String)
    /// A value only when attached with `=`: `--stats`, `--stats=json`.
    case optional(String)
}

/// One option a stage (or the global command line) understands.
public struct OptionSpec: Sendable {
    public let short: Character?
    public let long: String?
    public let value: OptionValue
    /// The name the stage asks for it by; the long name when there is one.
    public let key: String
    public let help: String

    public init(_ short: Character?, _ long: String?, _ value: OptionValue = .none,
                key: String? = nil, help: String) {
        self.short = short
        self.long = long
        self.value = value
        self.key = key ?? long ?? String(short!)
        self.help = help
    }

    /// `-n, --lines N` as shown in help.
    public var displayName: String {
        var parts: [String] = []
        if let short { parts.append("-\(short)") }
        if let long { parts.append("--\(long)") }
        var text = parts.joined(separator: ", ")
        switch value {
        case .none: break
        case .required(let name): text += " \(name)"
        case .optional(let name): text += "[=\(name)]"
        }
        return text
    }
}

/// One option as it appeared on the command line.
public struct GivenOption: Sendable, Equatable {
    /// `OptionSpec.key`.
    public let key: String
    public let value: String?
    /// How the user spelled it (`-n`, `--lines`), for messages.
    public let spelling: String
}

/// The options and operands of one stage (or of the global command line), in order.
public struct ParsedOptions: Sendable {
    public var given: [GivenOption] = []
    public var operands: [String] = []
    /// Where each operand stands in the cursor's words, for a message that repeats the
    /// command line without it.
    public var operandPositions: [Int] = []

    public func has(_ key: String) -> Bool { given.contains { $0.key == key } }
    /// The last occurrence wins, as in getopt-based tools.
    public func last(_ key: String) -> GivenOption? { given.last { $0.key == key } }
    public func all(_ key: String) -> [GivenOption] { given.filter { $0.key == key } }
}

/// The words of the command line, consumed left to right.
public struct ArgumentCursor {
    public let words: [String]
    public private(set) var index = 0

    public init(_ words: [String]) { self.words = words }

    public var peek: String? { index < words.count ? words[index] : nil }

    public mutating func next() -> String? {
        guard index < words.count else { return nil }
        defer { index += 1 }
        return words[index]
    }
}

/// A getopt_long-style parser over one segment of the command line. Understands
/// `--name VALUE`, `--name=VALUE`, unique prefixes of long names, `-n VALUE`, `-nVALUE`,
/// clustered flags (`-iv`), an optional value attached to a short option (`-Pforce`,
/// `-P=force`), `--` (the following words are operands; the first of them is taken
/// literally even when it is `+`), options after operands, and — where the owner asks —
/// digit options, alone or in a cluster (`gzip -6`, `head -5`, `gzip -9p2`). It stops at a lone `+`, the stage
/// separator, unless an option is waiting for its value.
public struct OptionParser {
    public let options: [OptionSpec]
    /// Key under which `-NUMBER` is recorded, or nil when such options are not accepted.
    public let digitsKey: String?
    /// Stop at the first operand and take every later word as an operand (`exec CMD -x`,
    /// and the global options, which end at the stage name).
    public let stopsAtFirstOperand: Bool
    /// Who is parsing, for messages: `head`, or nil for the global options.
    public let owner: String?

    public init(options: [OptionSpec], digitsKey: String? = nil, stopsAtFirstOperand: Bool = false,
                owner: String?) {
        self.options = options
        self.digitsKey = digitsKey
        self.stopsAtFirstOperand = stopsAtFirstOperand
        self.owner = owner
    }

    private func fail(_ message: String) -> SluiceError {
        .usage(owner.map { "\($0): \(message)" } ?? message, stage: owner)
    }

    /// Parses words up to a lone `+` or the end. With `stopsAtFirstOperand`, the first
    /// operand is left in the cursor for the caller (the stage name) when `leaveOperand`.
    public func parse(_ cursor: inout ArgumentCursor, leaveOperand: Bool = false) throws(SluiceError) -> ParsedOptions {
        var parsed = ParsedOptions()
        var isAfterDashDash = false
        var isLiteralNext = false
        while let word = cursor.peek {
            if word == "+" && !isLiteralNext { break }
            isLiteralNext = false
            if isAfterDashDash {
                parsed.operandPositions.append(cursor.index)
                _ = cursor.next()
                parsed.operands.append(word)
                continue
            }
            if word == "--" {
                _ = cursor.next()
                isAfterDashDash = true
                isLiteralNext = true
                if leaveOperand { break }
                continue
            }
            // Bytes, not characters: "-" and a combining mark are one `Character`.
            if word.utf8.starts(with: "--".utf8) {
                _ = cursor.next()
                try parseLong(word, &cursor, into: &parsed)
            } else if word.utf8.first == UInt8(ascii: "-") && word.utf8.count > 1 {
                _ = cursor.next()
                try parseShort(word, &cursor, into: &parsed)
            } else {
                if leaveOperand { break }
                parsed.operandPositions.append(cursor.index)
                _ = cursor.next()
                parsed.operands.append(word)
                if stopsAtFirstOperand { isAfterDashDash = true }
            }
        }
        return parsed
    }

    private func parseLong(_ word: String, _ cursor: inout ArgumentCursor,
                           into parsed: inout ParsedOptions) throws(SluiceError) {
        let body = word.unicodeScalars.dropFirst(2)
        let name: String
        var attached: String?
        if let eq = body.firstIndex(of: "=") {
            name = String(body[..<eq])
            attached = String(body[body.index(after: eq)...])
        } else {
            name = String(body)
        }
        let spec = try findLong(name, spelled: word)
        let spelling = "--\(spec.long!)"
        switch spec.value {
        case .none:
            if attached != nil { throw fail("option '\(spelling)' takes no value") }
            parsed.given.append(GivenOption(key: spec.key, value: nil, spelling: spelling))
        case .optional:
            parsed.given.append(GivenOption(key: spec.key, value: attached, spelling: spelling))
        case .required:
            if attached == nil { attached = cursor.next() }
            guard let value = attached else { throw fail("option '\(spelling)' needs a value") }
            parsed.given.append(GivenOption(key: spec.key, value: value, spelling: spelling))
        }
    }

    private func findLong(_ name: String, spelled: String) throws(SluiceError) -> OptionSpec {
        if let exact = options.first(where: { $0.long == name }) { return exact }
        let candidates = options.filter { $0.long?.hasPrefix(name) ?? false }
        if candidates.count == 1, !name.isEmpty { return candidates[0] }
        let shown = spelled.split(separator: "=", maxSplits: 1).first.map(String.init) ?? spelled
        if candidates.count > 1, !name.isEmpty {
            let names = candidates.map { "'--\($0.long!)'" }.joined(separator: ", ")
            throw fail("option '\(shown)' is ambiguous: \(names)")
        }
        let longs = options.compactMap { $0.long }
        let hint = Suggestion.hint(for: name, among: longs, prefix: "--")
        throw fail("unknown option '\(shown)'\(hint)")
    }

    private func parseShort(_ word: String, _ cursor: inout ArgumentCursor,
                            into parsed: inout ParsedOptions) throws(SluiceError) {
        // Scalar by scalar, as getopt goes byte by byte: `-e` and a combining mark after
        // it are the option and the start of its value, not one character.
        let body = word.unicodeScalars.dropFirst()
        let isDigit = { (c: Unicode.Scalar) in c.isASCII && c.properties.numericType == .decimal }
        if let digitsKey, body.allSatisfy(isDigit) {
            parsed.given.append(GivenOption(key: digitsKey, value: String(body), spelling: word))
            return
        }
        var rest = body
        while let scalar = rest.first {
            if let digitsKey, isDigit(scalar) {
                // A run of digits inside a cluster is the digit option: `gzip -9p2`.
                let digits = String(rest.prefix(while: isDigit))
                parsed.given.append(GivenOption(key: digitsKey, value: digits, spelling: "-\(digits)"))
                rest = rest.dropFirst(digits.utf8.count)
                continue
            }
            rest = rest.dropFirst()
            let c = Character(scalar)
            guard let spec = options.first(where: { $0.short == c }) else {
                let hint = c.isNumber && digitsKey == nil ? "" : suggestShort(c)
                throw fail("unknown option '-\(c)'\(hint)")
            }
            let spelling = "-\(c)"
            switch spec.value {
            case .none:
                parsed.given.append(GivenOption(key: spec.key, value: nil, spelling: spelling))
            case .optional:
                // As getopt's optional arguments: the rest of the word is the value
                // (`-Pforce`, and `-P=force` as for the long form).
                let value = rest.isEmpty ? nil : String(rest.first == "=" ? rest.dropFirst() : rest[...])
                parsed.given.append(GivenOption(key: spec.key, value: value, spelling: spelling))
                return
            case .required:
                let value = rest.isEmpty ? cursor.next() : String(rest)
                guard let value else { throw fail("option '\(spelling)' needs a value") }
                parsed.given.append(GivenOption(key: spec.key, value: value, spelling: spelling))
                return
            }
        }
    }

    private func suggestShort(_ c: Character) -> String {
        let lower = Character(c.lowercased())
        let upper = Character(c.uppercased())
        if let other = options.first(where: { $0.short != c && ($0.short == lower || $0.short == upper) }) {
            return " (did you mean '-\(other.short!)'?)"
        }
        return ""
    }
}

/// "Did you mean" by edit distance.
public enum Suggestion {
    /// ` (did you mean 'X'?)` for the candidate nearest to `word`, spelled with `prefix`
    /// (`--`), or nothing when none is near enough.
    public static func hint(for word: String, among candidates: [String], prefix: String = "") -> String {
        closest(to: word, in: candidates).map { " (did you mean '\(prefix)\($0)'?)" } ?? ""
    }

    /// The candidate nearest to `word`, if it is near enough to be a plausible typo:
    /// at most 2 edits, and fewer than half of the word's letters.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        var best: (String, Int)?
        for candidate in candidates {
            let d = distance(word, candidate)
            if d <= 2, d * 2 <= max(word.count, 2), best == nil || d < best!.1 {
                best = (candidate, d)
            }
        }
        return best?.0
    }

    /// Damerau–Levenshtein distance (optimal string alignment): a swap of two neighbours
    /// counts as one edit, as typos usually are.
    public static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { table[i][0] = i }
        for j in 0...y.count { table[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                var d = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d = min(d, table[i - 2][j - 2] + 1)
                }
                table[i][j] = d
            }
        }
        return table[x.count][y.count]
    }
}
