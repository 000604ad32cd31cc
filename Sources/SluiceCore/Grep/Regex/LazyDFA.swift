import Glibc

/// A DFA built while it runs, the way GNU grep's dfa.c and ripgrep's hybrid engine run
/// one: a DFA state is a sorted set of NFA states; each transition is computed the first
/// time the search needs it and kept in a flat table, so text runs at a table lookup per
/// byte and each state is built once.
///
/// It only selects lines, over a buffer of whole lines: no match extents (`-o` asks glibc
/// about the lines already selected). The line separator is not a byte to the NFA but
/// the edge of a line: its transition from a state is MATCH when the state's pending `$`
/// holds there, and otherwise the line-start state. So the search runs over the whole
/// buffer without looking for line ends, and needs no check per byte but one: whether
/// the next entry is special (negative).
///
/// The table's entries, one `Int32` per (state, byte class):
/// - `>= 0`: the next state, as its row's offset (its number premultiplied by the
///   number of classes, so that a step is `table[state + class]`);
/// - `unknown`: not computed yet;
/// - `match`: a match ends here (the state is not kept: the line is reported, and the
///   search goes on from the next line's start);
/// - `deadLine`: nothing can match before the line ends (only the search loop is left,
///   as after `^a` fails), so the search skips to the separator with memchr.
///
/// In the line-start state, where a search spends most of its time when matches are
/// rare, the byte pairs that really leave it are looked for with a plain bitmap scan, a
/// few positions a step with no dependency between them, instead of a table lookup that
/// waits for the one before. A position can be skipped when its byte keeps the state, or
/// when the state it leads to, on the next byte, goes where the start state would (`a`
/// then `x` for `[aeiou]{3}`; `m` then `e` for `mutex|spin`): only vowel pairs stop the
/// scan for `[aeiou]{3}`, and `mu`, `sp` for the second. It pays when those are rare;
/// when a skip averages fewer than 16 bytes, the search stops trying.
///
/// Memory is bounded: rows, state sets and the index together stay within `budgetBytes`
/// (2 MiB, `defaultBudgetBytes`). When a new state would pass it, the cache is cleared
/// (the current state is kept) and the search goes on. If clearing comes too often (after
/// 3 clears, fewer than 64 bytes scanned per state built since the last, ripgrep's
/// heuristic) the DFA gives up, and the caller goes back to glibc for the pattern.
///
/// Three files: this one holds the state and the search loops; `LazyDFA+Building.swift`
/// computes transitions and keeps the state cache within its budget;
/// `LazyDFA+StartScan.swift` builds and runs the line-start state's scan. The stored
/// state is internal, not private, only so that those two extensions can reach it:
/// nothing outside the three files touches it.
final class LazyDFA {
    /// 2 MiB: what the cache may hold; counted in grep's share of the memory bound.
    static let defaultBudgetBytes = 2 << 20
    static let unknown: Int32 = -1, match: Int32 = -2, deadLine: Int32 = -3
    /// `firstMatch`'s answers besides an offset.
    static let noMatch = -1, gaveUp = -2

    let nfa: NFA
    /// The number of byte classes: a row's length.
    let stride: Int
    let separator: UInt8
    let separatorClass: Int
    let representatives: [UInt8]
    /// The class of each byte, 256 entries.
    let classOf: UnsafeMutablePointer<UInt8>
    /// Rows of `stride` entries, `capacityRows` of them allocated, `kernels.count` used;
    /// row 0 is always the line-start state.
    var table: UnsafeMutablePointer<Int32>
    var capacityRows: Int
    /// Each state's NFA states (sorted), and whether it stands at a line's start.
    var kernels: [[Int32]] = []
    var atStarts: [Bool] = []
    var index: [Key: Int32] = [:]
    let budgetBytes: Int
    /// Bytes that the rows, sets and index take now (an estimate from above), with
    /// `reservedBytes`.
    var usedBytes = 0
    /// What `skippable` takes, counted in the budget for good.
    var reservedBytes = 0
    /// How many times the cache was cleared.
    var clearCount = 0
    /// Bytes scanned and states built since the last clear, for the give-up heuristic.
    var scannedSinceClear = 0
    var builtSinceClear = 0
    /// Clearing came too often: the caller must use another matcher.
    var hasGivenUp = false
    /// The pattern matches the empty string at a line's start: every line matches.
    var matchesEveryLine = false
    /// A byte per byte pair (`first | second << 8`, 65,536 of them), then one per byte:
    /// 1 when a search in the line-start state may skip the first byte of the pair (see
    /// above), and when the byte keeps the state whatever follows. Nil when there is no
    /// scan (a pattern with `^`, where the line start differs from the middle of a line).
    var skippable: UnsafeMutablePointer<UInt8>?
    /// The one to three bytes that leave the line-start state, each repeated in a word,
    /// when there are so few (`f`, `b` for `(foo|bar)[0-9]`): the scan then looks for
    /// them eight bytes a step in a 64-bit word; empty otherwise.
    var leavers: [UInt64] = []
    /// Whether searches scan `skippable` pairs in the line-start state; off for good once
    /// skips prove short.
    var isAccelerating = false
    /// Skips made and bytes skipped, until the verdict on `isAccelerating`.
    var skips = 0
    var skippedBytes = 0
    /// Skips after which their average length decides, and the shortest average that pays.
    static let skipsBeforeVerdict = 2048
    static let minimumSkipBytes = 16
    /// Scratch for closures: a visit mark per NFA state, and a stack.
    var marks: [UInt32]
    var generation: UInt32 = 0
    var stack: [Int32] = []

    struct Key: Hashable {
        let states: [Int32]
        let atStart: Bool
    }

    /// Clears after which the give-up heuristic applies, and the bytes per state below
    /// which it gives up (regex-automata's hybrid defaults).
    static let clearsBeforeGivingUp = 3
    static let minimumBytesPerState = 64

    init(_ nfa: NFA, separator: UInt8, budgetBytes: Int = LazyDFA.defaultBudgetBytes) {
        self.nfa = nfa
        self.separator = separator
        self.budgetBytes = budgetBytes
        let classes = ByteClasses(nfa.allSets, separator: separator)
        stride = classes.count
        separatorClass = Int(classes.classOf[Int(separator)])
        representatives = classes.representatives
        classOf = .allocate(capacity: 256)
        classOf.initialize(from: classes.classOf, count: 256)
        marks = [UInt32](repeating: 0, count: nfa.count)
        capacityRows = 4
        table = .allocate(capacity: capacityRows * stride)
        let start = closure([nfa.start], atStart: true)
        if start.contains(where: { nfa.kinds[Int($0)] == .match }) {
            matchesEveryLine = true
            return
        }
        _ = addState(start, atStart: true)
        if !nfa.hasLineStart { findEscapes() }
    }

    deinit {
        classOf.deallocate()
        table.deallocate()
        skippable?.deallocate()
    }

    // MARK: Search

    /// An offset in the first line at or after `from` (a line start) in `base[..<end]`
    /// (whole lines, the last ending in the separator) that holds a match; `noMatch`
    /// when none does, `gaveUp` when the cache cleared too often (then `hasGivenUp`).
    ///
    /// The hot loop of every grep without a required literal: raw pointers and wrapping
    /// arithmetic, no bounds checks. Safe because `from <= end` are offsets into one
    /// buffer the caller holds, `state` is always a row offset below `kernels.count *
    /// stride` (entries are only ever row offsets or negative), and a class is below
    /// `stride`; `table` is reloaded after every call that may move it.
    func firstMatch(in base: UnsafePointer<UInt8>, from: Int, end: Int) -> Int {
        if matchesEveryLine { return from < end ? from : Self.noMatch }
        let classOf = self.classOf
        var table = UnsafePointer(self.table)
        var state = 0
        var i = from
        var scannedFrom = from
        // Entries at or below `special` leave the loop: with acceleration, the line-start
        // state (0) too, to scan past the pairs it may skip.
        var special: Int32 = isAccelerating ? 0 : -1
        if special == 0 { i = skip(base, i, end) }
        while true {
            var next = Int32.max
            // Four steps a round while no entry is special; a special one leaves `i` at its byte.
            while i &+ 4 <= end {
                next = table[state &+ Int(classOf[Int(base[i])])]
                if next <= special { break }
                let s1 = Int(next)
                next = table[s1 &+ Int(classOf[Int(base[i &+ 1])])]
                if next <= special { state = s1; i &+= 1; break }
                let s2 = Int(next)
                next = table[s2 &+ Int(classOf[Int(base[i &+ 2])])]
                if next <= special { state = s2; i &+= 2; break }
                let s3 = Int(next)
                next = table[s3 &+ Int(classOf[Int(base[i &+ 3])])]
                if next <= special { state = s3; i &+= 3; break }
                state = Int(next)
                i &+= 4
            }
            if next > special {
                while i < end {
                    next = table[state &+ Int(classOf[Int(base[i])])]
                    if next <= special { break }
                    state = Int(next)
                    i &+= 1
                }
                if i >= end { return Self.noMatch }
            }
            switch next {
            case 0:
                state = 0
                i = skip(base, i &+ 1, end)
                if !isAccelerating { special = -1 }
            case Self.match:
                return i
            case Self.deadLine:
                guard let at = memchr(base + i, Int32(separator), end &- i) else { return Self.noMatch }
                i = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(at)) &+ 1
                state = 0
            default:
                scannedSinceClear &+= i &- scannedFrom
                scannedFrom = i
                guard computeTransition(&state, Int(classOf[Int(base[i])])) else { return Self.gaveUp }
                table = UnsafePointer(self.table)
            }
        }
    }


    /// Whether the line at `line` (`count` bytes, without its separator) matches; nil when
    /// the cache cleared too often (then `hasGivenUp`).
    func matches(line: UnsafePointer<UInt8>, count: Int) -> Bool? {
        if matchesEveryLine { return true }
        var state = 0
        var i = 0
        scannedSinceClear &+= count
        while true {
            let c = i < count ? Int(classOf[Int(line[i])]) : separatorClass
            var next = table[state &+ c]
            if next == Self.unknown {
                guard computeTransition(&state, c) else { return nil }
                next = table[state &+ c]
            }
            if next == Self.match { return true }
            if next == Self.deadLine || i == count { return false }
            state = Int(next)
            i &+= 1
        }
    }

    /// States in the cache now, for tests.
    var stateCount: Int { kernels.count }
}
