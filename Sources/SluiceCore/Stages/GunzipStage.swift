import CZlib

/// `gunzip`: decompresses gzip input, member after member, as `gzip -d` does.
///
/// A `MemberDecoder` parses and inflates on the stage's thread; its output goes through
/// a `CRCChecker` thread, which checks every member's CRC-32 and length in the
/// background and forwards the chunks downstream. An error found on this thread waits
/// for the checker to catch up first, so the earliest error in the stream is the one
/// reported, as if everything were checked inline.
public struct GunzipStage: Stage {
    /// What to do with bytes after the last member that are neither a member nor zeros.
    public enum TrailingPolicy: String, Sendable, CaseIterable {
        case error, warn, ignore
    }

    /// The sequential decoder; its `emittedBytes` are the bytes sent into `inner`.
    private var decoder: MemberDecoder
    private let diagnostics: Diagnostics?
    /// Checks the decoder's output on its own thread, and forwards it; from `begin`.
    private var checker: CRCChecker?
    /// The decoder's output goes here, into the checker's inbox, not to the stage's `out`.
    private var inner: Emitter!

    public init(trailing: TrailingPolicy = .error, diagnostics: Diagnostics? = nil) throws(StageError) {
        decoder = try MemberDecoder(trailing: trailing)
        self.diagnostics = diagnostics
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        let checker = CRCChecker(output: out.channel, pool: out.pool, outputStats: out.stats)
        inner = Emitter(channel: checker.inbox, pool: out.pool, stats: out.stats, countsBytes: false)
        checker.start()
        self.checker = checker
        return .more
    }

    public mutating func willWait(into out: inout Emitter) throws(StageError) {
        do { try inner.flush() } catch { throw settled(error) }
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        do {
            try decoder.feed(input.bytes, into: &inner, checker: checker!)
            if decoder.warning != nil { try warn() }
        } catch {
            throw settled(error)
        }
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        do {
            try settleChecker()
            try decoder.finish()
        } catch {
            throw settled(error)
        }
    }

    public mutating func close() {
        // Hand on what was decoded, even when ending on an error, then let the checker
        // forward it and end.
        if inner != nil {
            do throws(StageError) { try inner.flush() } catch { inner.discard() }
        }
        checker?.stop()
        checker = nil
        decoder.end()
    }

    // MARK: Errors in stream order

    /// Sends what the decoder made and waits until the checker has forwarded all of it;
    /// throws the mismatch it found, if any.
    private mutating func settleChecker() throws(StageError) {
        do { try inner.flush() } catch {
            // The inbox closes on a mismatch as well as when the consumer went away.
            if let failure = checker!.recordedFailure { throw .failed(failure) }
            throw error
        }
        switch checker!.settle(sentBytes: decoder.emittedBytes) {
        case .forwarded: return
        case .failed(let message): throw .failed(message)
        case .closed: throw .downstreamClosed
        }
    }

    /// The error to report for `error`, raised on this thread: a mismatch the checker
    /// found in an earlier member comes first; a closed inbox is that mismatch, if any.
    private mutating func settled(_ error: StageError) -> StageError {
        guard let checker else { return error }
        switch error {
        case .downstreamClosed:
            return checker.recordedFailure.map { .failed($0) } ?? error
        case .failed:
            do throws(StageError) { try settleChecker() } catch {
                if case .failed = error { return error }
            }
            return error
        }
    }

    /// Prints the decoder's warning once every member before the garbage was checked, so
    /// that it never comes before an error about one of them.
    private mutating func warn() throws(StageError) {
        try settleChecker()
        if let warning = decoder.warning { diagnostics?.warn("gunzip", warning) }
        decoder.warning = nil
    }

    /// zlib's inflate state and 32 KiB window, and the checker's chunks.
    static func heldBytes(chunkBytes: Int) -> Int { (48 << 10) + CRCChecker.heldBytes(chunkBytes: chunkBytes) }

    public static let descriptor = StageDescriptor(
        name: "gunzip", aliases: ["zcat"], synopsis: "gunzip [--trailing=error|warn|ignore]",
        summary: "decompress gzip input, concatenated members too, checking every CRC",
        options: [
            OptionSpec(nil, "trailing", .required("POLICY"),
                       help: "non-gzip bytes after the last member: error (default), warn or ignore"),
        ]
    ) { args, context throws(SluiceError) in
        var policy = TrailingPolicy.error
        if let given = args.last("trailing"), let value = given.value {
            guard let p = TrailingPolicy(rawValue: value) else {
                throw args.fail("--trailing: unknown policy '\(value)' (use error, warn or ignore)")
            }
            policy = p
        }
        do throws(StageError) {
            var plan = StagePlan(try GunzipStage(trailing: policy, diagnostics: context.diagnostics),
                                 heldBytes: heldBytes(chunkBytes: context.chunkBytes))
            plan.output = .other
            return plan
        } catch {
            throw .runtime("gunzip: \(error.message)")
        }
    }
}
