/// Which node limits the throughput of the whole chain.
///
/// A node limits the chain when it is busy doing its own work while the nodes before it
/// wait for room (blocked on output) and the nodes after it wait for data (starved). The
/// node busy for the largest share of the window is the one the others wait on: a slow
/// consumer keeps the writer in write(2) (`stdout`), a slow producer keeps the reader in
/// read(2) (`stdin`), a CPU-bound stage keeps its own thread busy (`gzip`).
///
/// A `throttle` that sleeps to keep its rate does no work, yet holds the chain back just
/// as a slow stage does: its pacing counts towards the limit with its work. When pacing is
/// most of it, the bottleneck says so (`throttle (pacing)`): the limit is the rate asked
/// for, not a stage to make faster.
public struct Bottleneck: Sendable, Equatable {
    /// The node's position: 0 is stdin, the last is stdout.
    public var index: Int
    /// The node spent more of the window pacing than working.
    public var isPacing: Bool

    public init(index: Int, isPacing: Bool = false) {
        self.index = index
        self.isPacing = isPacing
    }

    /// 10 ms: below this much work and pacing, summed over every node, a window tells
    /// nothing. `echo hi | sluice cat` works for tens of microseconds in all, where a
    /// thread's start, a page fault or the scheduler weigh as much as the work itself; on
    /// a loaded machine one preemption (a few ms of a time slice) lands in whichever
    /// node was running, and CI once saw `stdin` busy 2 ms reading 3 bytes.
    public static let measurableNanos: UInt64 = 10_000_000

    /// The limiting node over a window, given readings at its start and end (or the whole
    /// run, with `before` nil). Nil when nothing ran long enough to tell: the nodes'
    /// work and pacing in the window add up to less than `measurableNanos`.
    public static func find(after: [NodeSnapshot], before: [NodeSnapshot]? = nil) -> Bottleneck? {
        func since(_ a: UInt64, _ b: UInt64?) -> UInt64 { a > (b ?? 0) ? a - (b ?? 0) : 0 }
        var best: (index: Int, limiting: UInt64, pacing: UInt64)?
        var total: UInt64 = 0
        for i in after.indices {
            let limiting = since(after[i].limitingNanos, before?[i].limitingNanos)
            let pacing = since(after[i].pacingNanos, before?[i].pacingNanos)
            total &+= limiting
            if best == nil || limiting > best!.limiting { best = (i, limiting, pacing) }
        }
        guard let best, best.limiting > 0, total >= measurableNanos else { return nil }
        return Bottleneck(index: best.index, isPacing: 2 * best.pacing > best.limiting)
    }

    /// What the user reads: the node's label, and `(pacing)` when it was pacing.
    public func text(labels: [String]) -> String {
        labels[index] + (isPacing ? " (pacing)" : "")
    }
}
