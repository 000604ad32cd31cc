/// A Thompson NFA over bytes, compiled from a `RegexNode`, for `LazyDFA`: the states a
/// match can be in, linked by byte sets and empty moves, with GNU grep's two line
/// anchors as conditions on empty moves.
///
/// It searches, not matches: in front of the pattern sits a loop over any byte
/// (`prefix`), so that a match may start anywhere in a line. The automaton never sees
/// the line separator as a byte: `LazyDFA` treats it as the line's edge.
///
/// An alternation of plain strings (`foo|bar`, `-F -f words`) is compiled as a trie,
/// one state per prefix, whose moves are sparse: a DFA over it is Aho–Corasick, and its
/// states hold few NFA states where a state per word would put every word's first byte
/// in each.
struct NFA {
    enum Kind: UInt8 {
        /// One byte of `sets[second]`, then `first`.
        case bytes
        /// One byte, then the target of the first of `sparse[second]` whose set holds it
        /// (a trie node; the sets are disjoint).
        case sparse
        /// Both `first` and `second`, consuming nothing.
        case split
        /// `first`, at the start of a line only.
        case lineStart
        /// `first`, at the end of a line only.
        case lineEnd
        case match
    }

    private(set) var kinds: [Kind] = []
    private(set) var first: [Int32] = []
    private(set) var second: [Int32] = []
    private(set) var sets: [ByteSet] = []
    private(set) var sparse: [[(set: ByteSet, next: Int32)]] = []
    /// Where a search starts: the loop over any byte, and the pattern.
    private(set) var start: Int32 = 0
    /// The loop's own state, which alone in a DFA state means no match is possible
    /// until the next line.
    private(set) var prefix: Int32 = 0
    /// Some `^` in the pattern: the start of a line differs from the middle.
    private(set) var hasLineStart = false

    /// The most states compiled before giving the pattern back to glibc (each costs about
    /// 13 bytes here and a slot in every DFA state's work; `x{1,32767}` would take more).
    static let maxStates = 60_000

    struct TooLarge: Error {}

    var count: Int { kinds.count }

    /// `tree` compiled, or nil when it needs more than `maxStates` states.
    init?(_ tree: RegexNode) {
        do {
            let match = add(.match, 0, 0)
            let body = try compile(tree, then: match)
            let loop = add(.split, 0, body)
            prefix = add(.bytes, loop, addSet(.all))
            first[Int(loop)] = prefix
            start = loop
        } catch {
            return nil
        }
    }

    private mutating func add(_ kind: Kind, _ a: Int32, _ b: Int32) -> Int32 {
        kinds.append(kind)
        first.append(a)
        second.append(b)
        return Int32(kinds.count - 1)
    }

    private mutating func addSet(_ s: ByteSet) -> Int32 {
        sets.append(s)
        return Int32(sets.count - 1)
    }

    /// Compiles `node` so that a match of it goes on to `then`; returns its entry.
    private mutating func compile(_ node: RegexNode, then: Int32) throws(TooLarge) -> Int32 {
        if kinds.count > Self.maxStates { throw TooLarge() }
        switch node {
        case .empty:
            return then
        case .bytes(let s):
            return add(.bytes, then, addSet(s))
        case .concat(let parts):
            var next = then
            for part in parts.reversed() { next = try compile(part, then: next) }
            return next
        case .alternation(let branches):
            let strings = branches.compactMap(\.literalSequence)
            if strings.count == branches.count && strings.count > 1 { return compileTrie(strings, then: then) }
            var entry = try compile(branches[branches.count - 1], then: then)
            for branch in branches.dropLast().reversed() {
                entry = add(.split, try compile(branch, then: then), entry)
            }
            return entry
        case .repetition(let body, let low, let high):
            var next = then
            if let high {
                for _ in 0..<(high - low) {
                    next = add(.split, try compile(body, then: next), then)
                }
            } else {
                let loop = add(.split, 0, then)
                first[Int(loop)] = try compile(body, then: loop)
                next = loop
            }
            for _ in 0..<low { next = try compile(body, then: next) }
            return next
        case .lineStart:
            hasLineStart = true
            return add(.lineStart, then, 0)
        case .lineEnd:
            return add(.lineEnd, then, 0)
        }
    }

    /// A trie of `strings` (each a sequence of byte sets), ending in `then`.
    private mutating func compileTrie(_ strings: [[ByteSet]], then: Int32) -> Int32 {
        final class Node {
            var children: [(set: ByteSet, node: Node)] = []
            var isEnd = false
        }
        let root = Node()
        for s in strings {
            var node = root
            for set in s {
                if let child = node.children.first(where: { $0.set == set }) {
                    node = child.node
                } else {
                    let child = Node()
                    node.children.append((set, child))
                    node = child
                }
            }
            node.isEnd = true
        }
        // Sets of siblings must not overlap for a `sparse` state; where they do (`[ab]c|a`),
        // an alternation of the branches keeps the NFA exact.
        func emit(_ node: Node) -> Int32 {
            if node.children.isEmpty { return then }
            var seen = ByteSet()
            var disjoint = true
            for child in node.children {
                if seen.intersects(child.set) { disjoint = false }
                seen.formUnion(child.set)
            }
            var moves: [(set: ByteSet, next: Int32)] = []
            for child in node.children { moves.append((child.set, emit(child.node))) }
            let state: Int32
            if disjoint {
                sparse.append(moves)
                state = add(.sparse, 0, Int32(sparse.count - 1))
            } else {
                var entry = add(.bytes, moves[moves.count - 1].next, addSet(moves[moves.count - 1].set))
                for move in moves.dropLast().reversed() {
                    entry = add(.split, add(.bytes, move.next, addSet(move.set)), entry)
                }
                state = entry
            }
            return node.isEnd ? add(.split, state, then) : state
        }
        return emit(root)
    }

    /// Every byte set the NFA tests, for the byte classes.
    var allSets: [ByteSet] {
        sets + sparse.flatMap { $0.map(\.set) }
    }

    /// Whether state `s` (a `bytes` or `sparse` state) moves on `byte`, and where to.
    @inline(__always) func target(_ s: Int32, on byte: UInt8) -> Int32? {
        let i = Int(s)
        if kinds[i] == .bytes { return sets[Int(second[i])].contains(byte) ? first[i] : nil }
        for move in sparse[Int(second[i])] where move.set.contains(byte) { return move.next }
        return nil
    }
}

/// Byte equivalence classes: bytes that no set of the NFA tells apart share a class, so a
/// DFA row has one entry per class, not 256. The separator is a class of its own.
struct ByteClasses {
    /// The class of each byte, 256 entries.
    let classOf: [UInt8]
    /// A byte of each class.
    let representatives: [UInt8]
    var count: Int { representatives.count }

    init(_ sets: [ByteSet], separator: UInt8) {
        var classOf = [UInt8](repeating: 0, count: 256)
        var count = 1
        var distinct = Set(sets)
        distinct.insert(ByteSet(separator))
        // Refine: each set splits every class into the bytes in it and the bytes not.
        // Old class * 2 + in-set -> new class, or -1: an array, not a dictionary, as this
        // runs for every set of every pattern at startup.
        var split = [Int16](repeating: -1, count: 512)
        for set in distinct {
            for k in 0..<(2 * count) { split[k] = -1 }
            var next: Int16 = 0
            for b in 0...255 {
                let key = Int(classOf[b]) * 2 + (set.contains(UInt8(b)) ? 1 : 0)
                if split[key] < 0 {
                    split[key] = next
                    next += 1
                }
                classOf[b] = UInt8(split[key])
            }
            count = Int(next)
        }
        var representatives = [UInt8](repeating: 0, count: count)
        for b in (0...255).reversed() { representatives[Int(classOf[b])] = UInt8(b) }
        self.classOf = classOf
        self.representatives = representatives
    }
}
