/// A set of bytes, 256 bits: what one position of a pattern may match.
struct ByteSet: Hashable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    static let all: ByteSet = { var s = ByteSet(); s.words = (~0, ~0, ~0, ~0); return s }()

    init() {}

    init(_ byte: UInt8) { insert(byte) }

    init(where test: (UInt8) -> Bool) {
        for b in 0...255 where test(UInt8(b)) { insert(UInt8(b)) }
    }

    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << (byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func insert(_ byte: UInt8) {
        let bit = UInt64(1) << (byte & 63)
        switch byte >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    mutating func insert(_ range: ClosedRange<UInt8>) {
        for b in range { insert(b) }
    }

    mutating func formUnion(_ other: ByteSet) {
        words = (words.0 | other.words.0, words.1 | other.words.1, words.2 | other.words.2, words.3 | other.words.3)
    }

    var inverted: ByteSet {
        var s = ByteSet()
        s.words = (~words.0, ~words.1, ~words.2, ~words.3)
        return s
    }

    func intersects(_ o: ByteSet) -> Bool {
        (words.0 & o.words.0) | (words.1 & o.words.1) | (words.2 & o.words.2) | (words.3 & o.words.3) != 0
    }

    var isEmpty: Bool { words.0 | words.1 | words.2 | words.3 == 0 }

    /// The one byte in the set, or nil when it holds none or several.
    var single: UInt8? {
        var found: UInt8?
        for b in 0...255 where contains(UInt8(b)) {
            if found != nil { return nil }
            found = UInt8(b)
        }
        return found
    }

    static func == (a: ByteSet, b: ByteSet) -> Bool {
        a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }

    func hash(into h: inout Hasher) {
        h.combine(words.0)
        h.combine(words.1)
        h.combine(words.2)
        h.combine(words.3)
    }
}

/// A parsed pattern, as GNU regex reads it, over bytes in the C locale. Only what a
/// finite automaton can do: no back-references, no word assertions.
indirect enum RegexNode: Equatable {
    /// Matches the empty string (an empty group, an empty alternative, `a{0}`).
    case empty
    /// One byte of the set.
    case bytes(ByteSet)
    case concat([RegexNode])
    case alternation([RegexNode])
    /// `min` to `max` repetitions; `max` nil is unbounded.
    case repetition(RegexNode, min: Int, max: Int?)
    /// `^` (and `` \` ``): holds at the start of a line.
    case lineStart
    /// `$` (and `\'`): holds at the end of a line, before its separator.
    case lineEnd

    /// The bytes of a plain string of single positions (`abc`, or `[aA][bB]` under -i),
    /// one set per position; nil for anything else.
    var literalSequence: [ByteSet]? {
        switch self {
        case .bytes(let s): return [s]
        case .concat(let parts):
            var out: [ByteSet] = []
            for part in parts {
                guard case .bytes(let s) = part else { return nil }
                out.append(s)
            }
            return out.isEmpty ? nil : out
        default: return nil
        }
    }
}
