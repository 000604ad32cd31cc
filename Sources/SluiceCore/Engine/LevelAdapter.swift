/// `gzip --adapt` and `zstd --adapt`: the compression level follows the pressure, as
/// zstd's --adapt does. Every `windowNanos` the stage asks what its own node did over the window: mostly
/// blocked on its output (downstream is slow: a network, a throttle) → one level up,
/// more CPU for fewer bytes on the slow link; neither blocked nor waiting for input
/// (the compressor itself is the limit) → one level down; anything between → hold.
struct LevelAdapter {
    let range: ClosedRange<Int>
    private(set) var level: Int
    private var windowStart: UInt64 = 0
    private var blockedAtStart: UInt64 = 0
    private var starvedAtStart: UInt64 = 0

    /// 250 ms: long enough to average over many chunks, short enough to settle in a
    /// few seconds on a stream that changes.
    static let windowNanos: UInt64 = 250_000_000
    /// Above this share of the window blocked on output, the level goes up.
    static let blockedToRaise = 0.3
    /// Below this share both blocked and starved, the level goes down.
    static let idleToLower = 0.1

    init(range: ClosedRange<Int>, start: Int) {
        self.range = range
        level = min(max(start, range.lowerBound), range.upperBound)
    }

    /// The new level when a window has passed and the node's shares call for one.
    mutating func observe(_ node: NodeSnapshot, at now: UInt64) -> Int? {
        if windowStart == 0 {
            (windowStart, blockedAtStart, starvedAtStart) = (now, node.blockedNanos, node.starvedNanos)
            return nil
        }
        let wall = now &- windowStart
        guard wall >= Self.windowNanos else { return nil }
        let blocked = Double(node.blockedNanos &- blockedAtStart) / Double(wall)
        let starved = Double(node.starvedNanos &- starvedAtStart) / Double(wall)
        (windowStart, blockedAtStart, starvedAtStart) = (now, node.blockedNanos, node.starvedNanos)
        var next = level
        if blocked > Self.blockedToRaise {
            next = min(level + 1, range.upperBound)
        } else if blocked < Self.idleToLower && starved < Self.idleToLower {
            next = max(level - 1, range.lowerBound)
        }
        guard next != level else { return nil }
        level = next
        return next
    }

    /// `--adapt` (the whole of `defaultRange`), `--adapt=MIN:MAX`, or as the zstd CLI
    /// spells it `--adapt=min=MIN,max=MAX` (either may be left out: the default range's
    /// end stands), within `levels`.
    static func range(_ given: GivenOption, _ args: OptionReader, levels: ClosedRange<Int>,
                      defaultRange: ClosedRange<Int>) throws(SluiceError) -> ClosedRange<Int> {
        guard let text = given.value else { return defaultRange }
        var bounds: (low: Int, high: Int)?
        if text.contains("=") {
            var (low, high) = (defaultRange.lowerBound, defaultRange.upperBound)
            var isValid = true
            for field in text.split(separator: ",", omittingEmptySubsequences: false) {
                let pair = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2, let n = Int(pair[1]) else { isValid = false; break }
                switch pair[0] {
                case "min": low = n
                case "max": high = n
                default: isValid = false
                }
            }
            if isValid { bounds = (low, high) }
        } else {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]) { bounds = (low, high) }
        }
        guard let (low, high) = bounds, levels.contains(low), levels.contains(high), low <= high else {
            throw args.fail("\(given.spelling): invalid levels '\(text)' (MIN:MAX, \(levels.lowerBound) to "
                + "\(levels.upperBound): --adapt=\(defaultRange.lowerBound + 2):\(defaultRange.upperBound))")
        }
        return low...high
    }
}
