/// `throttle`'s token bucket, as a value: tokens accrue at `bytesPerSecond` up to
/// `burstBytes`; a spend may take it into debt, which pauses pay off. It holds no clock:
/// the caller says what time it is, so the tests drive it with instants of their own.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens accrued per second, above 0. A change applies from the last refill on:
    /// refill first, and what accrued before is kept at the old rate.
    public var bytesPerSecond: Double
    /// The most tokens the bucket holds, at least 1: a long idle banks no more than this.
    public let burstBytes: Double
    /// Tokens held, at most `burstBytes`; below 0, the debt of bytes sent on credit.
    public private(set) var tokens: Double = 0
    /// The monotonic instant of the last refill.
    private var lastRefillNanos: UInt64

    /// An empty bucket at `now`.
    public init(bytesPerSecond: Double, burstBytes: Double, now: UInt64) {
        self.bytesPerSecond = bytesPerSecond
        self.burstBytes = max(1, burstBytes)
        lastRefillNanos = now
    }

    /// Adds what accrued since the last refill, up to the burst.
    public mutating func refill(at now: UInt64) {
        tokens = min(burstBytes, tokens + Double(now &- lastRefillNanos) / 1e9 * bytesPerSecond)
        lastRefillNanos = now
    }

    /// Takes `bytes` tokens, into debt if it must.
    public mutating func spend(_ bytes: Int) {
        tokens -= Double(bytes)
    }

    /// How long to sleep toward paying the debt, nil when there is none: the time the
    /// debt takes to accrue, at most 100 ms (the caller refills and asks again, so a
    /// long debt is paid in pieces), at least 10 µs (a debt of a fraction of a byte).
    public var pauseNanos: UInt64? {
        guard tokens < 0 else { return nil }
        let seconds = min(0.1, max(0.000_01, -tokens / bytesPerSecond))
        return UInt64(seconds * 1e9)
    }
}

/// What a pacing stage reads the time from and sleeps on, so that tests can drive it
/// with a clock of their own; `.monotonic` in a run.
public struct PacingClock: Sendable {
    /// A monotonic instant in nanoseconds.
    public var now: @Sendable () -> UInt64
    /// Sleeps for about that many nanoseconds.
    public var sleep: @Sendable (_ nanoseconds: UInt64) -> Void

    public init(now: @escaping @Sendable () -> UInt64, sleep: @escaping @Sendable (_ nanoseconds: UInt64) -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// CLOCK_MONOTONIC, and nanosleep(2) (retried after EINTR for what is left).
    public static let monotonic = PacingClock(now: { monotonicNanos() }, sleep: { sleepMonotonic($0) })
}

/// `sleep(nanoseconds:)` under a name the clock's own `sleep` does not hide.
private func sleepMonotonic(_ nanoseconds: UInt64) {
    sleep(nanoseconds: Int(nanoseconds))
}
