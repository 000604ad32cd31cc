/// The builder: transitions computed on demand, and the state cache they fill, kept
/// within `budgetBytes` by clearing it (or giving up), as the essay in LazyDFA.swift says.
extension LazyDFA {
    /// Fills in `table[state + byteClass]`; `state` moves if the cache was cleared. False
    /// when the DFA gives up.
    func computeTransition(_ state: inout Int, _ byteClass: Int) -> Bool {
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
    func addState(_ kernel: [Int32], atStart: Bool) -> Int32? {
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
    func closure(_ seeds: [Int32], atStart: Bool) -> [Int32] {
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
}
