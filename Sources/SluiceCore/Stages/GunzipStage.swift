import CZlib

/// `gunzip`: decompresses gzip input, member after member, as `gzip -d` does.
///
/// A `MemberRouter` says, member by member, which decoder reads the bytes: a
/// `MemberDecoder` parses and inflates on the stage's thread; with threads (`-p`),
/// members whose size their header gives (BGZF) are decoded in parallel by a
/// `ParallelInflater` and written in order through the stage's own emitter. The
/// decoder's output goes through a `CRCChecker` thread, which checks every member's
/// CRC-32 and length in the background and forwards the chunks downstream — pigz's
/// split, worth its thread: on one core (`checksInline`) the decoder checks as it goes.
///
/// The two outputs never overlap: before the decoder reads on, every member in flight
/// is written and `out` flushed; before a member from the workers is written, the
/// decoder's output is settled (checked and forwarded). The router says when. An error
/// found on this thread waits for both to catch up first (`settled`), so the earliest
/// error in the stream is the one reported, with everything before it written, as if
/// all were decoded and checked inline.
public struct GunzipStage: Stage {
    /// The sequential decoder; its `emittedBytes` are the bytes sent into `inner`.
    private var decoder: MemberDecoder
    /// Which decoder reads what, and when the two outputs take turns.
    private var router: MemberRouter
    private let diagnostics: Diagnostics?
    /// Checks the decoder's output on its own thread, and forwards it; from `begin`. Nil
    /// when the decoder checks inline.
    private var checker: CRCChecker?
    private let checksInline: Bool
    /// The decoder's output goes here: into the checker's inbox, or with `checksInline`
    /// the stage's `out` itself.
    private var inner: Emitter!
    /// Decodes located members on worker threads; nil with one thread, and from the
    /// first member it could not vouch for on (the rest is read sequentially).
    private var parallel: ParallelInflater?

    /// - Parameters:
    ///   - checksInline: the decoder runs the CRC itself rather than on a thread of its
    ///     own (the command line's choice on a machine of one core).
    ///   - poolWorkers: threads the parallel inflater starts besides the stage's own
    ///     (default `threads - 1`); with 0 the stage's thread decodes every job itself, as
    ///     the fuzzer runs it.
    public init(trailing: TrailingPolicy = .error, threads: Int = 1, checksInline: Bool = false,
                poolWorkers: Int? = nil, diagnostics: Diagnostics? = nil) throws(StageError) {
        decoder = try MemberDecoder(trailing: trailing)
        router = MemberRouter(threads: threads)
        self.checksInline = checksInline
        self.diagnostics = diagnostics
        if threads > 1 { parallel = ParallelInflater(threads: threads, workers: poolWorkers ?? threads - 1) }
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        if checksInline {
            inner = out
        } else {
            let checker = CRCChecker(name: "gunzip-crc", output: out.channel, pool: out.pool, outputStats: out.stats)
            inner = Emitter(channel: checker.inbox, pool: out.pool, stats: out.stats, countsBytes: false)
            checker.start()
            self.checker = checker
        }
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
                let action = router.next(rest, decoder: decoder.position, poolIsIdle: parallel?.isIdle ?? true)
                let taken = try perform(action, on: rest, into: &out)
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
            // A member cut short, held or collected: the decoder reads what came and names
            // where it ends.
            while let action = router.inputEnded(poolIsIdle: parallel?.isIdle ?? true) {
                _ = try perform(action, on: UnsafeRawBufferPointer(start: nil, count: 0), into: &out)
            }
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

    /// Does what the router said, on `bytes`; returns how many of them it took.
    private mutating func perform(_ action: MemberRouter.Action, on bytes: UnsafeRawBufferPointer,
                                  into out: inout Emitter) throws(StageError) -> Int {
        switch action {
        case .decode:
            return try decoder.step(bytes, into: &inner, checker: checker)
        case .drain:
            try writeMembers(waiting: true, into: &out)
            try out.flush()
        case .startMember:
            try out.flush()
            var failure: StageError?
            router.takeHead().withUnsafeBytes { head in
                do throws(StageError) { try decoder.feed(head, into: &inner, checker: checker) } catch { failure = error }
            }
            if let failure { throw failure }
            return bytes.isEmpty ? 0 : try decoder.step(bytes, into: &inner, checker: checker)
        case .hold(let count):
            return count
        case .beginMember:
            try beginMember(&out)
        case .collect(let count, let ends):
            try collect(UnsafeRawBufferPointer(rebasing: bytes.prefix(count)), ends: ends, into: &out)
            return count
        case .replay:
            if let filling = parallel?.filling, filling.isCollecting { try decodeHere(filling, into: &out) }
        }
        return 0
    }

    // MARK: Members decoded in parallel

    /// A member of known size goes to the pool: it begins in the job being filled, with
    /// the bytes the router held. Writing out a job to free a slot may have handed
    /// everything to the decoder instead, the held bytes too.
    private mutating func beginMember(_ out: inout Emitter) throws(StageError) {
        guard let job = try fillingJob(&out) else { return }
        job.beginMember(number: decoder.member, start: decoder.offset)
        router.takeHead().withUnsafeBytes { job.append($0) }
    }

    /// Bytes of the member being collected; once it is whole, it joins the job's batch
    /// (submitted once full) if its output is at most 64 KiB, and else goes to the decoder.
    private mutating func collect(_ bytes: UnsafeRawBufferPointer, ends: Bool, into out: inout Emitter) throws(StageError) {
        let job = parallel!.filling!
        job.append(bytes)
        guard ends else { return }
        guard Int(job.collectedLength) <= ParallelInflater.memberBytes else {
            return try decodeHere(job, into: &out)
        }
        decoder.skipMember(endingAt: decoder.offset + job.collected.count)
        if job.acceptCollected() {
            parallel!.submit()
            try writeMembers(waiting: false, into: &out)
        }
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
            if router.mustSettle(emittedBytes: decoder.emittedBytes) {
                try settleChecker()
                router.settled(emittedBytes: decoder.emittedBytes)
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

    /// A member of known size whose output is larger than 64 KiB, or that the input cut
    /// short: every job before it written, the decoder reads it, and the
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
        try decoder.feed(from.bytes, into: &inner, checker: checker)
    }

    /// The worker could not vouch for the member after `job`'s clean ones: from its first
    /// byte on, everything is read by the decoder, which finds the error (or, for a member
    /// it reads differently, goes on exactly as it would have from the start).
    private mutating func decodeSequentially(from job: ParallelInflater.Job, into out: inout Emitter) throws(StageError) {
        let left = parallel!.abandon()
        precondition(left.first === job, "the job written out is the oldest in flight")
        parallel = nil
        router.poolEnded()
        try out.flush()
        let from = job.restart(at: job.cleanCount)
        decoder.restart(member: from.number, at: from.start)
        try decoder.feed(from.bytes, into: &inner, checker: checker)
        for other in left.dropFirst() {
            try decoder.feed(other.restart(at: 0).bytes, into: &inner, checker: checker)
        }
    }

    // MARK: Errors in stream order

    /// Sends what the decoder made and waits until the checker has forwarded all of it;
    /// throws the mismatch it found, if any.
    private mutating func settleChecker() throws(StageError) {
        guard let checker else { return try inner.flush() }
        try checker.settle(&inner, sentBytes: decoder.emittedBytes)
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

    /// zlib's inflate state and 32 KiB window, the checker's chunks (unless it checks
    /// inline), and with threads the router's held bytes and the parallel inflater's slots.
    static func heldBytes(chunkBytes: Int, threads: Int, checksInline: Bool) -> Int {
        let sequential = (48 << 10) + (checksInline ? 0 : CRCChecker.heldBytes(chunkBytes: chunkBytes))
        guard threads > 1 else { return sequential }
        return sequential + MemberRouter.maxHeadBytes + ParallelInflater.heldBytes(threads: threads, chunkBytes: chunkBytes)
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
        let policy = try TrailingPolicy.parse(args)
        do throws(StageError) {
            let checksInline = GzipStage.onlineCores == 1
            var plan = StagePlan(try GunzipStage(trailing: policy, threads: threads, checksInline: checksInline,
                                                 diagnostics: context.diagnostics),
                                 heldBytes: heldBytes(chunkBytes: context.chunkBytes, threads: threads, checksInline: checksInline))
            plan.output = .other
            if threads > 1 { plan.heldChunks = ParallelInflater.heldChunks(threads: threads, chunkBytes: context.chunkBytes) }
            return plan
        } catch {
            throw .runtime("gunzip: \(error.message)")
        }
    }
}
