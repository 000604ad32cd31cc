/// Which node limits the throughput of the whole chain.
///
/// A node limits the chain when it is busy doing its own work while the nodes before it
/// wait for room (blocked on output) and the nodes after it wait for data (starved). The
/// node busy for the largest share of the window is the one the others wait on: a slow
/// consumer keeps the writer in write(2) (`stdout`), a slow producer keeps the reader in
/// read(2) (`stdin`), a CPU-bound stage keeps its own thread busy (`gzip`).
public enum Bottleneck {
    /// The limiting node over a window, given readings at its start and end (or the whole
    /// run, with `before` all zero). Nil when nothing ran long enough to tell.
    public static func name(of after: [NodeSnapshot], before: [NodeSnapshot]? = nil, names: [String]) -> String? {
        var best: (index: Int, busy: UInt64)?
        for i in after.indices {
            let busy = after[i].busyNanos &- (before?[i].busyNanos ?? 0)
            if best == nil || busy > best!.busy { best = (i, busy) }
        }
        guard let best, best.busy > 0 else { return nil }
        return names[best.index]
    }
}
