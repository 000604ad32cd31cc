/// The line-start state's scan (the essay in LazyDFA.swift): which byte pairs it may
/// skip, found once from the first rows, and the scan that skips them.
extension LazyDFA {
    /// Fills in the rows of the line-start state and of the states one byte from it, and
    /// from them `skippable`. Leaves it nil if the cache would have to be cleared.
    func findEscapes() {
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
        // The 256 pairs ending in one byte form a row, the same for every byte of a class:
        // each class's row is made once, and copied for the class's other bytes.
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 65536 + 256)
        var rowOfClass = [Int](repeating: -1, count: stride)
        for second in 0..<256 {
            let c2 = Int(classOf[second])
            let row = table + second << 8
            if rowOfClass[c2] >= 0 {
                row.update(from: table + rowOfClass[c2] << 8, count: 256)
                continue
            }
            rowOfClass[c2] = second
            for first in 0..<256 { row[first] = byClass[Int(classOf[first]) * stride + c2] ? 1 : 0 }
        }
        // Every class holds a byte, so some pair passes when some class pair does.
        let any = byClass.contains(true)
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

    /// The first position at or after `from` that the line-start state may not skip, or
    /// the last byte: the line-start state's scan. Unsafe as `firstMatch` is, for the same
    /// reasons; `skippable` has 65,536 + 256 entries, and a pair index is below 65,536.
    @inline(__always) func skip(_ base: UnsafePointer<UInt8>, _ from: Int, _ end: Int) -> Int {
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
}
