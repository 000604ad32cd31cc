import CZlib

/// `gunzip`: decompresses gzip input, member after member, as `gzip -d` does.
///
/// A `MemberDecoder` parses and inflates on the stage's thread; its output goes through
/// a `CRCChecker` thread, which checks every member's CRC-32 and length in the
/// background and forwards the chunks downstream. With threads (`-p`), members whose
/// size their header gives (BGZF) are decoded in parallel by a `ParallelInflater` and
/// written in order through the stage's own emitter; any other member goes through the
/// decoder.
///
/// The two outputs never overlap: before the decoder emits, every member in flight is
/// written and `out` flushed; before a member from the workers is written, the decoder's
/// output is settled (checked and forwarded). An error found on this thread waits for
/// both to catch up first, so the earliest error in the stream is the one reported, with
/// everything before it written, as if all were decoded and checked inline.
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
    /// Decodes located members on worker threads; nil with one thread, and from the
    /// first member it could not vouch for on (the rest is read sequentially).
    private var parallel: ParallelInflater?
    /// `decoder.emittedBytes` when the checker last had all of it forwarded; below it, the
    /// decoder's output may still be on its way and the workers' must wait.
    private var settledBytes = 0

    public init(trailing: TrailingPolicy = .error, threads: Int = 1, diagnostics: Diagnostics? = nil) throws(StageError) {
        decoder = try MemberDecoder(trailing: trailing)
        self.diagnostics = diagnostics
        if threads > 1 { parallel = ParallelInflater(threads: threads) }
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        let checker = CRCChecker(output: out.channel, pool: out.pool, outputStats: out.stats)
        inner = Emitter(channel: checker.inbox, pool: out.pool, stats: out.stats, countsBytes: false)
        checker.start()
        self.checker = checker
        parallel?.decode(into: out.pool)
        return .more
    }

    /// Before waiting for input: what is decoded goes out, and members in flight keep
    /// the workers busy (waiting for them here would stall the pipeline whenever the
    /// reader falls a chunk behind).
    public mutating func willWait(into out: inout Emitter) throws(StageError) {
        do {
            try writeMembers(waiting: false, into: &out)
            try inner.flush()
            try out.flush()
        } catch {
            throw settled(error, &out)
        }
    }

    /// 2 ms: a member in flight is done within a fraction of that, so once input pauses
    /// (a live stream), the last members are written at once rather than with the next
    /// input; a file input never pauses that long.
    public var idleNanos: UInt64? { parallel == nil ? nil : 2_000_000 }

    public mutating func idle(into out: inout Emitter) throws(StageError) {
        do {
            try writeMembers(waiting: true, into: &out)
            try out.flush()
        } catch {
            throw settled(error, &out)
        }
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        do {
            var rest = input.bytes
            while !rest.isEmpty {
                let taken = parallel != nil && decoder.isAtMemberStart
                    ? try collect(rest, into: &out)
                    : try decode(rest, into: &out)
                rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
            }
            if decoder.warning != nil { try warn(&out) }
        } catch {
            throw settled(error, &out)
        }
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        do {
            // A member cut short: the decoder reads what came and names where it ends.
            if let filling = parallel?.filling, filling.isCollecting { try decodeHere(filling, into: &out) }
            try writeMembers(waiting: true, into: &out)
            try settleChecker()
            try decoder.finish()
        } catch {
            throw settled(error, &out)
        }
    }

    public mutating func close() {
        parallel?.stop()
        parallel = nil
        // Hand on what was decoded, even when ending on an error, then let the checker
        // forward it and end.
        if inner != nil {
            do throws(StageError) { try inner.flush() } catch { inner.discard() }
        }
        checker?.stop()
        checker = nil
        decoder.end()
    }

    /// One step of the decoder. It reads past the members in flight or batched only once
    /// they are written: one of them may yet need reading here, and every byte after it
    /// with it. The step from a member to the next one's first byte reads nothing, so it
    /// need not wait.
    private mutating func decode(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> Int {
        if parallel?.isIdle == false && !(decoder.isBetweenMembers && bytes[0] == 0x1f) {
            try writeMembers(waiting: true, into: &out)
        }
        return try decoder.step(bytes, into: &inner, checker: checker!)
    }

    // MARK: Members decoded in parallel

    /// At a member's first bytes: collects the member into the filling job until its
    /// header gives its size and it is whole, then adds it to the job's batch, and submits
    /// the batch once full; a member whose size is not known goes to the decoder. Returns
    /// how many bytes of `bytes` it took.
    private mutating func collect(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> Int {
        // Writing out a job to free a slot may have handed everything to the decoder.
        guard let job = try fillingJob(&out) else { return 0 }
        if !job.isCollecting { job.beginMember(number: decoder.member, start: decoder.offset) }
        let n = min(job.wantedCount - job.collected.count, bytes.count)
        job.append(UnsafeRawBufferPointer(rebasing: bytes.prefix(n)))
        if job.collected.count < job.wantedCount { return n }
        switch BGZF.locate(job.collected) {
        case .needs(let count):
            job.wantedCount = count
        case .member(let count) where count > job.collected.count:
            job.wantedCount = count
        case .member where Int(job.collectedLength) <= ParallelInflater.memberBytes:
            decoder.skipMember(endingAt: decoder.offset + job.collected.count)
            if job.acceptCollected() {
                parallel!.submit()
                try writeMembers(waiting: false, into: &out)
            }
        case .member, .unknown:
            try decodeHere(job, into: &out)
        }
        return n
    }

    /// The job to collect into, writing out the oldest job to free one if need be; nil if
    /// one of its members was handed to the decoder, and with it all that follows.
    private mutating func fillingJob(_ out: inout Emitter) throws(StageError) -> ParallelInflater.Job? {
        while let parallel {
            if let job = parallel.filling { return job }
            try writeOldest(waiting: true, into: &out)
        }
        return nil
    }

    /// Submits the batch being filled (unless a member is half collected), then writes out
    /// the jobs that are done, in order (waiting for each, if `waiting`).
    private mutating func writeMembers(waiting: Bool, into out: inout Emitter) throws(StageError) {
        parallel?.submit()
        while parallel?.hasJobs == true {
            guard try writeOldest(waiting: waiting, into: &out) else { return }
        }
    }

    /// Writes the oldest job in flight if it is done (or once done, if `waiting`): the
    /// output of its clean members, then, if the worker could not vouch for one of them,
    /// hands that member and all after it to the decoder.
    @discardableResult
    private mutating func writeOldest(waiting: Bool, into out: inout Emitter) throws(StageError) -> Bool {
        guard let parallel, let job = parallel.oldest(waiting: waiting) else { return false }
        if job.cleanCount > 0 {
            if settledBytes < decoder.emittedBytes {
                try settleChecker()
                settledBytes = decoder.emittedBytes
            }
            try writeOutput(of: job, into: &out)
        }
        if job.cleanCount < job.members.count {
            try decodeSequentially(from: job, into: &out)
            return true
        }
        parallel.release()
        return true
    }

    /// The output of `job`'s clean members, region by region: chunks forwarded as they
    /// are, or the job's own buffer copied out.
    private mutating func writeOutput(of job: ParallelInflater.Job, into out: inout Emitter) throws(StageError) {
        for region in 0..<job.cleanRegionCount {
            let count = job.cleanBytes(inRegion: region)
            guard count > 0 else { continue }
            if job.layout.isChunks {
                let chunk = job.chunks[region]!
                job.chunks[region] = nil
                chunk.count = count
                try out.forward(ChunkLease(chunk, pool: out.pool))
            } else {
                try out.write(UnsafeRawBufferPointer(start: job.ownOutput, count: count))
            }
        }
    }

    /// A member whose size is not known, whose output may be larger than 64 KiB, or that
    /// the input cut short: every job before it written, the decoder reads it, and the
    /// members batched before it in the same job, from the first of those on. (So between
    /// the first member in flight and the filling job's end, every byte is in a job: the
    /// decoder can always go back and read them all.)
    private mutating func decodeHere(_ job: ParallelInflater.Job, into out: inout Emitter) throws(StageError) {
        try writeMembers(waiting: true, into: &out)
        // Writing may have handed everything, this member too, to the decoder already.
        guard parallel != nil else { return }
        try out.flush()
        let from = job.restart(at: 0)
        job.reset()
        decoder.restart(member: from.number, at: from.start)
        try decoder.feed(from.bytes, into: &inner, checker: checker!)
    }

    /// The worker could not vouch for the member after `job`'s clean ones: from its first
    /// byte on, everything is read by the decoder, which finds the error (or, for a member
    /// it reads differently, goes on exactly as it would have from the start).
    private mutating func decodeSequentially(from job: ParallelInflater.Job, into out: inout Emitter) throws(StageError) {
        let left = parallel!.abandon()
        precondition(left.first === job, "the job written out is the oldest in flight")
        parallel = nil
        try out.flush()
        let from = job.restart(at: job.cleanCount)
        decoder.restart(member: from.number, at: from.start)
        try decoder.feed(from.bytes, into: &inner, checker: checker!)
        for other in left.dropFirst() {
            try decoder.feed(other.restart(at: 0).bytes, into: &inner, checker: checker!)
        }
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

    /// The error to report for `error`, raised on this thread: an error in a member in
    /// flight or one the checker found comes first; a closed inbox is the checker's error.
    private mutating func settled(_ error: StageError, _ out: inout Emitter) -> StageError {
        guard let checker else { return error }
        switch error {
        case .downstreamClosed:
            return checker.recordedFailure.map { .failed($0) } ?? error
        case .failed:
            do throws(StageError) {
                try writeMembers(waiting: true, into: &out)
                try settleChecker()
            } catch {
                if case .failed = error { return error }
            }
            return error
        }
    }

    /// Prints the decoder's warning once every member before the garbage was written and
    /// checked, so that it never comes before an error about one of them.
    private mutating func warn(_ out: inout Emitter) throws(StageError) {
        try writeMembers(waiting: true, into: &out)
        try settleChecker()
        if let warning = decoder.warning { diagnostics?.warn("gunzip", warning) }
        decoder.warning = nil
    }

    /// zlib's inflate state and 32 KiB window, the checker's chunks, and with threads the
    /// parallel inflater's slots.
    static func heldBytes(chunkBytes: Int, threads: Int) -> Int {
        let sequential = (48 << 10) + CRCChecker.heldBytes(chunkBytes: chunkBytes)
        return threads > 1 ? sequential + ParallelInflater.heldBytes(threads: threads, chunkBytes: chunkBytes) : sequential
    }

    public static let descriptor = StageDescriptor(
        name: "gunzip", aliases: ["zcat"], synopsis: "gunzip [-p N] [--trailing=error|warn|ignore] [-ck]",
        summary: "decompress gzip input, concatenated members too, checking every CRC; "
            + "BGZF members in parallel",
        options: [
            OptionSpec("p", "threads", .required("N"),
                       help: "decode members of known size (BGZF) on N threads (default: one per core)"),
            OptionSpec(nil, "trailing", .required("POLICY"),
                       help: "non-gzip bytes after the last member: error (default), warn or ignore"),
        ] + GzipStage.gzipHabits
    ) { args, context throws(SluiceError) in
        let threads = try args.threadCount("threads", default: GzipStage.onlineCores)
        var policy = TrailingPolicy.error
        if let given = args.last("trailing"), let value = given.value {
            guard let p = TrailingPolicy(rawValue: value) else {
                throw args.fail("--trailing: unknown policy '\(value)' (use error, warn or ignore)")
            }
            policy = p
        }
        do throws(StageError) {
            var plan = StagePlan(try GunzipStage(trailing: policy, threads: threads, diagnostics: context.diagnostics),
                                 heldBytes: heldBytes(chunkBytes: context.chunkBytes, threads: threads))
            plan.output = .other
            if threads > 1 { plan.heldChunks = ParallelInflater.heldChunks(threads: threads, chunkBytes: context.chunkBytes) }
            return plan
        } catch {
            throw .runtime("gunzip: \(error.message)")
        }
    }
}
