/// What a buffer does when it reaches its high-water mark: the one value that says so,
/// carried from the plan (`BufferSettings.overflow`) to the channel that acts on it. The
/// mechanics of each answer are values too, asked by the channel under its lock and by
/// the unit tests directly: `LineShedder` for the drop policies, `SpillBacklog` for spill.
public enum Overflow: Sendable, Equatable {
    /// The sender waits until the buffer drains to its low-water mark: nothing is lost.
    case block
    /// The incoming lines are dropped, whole, and counted; the sender never waits.
    case dropNewest
    /// The oldest queued lines are dropped, whole, and counted, to make room; the
    /// freshest data goes out; the sender never waits.
    case dropOldest
    /// Past the high-water mark, data goes to an unnamed file in `directory` and is read
    /// back in order (`--spill DIR`); past `maxBytes` on disk (`--spill-max`), the sender
    /// waits.
    case spill(directory: String, maxBytes: Int)

    /// 1 GiB: a backlog a disk takes without notice, far beyond any memory buffer.
    public static let defaultSpillMaxBytes = 1 << 30

    /// The `--when-full` words, for parsing; spill is asked for by `--spill DIR`.
    public init?(whenFull word: String) {
        switch word {
        case "block": self = .block
        case "drop-newest": self = .dropNewest
        case "drop-oldest": self = .dropOldest
        default: return nil
        }
    }

    /// Whether the policy drops records (lines) instead of blocking.
    public var drops: Bool {
        switch self {
        case .dropNewest, .dropOldest: true
        case .block, .spill: false
        }
    }

    /// The policy's name, as `--stats` reports it (`when_full`) and messages give it.
    public var name: String {
        switch self {
        case .block: "block"
        case .dropNewest: "drop-newest"
        case .dropOldest: "drop-oldest"
        case .spill: "spill"
        }
    }
}
