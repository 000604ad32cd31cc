import Synchronization

/// What one thread of the pipeline is doing right now.
public enum NodeState: UInt8, Sendable {
    /// Running its own code (a stage transforming, the reader in read(2), the writer in write(2)).
    case working = 0
    /// Waiting for input from upstream.
    case starved = 1
    /// Waiting for room downstream: backpressure.
    case blocked = 2
    /// Done.
    case finished = 3
    /// Sleeping on purpose to keep a rate (`throttle`): neither its own work nor waiting
    /// on a neighbour, so counted apart from both.
    case pacing = 4
}

/// Counters of one node (the reader, a stage or the writer), written by that node's
/// thread and read by the progress display and the stats report. Every field is an
/// atomic, so readers on other threads see consistent values without a lock.
public final class NodeStats: Sendable {
    /// The stage's name (`gzip`), or `stdin`, `stdout`.
    public let name: String
    /// The name that tells it from a stage of the same name (`gzip#2`, `exec jq`).
    public let label: String
    /// Bytes received from upstream (for the reader: bytes read from stdin).
    public let bytesIn = Atomic<Int>(0)
    /// Bytes passed downstream (for the writer: bytes written to stdout).
    public let bytesOut = Atomic<Int>(0)
    /// Total nanoseconds spent waiting for input, finished waits only.
    public let starvedNanos = Atomic<UInt64>(0)
    /// Total nanoseconds spent waiting for room downstream, finished waits only.
    public let blockedNanos = Atomic<UInt64>(0)
    /// Total nanoseconds spent pacing, finished pauses only.
    public let pacingNanos = Atomic<UInt64>(0)
    /// The current `NodeState` raw value.
    public let stateRaw = Atomic<UInt8>(NodeState.working.rawValue)
    /// Monotonic time the current state began.
    public let stateSinceNanos = Atomic<UInt64>(0)
    /// Monotonic time the node started, and finished (0 while running).
    public let startNanos = Atomic<UInt64>(0)
    public let endNanos = Atomic<UInt64>(0)

    /// Counters a stage adds to its report (gzip --adapt: input bytes per level).
    public let counters = StageCounters()
    /// Told, on the node's thread, of each wait it begins (with the wait's state, already
    /// stored): how a test harness learns that a thread is stuck without polling. Nil in
    /// a run. It may be called with a channel's lock held: it must take no channel's lock.
    public let onWait: (@Sendable (NodeState) -> Void)?

    public init(name: String, label: String? = nil, onWait: (@Sendable (NodeState) -> Void)? = nil) {
        self.name = name
        self.label = label ?? name
        self.onWait = onWait
    }

    public var state: NodeState { NodeState(rawValue: stateRaw.load(ordering: .relaxed)) ?? .working }

    /// Marks the thread as started, now.
    public func begin(at now: UInt64 = monotonicNanos()) {
        startNanos.store(now, ordering: .relaxed)
        stateSinceNanos.store(now, ordering: .relaxed)
        stateRaw.store(NodeState.working.rawValue, ordering: .relaxed)
    }

    /// Marks the thread as done, now.
    public func end(at now: UInt64 = monotonicNanos()) {
        endNanos.store(now, ordering: .relaxed)
        stateSinceNanos.store(now, ordering: .relaxed)
        stateRaw.store(NodeState.finished.rawValue, ordering: .relaxed)
    }

    /// Enters a wait state; returns the instant, to hand back to `endWait`.
    @inline(__always) func beginWait(_ state: NodeState) -> UInt64 {
        let now = monotonicNanos()
        stateSinceNanos.store(now, ordering: .relaxed)
        stateRaw.store(state.rawValue, ordering: .relaxed)
        onWait?(state)
        return now
    }

    /// Leaves a wait state begun at `since`, charging the time to it.
    @inline(__always) func endWait(_ state: NodeState, since: UInt64) {
        let now = monotonicNanos()
        let spent = now &- since
        switch state {
        case .starved: starvedNanos.add(spent, ordering: .relaxed)
        case .pacing: pacingNanos.add(spent, ordering: .relaxed)
        default: blockedNanos.add(spent, ordering: .relaxed)
        }
        stateSinceNanos.store(now, ordering: .relaxed)
        stateRaw.store(NodeState.working.rawValue, ordering: .relaxed)
    }

    /// A consistent-enough reading for display: the wait under way is included.
    public func snapshot(at now: UInt64 = monotonicNanos()) -> NodeSnapshot {
        let start = startNanos.load(ordering: .relaxed)
        let end = endNanos.load(ordering: .relaxed)
        var starved = starvedNanos.load(ordering: .relaxed)
        var blocked = blockedNanos.load(ordering: .relaxed)
        var pacing = pacingNanos.load(ordering: .relaxed)
        let current = state
        let since = stateSinceNanos.load(ordering: .relaxed)
        if since <= now {
            if current == .starved { starved &+= now - since }
            if current == .blocked { blocked &+= now - since }
            if current == .pacing { pacing &+= now - since }
        }
        let stop = end != 0 ? end : now
        let wall = start == 0 || stop < start ? 0 : stop - start
        return NodeSnapshot(
            bytesIn: bytesIn.load(ordering: .relaxed),
            bytesOut: bytesOut.load(ordering: .relaxed),
            wallNanos: wall, starvedNanos: min(starved, wall), blockedNanos: min(blocked, wall),
            pacingNanos: min(pacing, wall), state: current)
    }
}

/// A reading of `NodeStats` at one instant.
public struct NodeSnapshot: Sendable, Equatable {
    public var bytesIn: Int
    public var bytesOut: Int
    /// Time since the node started (until it finished).
    public var wallNanos: UInt64
    public var starvedNanos: UInt64
    public var blockedNanos: UInt64
    public var pacingNanos: UInt64
    public var state: NodeState

    public init(bytesIn: Int = 0, bytesOut: Int = 0, wallNanos: UInt64, starvedNanos: UInt64 = 0,
                blockedNanos: UInt64 = 0, pacingNanos: UInt64 = 0, state: NodeState = .working) {
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.wallNanos = wallNanos
        self.starvedNanos = starvedNanos
        self.blockedNanos = blockedNanos
        self.pacingNanos = pacingNanos
        self.state = state
    }

    /// Time spent doing its own work: neither starved, blocked nor pacing.
    public var busyNanos: UInt64 {
        let waited = starvedNanos &+ blockedNanos &+ pacingNanos
        return wallNanos > waited ? wallNanos - waited : 0
    }

    /// Time the node held the chain back by itself: its own work, and its pacing.
    public var limitingNanos: UInt64 { busyNanos &+ pacingNanos }
}

/// Named counters a stage keeps for its report, beyond what every node has: gzip's input
/// bytes at each compression level (`level_bytes`) and its current level. Written by the
/// stage's thread, read by the report and the progress display.
public final class StageCounters: @unchecked Sendable {
    /// Protects `values`.
    private let lock = Lock()
    private var values: [String: Int] = [:]

    public func add(_ amount: Int, to key: String) { lock.withLock { values[key, default: 0] += amount } }
    public func set(_ value: Int, for key: String) { lock.withLock { values[key] = value } }
    public var snapshot: [String: Int] { lock.withLock { values } }
}
