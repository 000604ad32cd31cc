/// Which decoder reads each member of a gzip stream: gunzip's routing, as a value with
/// no threads that the stage asks before every step and obeys (`GunzipStage.perform`).
///
/// Two routes today:
/// - sequential: the `MemberDecoder` on the stage's thread, which reads any member and
///   names every error. With one thread every member goes this way, and so does all
///   that follows once the pool was abandoned (a member it could not vouch for).
/// - pool: the `ParallelInflater`, for a member whose header gives its size (BGZF's `BC`
///   subfield). Its bytes are collected into the job being filled, and the decoder
///   skips them.
///
/// A member's route is decided at its first bytes, by `BGZF.locate`: read in place when
/// they are in the chunk at hand, else held here (`head`, at most `maxHeadBytes`) until
/// they tell. A member without its size never enters a job; its held bytes, if any, go
/// to the decoder. (The parallel gunzip of ordinary members adds a third route at this
/// very point: a member `locate` finds `.unknown` is where it would start.)
///
/// Order: the two routes' outputs never overlap. The decoder reads no byte while
/// members are in the pool (`.drain` first), except for the step from a member's end to
/// the next one's first byte, which reads nothing; and the pool's output is written only
/// once the decoder's is settled (`mustSettle`).
struct MemberRouter {
    /// What the stage does next; `next` says which.
    enum Action: Equatable {
        /// The decoder takes one step from the input, and says how many bytes it took.
        case decode
        /// Write out every member in the pool, waiting for it; then ask again.
        case drain
        /// The decoder reads a member from its first byte: the pool's last output goes out
        /// first (flushed), then the decoder reads the held bytes (`takeHead`), then takes
        /// one step from the input.
        case startMember
        /// `count` bytes of the input were held: the member's first bytes do not tell yet.
        case hold(count: Int)
        /// The member, `bytes` long, goes to the pool: begin it in the job being filled
        /// with the held bytes (`takeHead`); then ask again.
        case beginMember(bytes: Int)
        /// The next `count` bytes of the input are the member's; with them it is whole if
        /// `ends`.
        case collect(count: Int, ends: Bool)
        /// Input ended inside a member being collected: the decoder reads the filling
        /// job from its first member on, and finds where it is cut short.
        case replay
    }

    /// Where the decoder stands, for `next`.
    enum DecoderPosition: Equatable {
        /// At a member's first byte, nothing of it read.
        case memberStart
        /// Right after a whole member: the next byte says what follows.
        case betweenMembers
        /// Anywhere else: in a member, in padding or in ignored garbage.
        case inside
    }

    enum State: Equatable {
        /// Members go to the decoder unless their first bytes send them to the pool.
        case routing
        /// A member is being collected for the pool: `left` bytes of it to come.
        case collecting(left: Int)
        /// Every byte goes to the decoder: one thread, or the pool was abandoned.
        case sequentialOnly
    }

    /// 1 KiB: the most of a member's first bytes held across chunks. A BGZF header is 18
    /// bytes; a member whose header needs more to be located goes to the decoder (so
    /// this bound, not a header's XLEN of up to 64 KiB, is what peeking holds).
    static let maxHeadBytes = 1024

    private(set) var state: State
    /// A member's first bytes, held while its route is undecided.
    private(set) var head: [UInt8] = []
    /// The decoder's output (its `emittedBytes`) up to here is known to be forwarded.
    private var settledBytes = 0

    init(threads: Int) {
        state = threads > 1 ? .routing : .sequentialOnly
    }

    /// The next action for `bytes`, the input from the decoder's position on (never empty).
    mutating func next(_ bytes: UnsafeRawBufferPointer, decoder: DecoderPosition, poolIsIdle: Bool) -> Action {
        switch state {
        case .sequentialOnly:
            return head.isEmpty ? .decode : .startMember
        case .collecting(let left):
            let count = min(left, bytes.count)
            state = count == left ? .routing : .collecting(left: left - count)
            return .collect(count: count, ends: count == left)
        case .routing:
            switch decoder {
            case .memberStart:
                return route(bytes, poolIsIdle: poolIsIdle)
            case .betweenMembers where bytes[0] == 0x1f:
                return .decode
            case .betweenMembers, .inside:
                return poolIsIdle ? .decode : .drain
            }
        }
    }

    /// At a member's first bytes: hold more, send it to the pool, or to the decoder.
    private mutating func route(_ bytes: UnsafeRawBufferPointer, poolIsIdle: Bool) -> Action {
        let located = head.isEmpty ? BGZF.locate(bytes) : head.withUnsafeBytes { BGZF.locate($0) }
        switch located {
        case .needs(let count) where count <= Self.maxHeadBytes:
            let taken = min(count - head.count, bytes.count)
            head.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(taken)))
            return .hold(count: taken)
        case .member(let size):
            state = .collecting(left: size - head.count)
            return .beginMember(bytes: size)
        case .needs, .unknown:
            return poolIsIdle ? .startMember : .drain
        }
    }

    /// The held bytes, handed over (to the decoder or to the job); the head is empty after.
    mutating func takeHead() -> [UInt8] {
        defer { head.removeAll(keepingCapacity: true) }
        return head
    }

    /// The input ended: what is left to do, until nil.
    mutating func inputEnded(poolIsIdle: Bool) -> Action? {
        if case .collecting = state {
            state = .routing
            return .replay
        }
        if head.isEmpty { return nil }
        return poolIsIdle || state == .sequentialOnly ? .startMember : .drain
    }

    /// The pool was abandoned: from here on the decoder reads every byte, those held first.
    mutating func poolEnded() {
        state = .sequentialOnly
    }

    /// Before the pool's output is written: whether the decoder's output, `emittedBytes`
    /// of it so far, must be settled first (checked and forwarded). Say `settled` after.
    func mustSettle(emittedBytes: Int) -> Bool { settledBytes < emittedBytes }

    mutating func settled(emittedBytes: Int) { settledBytes = emittedBytes }
}
