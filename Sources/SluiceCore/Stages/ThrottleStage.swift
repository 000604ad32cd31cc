/// `throttle RATE` (also `rate`): limits the bytes passing this point to RATE per second
/// with a token bucket (`TokenBucket`). The bucket holds at most one chunk, so a pause
/// does not bank credit for a flood afterwards. Where it sits decides what it limits:
/// `gunzip + throttle 10M` paces decompressed bytes, `throttle 10M + gunzip` compressed.
public struct ThrottleStage: Stage {
    /// Empty until `begin`, which starts it at that instant.
    private var bucket: TokenBucket
    private let clock: PacingClock

    /// `burstBytes`: the most the bucket holds (one chunk). `clock`: a test's own, or the
    /// real one.
    public init(bytesPerSecond: Int, burstBytes: Int, clock: PacingClock = .monotonic) {
        bucket = TokenBucket(bytesPerSecond: Double(bytesPerSecond), burstBytes: Double(burstBytes), now: 0)
        self.clock = clock
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        // Starts empty: the first piece goes at once, the rest at RATE.
        bucket = TokenBucket(bytesPerSecond: bucket.bytesPerSecond, burstBytes: bucket.burstBytes, now: clock.now())
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        // Bytes pass in pieces of 1/50 s worth (the whole chunk at high rates), so the
        // flow stays smooth at low rates. A piece goes as soon as the bucket is not in
        // debt and may take it into debt by up to one piece; the next piece waits until
        // the debt is paid. Sleeping only to pay a debt keeps the long-run rate exact
        // without a nanosleep for every chunk that arrives a hair early.
        let step = Int(max(1, min(Double(input.count), bucket.bytesPerSecond / 50)))
        if step >= input.count {
            payDebt(charging: out.stats)
            bucket.spend(input.count)
            try out.forward(input)
            return .more
        }
        var rest = input.bytes
        while !rest.isEmpty {
            payDebt(charging: out.stats)
            let n = min(rest.count, step)
            bucket.spend(n)
            try out.write(UnsafeRawBufferPointer(rebasing: rest[..<n]))
            try out.flush()
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
        }
        return .more
    }

    /// Refills the bucket and sleeps until it holds no debt, in the bucket's pauses. The
    /// sleep is charged to `stats` as pacing, so that neither --stats nor -P reads it as work.
    private mutating func payDebt(charging stats: NodeStats?) {
        bucket.refill(at: clock.now())
        guard bucket.pauseNanos != nil else { return }
        let since = stats?.beginWait(.pacing)
        while let pause = bucket.pauseNanos {
            clock.sleep(pause)
            bucket.refill(at: clock.now())
        }
        if let since { stats?.endWait(.pacing, since: since) }
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {}

    public static let descriptor = StageDescriptor(
        name: "throttle", aliases: ["rate"], synopsis: "throttle RATE",
        summary: "limit the bytes passing this point to RATE per second (a SIZE: 10M, 1.5MB)",
        operands: 1...1
    ) { args, context throws(SluiceError) in
        var text = args.operands[0]
        if text.hasSuffix("/s") { text.removeLast(2) }
        let rate = try args.parseSize(text, for: "RATE", min: 1)
        return StagePlan(ThrottleStage(bytesPerSecond: rate, burstBytes: context.chunkBytes))
    }
}
