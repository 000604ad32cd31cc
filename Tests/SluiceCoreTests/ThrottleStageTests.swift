import Testing
@testable import SluiceCore
import SluiceTestSupport

/// A clock that moves only when slept on: a throttle runs at once, and its pauses add
/// up to exactly the time it would have taken.
final class FakeClock: @unchecked Sendable {
    /// Protects `nanos` and `sleeps`.
    private let lock = Lock()
    private var nanos: UInt64 = 0
    private var sleeps: [UInt64] = []
    private let startNanos: UInt64

    init(startNanos: UInt64 = 1_000_000_000) {
        nanos = startNanos
        self.startNanos = startNanos
    }

    var clock: PacingClock {
        PacingClock(now: { [self] in lock.withLock { nanos } },
                    sleep: { [self] n in lock.withLock { nanos += n; sleeps.append(n) } })
    }

    /// Seconds slept since the start.
    var elapsedSeconds: Double { lock.withLock { Double(nanos - startNanos) / 1e9 } }
    var longestSleep: UInt64 { lock.withLock { sleeps.max() ?? 0 } }
}

@Suite struct TokenBucketTests {
    /// Pauses as throttle takes them, refilling after each, until the debt is paid;
    /// their sum in seconds.
    func payDebt(_ bucket: inout TokenBucket, from now: inout UInt64) -> Double {
        var slept: UInt64 = 0
        while let pause = bucket.pauseNanos {
            slept += pause
            now += pause
            bucket.refill(at: now)
        }
        return Double(slept) / 1e9
    }

    @Test func startsEmptyAndPausesForWhatWasSentOnCredit() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burstBytes: 500, now: 0)
        #expect(bucket.pauseNanos == nil)
        bucket.spend(40)
        #expect(bucket.pauseNanos == 40_000_000)
        bucket.refill(at: 30_000_000)
        #expect(bucket.pauseNanos == 10_000_000)
        bucket.refill(at: 40_000_000)
        #expect(bucket.pauseNanos == nil)
    }

    @Test func aLongDebtIsPaidInPausesOfAtMostATenthOfASecond() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burstBytes: 500, now: 0)
        bucket.spend(450)
        #expect(bucket.pauseNanos == 100_000_000)
        var now: UInt64 = 0
        let seconds = payDebt(&bucket, from: &now)
        #expect(abs(seconds - 0.45) < 0.000_1)
    }

    @Test func aDebtOfAFractionOfAByteSleepsTenMicroseconds() {
        var bucket = TokenBucket(bytesPerSecond: 1e9, burstBytes: 500, now: 0)
        bucket.spend(1)
        #expect(bucket.pauseNanos == 10_000)
    }

    @Test func theBurstCapsWhatAccrues() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burstBytes: 500, now: 0)
        bucket.refill(at: 300_000_000)
        #expect(bucket.tokens == 300)
        bucket.refill(at: 10_000_000_000)
        #expect(bucket.tokens == 500)
        #expect(TokenBucket(bytesPerSecond: 1000, burstBytes: 0, now: 0).burstBytes == 1)
    }

    /// An hour of idle banks one burst: a flood after it is paced but for that burst.
    @Test func aLongIdleBanksNoMoreThanTheBurst() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burstBytes: 500, now: 0)
        var now: UInt64 = 3600 * 1_000_000_000
        bucket.refill(at: now)
        bucket.spend(5000)
        let seconds = payDebt(&bucket, from: &now)
        #expect(abs(seconds - 4.5) < 0.001, "\(seconds) s")
    }

    /// What accrued before a rate change stays at the old rate; after it, the new one.
    @Test func aRateChangeAppliesFromTheLastRefill() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burstBytes: 10_000, now: 0)
        bucket.refill(at: 1_000_000_000)
        bucket.bytesPerSecond = 4000
        bucket.refill(at: 1_500_000_000)
        #expect(bucket.tokens == 3000)
        bucket.spend(3040)
        #expect(bucket.pauseNanos == 10_000_000)
        bucket.bytesPerSecond = 400
        #expect(bucket.pauseNanos == 100_000_000)
    }
}

@Suite struct ThrottleStageTests {
    /// At 1000 bytes a second throttle sends pieces of 20 bytes (1/50 s), the first at
    /// once: 2000 bytes take two seconds, but for the last piece, whose debt no later
    /// piece waits to pay.
    @Test(arguments: StageHarness.chunkSizes)
    func pacesAtItsRate(_ chunkSize: Int) {
        let input = pseudoRandomBytes(2000)
        let fake = FakeClock()
        let r = StageHarness.run(ThrottleStage(bytesPerSecond: 1000, burstBytes: chunkSize, clock: fake.clock),
                                 input: input, chunkSize: chunkSize)
        #expect(r.output == input)
        #expect(r.end == .finished)
        let lastPiece = Double(min(chunkSize, 20)) / 1000
        #expect(fake.elapsedSeconds >= 2 - lastPiece - 0.001 && fake.elapsedSeconds <= 2.001,
                "\(fake.elapsedSeconds) s")
        #expect(fake.longestSleep <= 100_000_000)
    }

    /// Where a chunk is less than 1/50 s worth it goes whole: 4 chunks of 64 KiB at
    /// 16 MiB/s take the time of the first three.
    @Test func aHighRateForwardsWholeChunks() {
        let input = pseudoRandomBytes(4 << 16)
        let fake = FakeClock()
        let r = StageHarness.run(ThrottleStage(bytesPerSecond: 16 << 20, burstBytes: 1 << 16, clock: fake.clock),
                                 input: input, chunkSize: 1 << 16)
        #expect(r.output == input)
        #expect(abs(fake.elapsedSeconds - 3.0 / 256) < 0.000_1, "\(fake.elapsedSeconds) s")
    }

    /// Input that is empty, or comes slower than the rate, is never paused for.
    @Test func noDebtNoPause() {
        let fake = FakeClock()
        let r = StageHarness.run(ThrottleStage(bytesPerSecond: 1000, burstBytes: 4096, clock: fake.clock),
                                 input: [], chunkSize: 4096)
        #expect(r.output.isEmpty && r.end == .finished)
        #expect(fake.elapsedSeconds == 0)
    }
}
