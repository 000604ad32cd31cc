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
/// 3 clears, fewer than 10 bytes scanned per state built since the last, ripgrep's
/// heuristic) the DFA gives up, and the caller goes back to glibc for the pattern.
final class LazyDFA {
    /// 2 MiB: what the cache may hold; counted in grep's share of the memory bound.
    static let defaultBudgetBytes = 2 << 20
    static let unknown: Int32 = -1, match: Int32 = -2, deadLine: Int32 = -3
    /// `firstMatch`'s answers besides an offset.
    static let noMatch = -1, gaveUp = -2

    private let nfa: NFA
    /// The number of byte classes: a row's length.
    private let stride: Int
    private let separator: UInt8
    private let separatorClass: Int
    private let representatives: [UInt8]
    /// The class of each byte, 256 entries.
    private let classOf: UnsafeMutablePointer<UInt8>
    /// Rows of `stride` entries, `capacityRows` of them allocated, `kernels.count` used;
    /// row 0 is always the line-start state.
    private var table: UnsafeMutablePointer<Int32>
    private var capacityRows: Int
    /// Each state's NFA states (sorted), and whether it stands at a line's start.
    private var kernels: [[Int32]] = []
    private var atStarts: [Bool] = []
    private var index: [Key: Int32] = [:]
    private let budgetBytes: Int
    /// Bytes that the rows, sets and index take now (an estimate from above), with
    /// `reservedBytes`.
    private var usedBytes = 0
    /// What `skippable` takes, counted in the budget for good.
    private var reservedBytes = 0
    /// How many times the cache was cleared.
    private(set) var clearCount = 0
    /// Bytes scanned and states built since the last clear, for the give-up heuristic.
    private var scannedSinceClear = 0
    private var builtSinceClear = 0
    /// Clearing came too often: the caller must use another matcher.
    private(set) var hasGivenUp = false
    /// The pattern matches the empty string at a line's start: every line matches.
    private(set) var matchesEveryLine = false
    /// A byte per byte pair (`first | second << 8`, 65,536 of them), then one per byte:
    /// 1 when a search in the line-start state may skip the first byte of the pair (see
    /// above), and when the byte keeps the state whatever follows. Nil when there is no
    /// scan (a pattern with `^`, where the line start differs from the middle of a line).
    private var skippable: UnsafeMutablePointer<UInt8>?
    /// The one to three bytes that leave the line-start state, each repeated in a word,
    /// when there are so few (`f`, `b` for `(foo|bar)[0-9]`): the scan then looks for
    /// them eight bytes a step in a 64-bit word; empty otherwise.
    private var leavers: [UInt64] = []
    /// Whether searches scan `skippable` pairs in the line-start state; off for good once
    /// skips prove short.
    private var isAccelerating = false
    /// Skips made and bytes skipped, until the verdict on `isAccelerating`.
    private var skips = 0
    private var skippedBytes = 0
    /// Skips after which their average length decides, and the shortest average that pays.
    private static let skipsBeforeVerdict = 2048
    private static let minimumSkipBytes = 16
    /// Scratch for closures: a visit mark per NFA state, and a stack.
    private var marks: [UInt32]
    private var generation: UInt32 = 0
    private var stack: [Int32] = []

    private struct Key: Hashable {
        let states: [Int32]
        let atStart: Bool
    }

    /// Clears after which the give-up heuristic applies, and the bytes per state below
    /// which it gives up (regex-automata's hybrid defaults).
    private static let clearsBeforeGivingUp = 3
    private static let minimumBytesPerState = 64

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

    /// Fills in the rows of the line-start state and of the states one byte from it, and
    /// from them `skippable`. Leaves it nil if the cache would have to be cleared.
    private func findEscapes() {
        // The scan's table takes 64 KiB of the budget; not worth it in a small one (tests).
        let tableBytes = 65536 + 256
        guard budgetBytes >= 8 * tableBytes else { return }
        reservedBytes = tableBytes
        usedBytes += tableBytes
        var state = 0
        for c in 0..<stride {
            guard computeTransition(&state, c), state == 0 else { return }
        }
        for c in 0..<stride where table[c] > 0 {
            let first = Int(table[c])
            var next = first
            for c2 in 0..<stride {
                guard computeTransition(&next, c2), next == first, clearCount == 0 else { return }
            }
        }
        // In classes first, then per byte pair.
        var byClass = [Bool](repeating: false, count: stride * stride)
        for c in 0..<stride {
            let t = table[c]
            for c2 in 0..<stride { byClass[c * stride + c2] = t == 0 || (t > 0 && table[Int(t) + c2] == table[c2]) }
        }
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 65536 + 256)
        var any = false
        for pair in 0..<65536 {
            let passes = byClass[Int(classOf[pair & 255]) * stride + Int(classOf[pair >> 8])]
            table[pair] = passes ? 1 : 0
            any = any || passes
        }
        for b in 0..<256 { table[65536 + b] = self.table[Int(classOf[b])] == 0 ? 1 : 0 }
        skippable = table
        isAccelerating = any
        let leaving = (0..<256).filter { table[65536 + $0] == 0 }.map(UInt8.init)
        if (1...3).contains(leaving.count) {
            // Repeated in each byte of a word; a third missing repeats the first.
            leavers = leaving.map { UInt64($0) &* 0x0101_0101_0101_0101 }
            while leavers.count < 3 { leavers.append(leavers[0]) }
        }
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

    /// The first position at or after `from` that the line-start state may not skip, or
    /// the last byte: the line-start state's scan. Unsafe as `firstMatch` is, for the same
    /// reasons; `skippable` has 65,536 + 256 entries, and a pair index is below 65,536.
    @inline(__always) private func skip(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
        guard let pairs = skippable else { return from }
        let stays = pairs + 65536
        var i = from
        if leavers.count == 3 {
            i = skipToLeavers(base, from, end, pairs, stays)
        } else {
            i = skipByTable(base, from, end, pairs, stays)
        }
        if skips < Self.skipsBeforeVerdict {
            skips &+= 1
            skippedBytes &+= i &- from
            if skips == Self.skipsBeforeVerdict && skippedBytes < Self.minimumSkipBytes * skips { isAccelerating = false }
        }
        return i
    }

    /// `skip` by the tables alone.
    @inline(__always) private func skipByTable(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int,
                                               _ pairs: UnsafePointer<UInt8>, _ stays: UnsafePointer<UInt8>) -> Int {
        var i = from
        while true {
            // Eight bytes a step while each keeps the state; then up to eight one by one.
            while i &+ 9 <= end && stays[Int(base[i])] & stays[Int(base[i &+ 1])] & stays[Int(base[i &+ 2])]
                    & stays[Int(base[i &+ 3])] & stays[Int(base[i &+ 4])] & stays[Int(base[i &+ 5])]
                    & stays[Int(base[i &+ 6])] & stays[Int(base[i &+ 7])] != 0 {
                i &+= 8
            }
            let stop = min(i &+ 8, end &- 1)
            while i < stop && pairs[Int(base[i]) | Int(base[i &+ 1]) &<< 8] != 0 { i &+= 1 }
            if i < stop || i >= end &- 1 { break }
        }
        return i
    }

    /// `skip` when `leavers` holds the few bytes that leave the state: a word's bytes XOR a
    /// leaver repeated are zero where they match, and `(x - 0x01..) & ~x & 0x80..` marks
    /// the lowest zero byte exactly (FixedSearcher's pair scan uses the same). Each byte
    /// found is checked against `pairs` as in `skipByTable`. Unsafe as `firstMatch`; each
    /// 8-byte load ends by `end`.
    @inline(__always) private func skipToLeavers(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int,
                                                 _ pairs: UnsafePointer<UInt8>, _ stays: UnsafePointer<UInt8>) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let (r0, r1, r2) = (leavers[0], leavers[1], leavers[2])
        let raw = UnsafeRawPointer(base)
        var i = from
        while true {
            var found = -1
            while i &+ 8 <= end {
                let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let x0 = w ^ r0, x1 = w ^ r1, x2 = w ^ r2
                let marks = (((x0 &- ones) & ~x0) | ((x1 &- ones) & ~x1) | ((x2 &- ones) & ~x2)) & highs
                if marks != 0 {
                    found = i &+ (marks.trailingZeroBitCount &>> 3)
                    break
                }
                i &+= 8
            }
            if found < 0 {
                while i < end && stays[Int(base[i])] != 0 { i &+= 1 }
                found = i
            }
            i = found
            if i >= end &- 1 || pairs[Int(base[i]) | Int(base[i &+ 1]) &<< 8] == 0 { return i }
            i &+= 1
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

    // MARK: Building

    /// Fills in `table[state + byteClass]`; `state` moves if the cache was cleared. False
    /// when the DFA gives up.
    private func computeTransition(_ state: inout Int, _ byteClass: Int) -> Bool {
        let row = state / stride
        let entry: Int32
        if byteClass == separatorClass {
            entry = matchesAtLineEnd(row) ? Self.match : 0
        } else {
            let byte = representatives[byteClass]
            var seeds: [Int32] = []
            for s in kernels[row] {
                let kind = nfa.kinds[Int(s)]
                if kind == .bytes || kind == .sparse, let t = nfa.target(s, on: byte) { seeds.append(t) }
            }
            let kernel = closure(seeds, atStart: false)
            if kernel.contains(where: { nfa.kinds[Int($0)] == .match }) {
                entry = Self.match
            } else if kernel.count == 1 && kernel[0] == nfa.prefix {
                entry = Self.deadLine
            } else if let known = index[Key(states: kernel, atStart: false)] {
                entry = known
            } else {
                if usedBytes + cost(kernel) > budgetBytes {
                    guard let moved = clear(keeping: row) else { return false }
                    state = moved
                }
                guard let added = addState(kernel, atStart: false) else { return false }
                entry = added
            }
        }
        table[state + byteClass] = entry
        return true
    }

    /// What a state costs: its row, its set (kept once, shared by the index's key) and
    /// about 96 bytes of array and index bookkeeping.
    private func cost(_ kernel: [Int32]) -> Int {
        stride * 4 + kernel.count * 4 + 96
    }

    /// Adds a state; returns its row offset, or nil when even an empty cache cannot hold it.
    private func addState(_ kernel: [Int32], atStart: Bool) -> Int32? {
        let c = cost(kernel)
        guard usedBytes + c <= budgetBytes else { hasGivenUp = true; return nil }
        let row = kernels.count
        if row == capacityRows {
            let rows = capacityRows * 2
            let grown = UnsafeMutablePointer<Int32>.allocate(capacity: rows * stride)
            grown.moveInitialize(from: table, count: row * stride)
            table.deallocate()
            table = grown
            capacityRows = rows
        }
        (table + row * stride).initialize(repeating: Self.unknown, count: stride)
        kernels.append(kernel)
        atStarts.append(atStart)
        let offset = Int32(row * stride)
        index[Key(states: kernel, atStart: atStart && nfa.hasLineStart)] = offset
        usedBytes += c
        builtSinceClear += 1
        return offset
    }

    /// Empties the cache but for the line-start state and the state at `row`, whose new
    /// offset it returns; nil when the DFA gives up instead.
    private func clear(keeping row: Int) -> Int? {
        clearCount += 1
        if clearCount > Self.clearsBeforeGivingUp
            && scannedSinceClear < Self.minimumBytesPerState * builtSinceClear {
            hasGivenUp = true
            return nil
        }
        scannedSinceClear = 0
        builtSinceClear = 0
        let kept = (kernels[row], atStarts[row])
        let start = (kernels[0], atStarts[0])
        kernels.removeAll(keepingCapacity: true)
        atStarts.removeAll(keepingCapacity: true)
        index.removeAll(keepingCapacity: true)
        usedBytes = reservedBytes
        guard addState(start.0, atStart: start.1) != nil else { return nil }
        if row == 0 { return 0 }
        guard let moved = addState(kept.0, atStart: kept.1) else { return nil }
        return Int(moved)
    }

    /// The NFA states reachable from `seeds` without consuming a byte, `^` holding only
    /// when `atStart`: those that consume a byte, wait for `$`, or match. Sorted.
    private func closure(_ seeds: [Int32], atStart: Bool) -> [Int32] {
        nextGeneration()
        var kernel: [Int32] = []
        stack.removeAll(keepingCapacity: true)
        stack.append(contentsOf: seeds.reversed())
        while let s = stack.popLast() {
            let i = Int(s)
            if marks[i] == generation { continue }
            marks[i] = generation
            switch nfa.kinds[i] {
            case .bytes, .sparse, .lineEnd, .match:
                kernel.append(s)
            case .split:
                stack.append(nfa.second[i])
                stack.append(nfa.first[i])
            case .lineStart:
                if atStart { stack.append(nfa.first[i]) }
            }
        }
        kernel.sort()
        return kernel
    }

    /// Whether the state at `row` matches at the end of a line: its `$` states hold there,
    /// and so does `^` if the line is empty so far.
    private func matchesAtLineEnd(_ row: Int) -> Bool {
        nextGeneration()
        let atStart = atStarts[row]
        stack.removeAll(keepingCapacity: true)
        for s in kernels[row] where nfa.kinds[Int(s)] == .lineEnd { stack.append(s) }
        while let s = stack.popLast() {
            let i = Int(s)
            if marks[i] == generation { continue }
            marks[i] = generation
            switch nfa.kinds[i] {
            case .match: return true
            case .split:
                stack.append(nfa.first[i])
                stack.append(nfa.second[i])
            case .lineEnd: stack.append(nfa.first[i])
            case .lineStart: if atStart { stack.append(nfa.first[i]) }
            case .bytes, .sparse: break
            }
        }
        return false
    }

    private func nextGeneration() {
        if generation == UInt32.max {
            for i in marks.indices { marks[i] = 0 }
            generation = 0
        }
        generation += 1
    }

    /// States in the cache now, for tests.
    var stateCount: Int { kernels.count }
}
