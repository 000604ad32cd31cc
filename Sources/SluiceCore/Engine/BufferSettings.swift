/// The settings of one buffer (a node's output channel), decided before any channel
/// exists, from which the channel's `WaterMarks` and its `Overflow` come. The engine
/// owns the defaults; the command line only overrides them (`CLI/BufferOptions.swift`).
public struct BufferSettings: Sendable, Equatable {
    /// 1 MiB: big enough to absorb a burst of several chunks, small enough that a few
    /// stages stay within a few MiB.
    public static let defaultHighWaterMark = 1 << 20

    public var highWaterMark: Int
    /// Below `highWaterMark`.
    public var lowWaterMark: Int
    /// The start threshold (`buffer --start`), else 0.
    public var startBytes = 0
    /// False for a `buffer` stage: the pool does not keep its drained chunks for reuse,
    /// so the memory its large buffer took is given back.
    public var keepsIdleChunks = true
    /// The stage decides its own high-water mark (`buffer SIZE`): `--hwm` does not apply.
    public var isSizedByStage = false
    /// What the buffer does when full (`--when-full`, `--spill`).
    public var overflow = Overflow.block

    /// `lowWaterMark` nil: half the high-water mark.
    public init(highWaterMark: Int = BufferSettings.defaultHighWaterMark, lowWaterMark: Int? = nil) {
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark ?? highWaterMark / 2
    }

    public func waterMarks(chunkBytes: Int) -> WaterMarks {
        WaterMarks(highWaterMark: highWaterMark, lowWaterMark: lowWaterMark, chunkBytes: chunkBytes,
                   startBytes: startBytes)
    }
}
