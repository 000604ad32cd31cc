import CZstd

/// `unzstd`: decompresses zstd input, frame after frame (skippable and legacy frames
/// too), as `zstd -dc` does, through the same libzstd. A frame whose window is over
/// 128 MiB is refused unless `--long=WLOG` or `--memory SIZE` allows it.
///
/// With threads (`-p`), frames of bounded size (pzstd's, `zstd -p`'s) are decoded side
/// by side by a `ParallelFrameDecoder` and written in order; every other frame, and every
/// frame from the first the threads could not decode exactly, by the sequential
/// `FrameDecoder`, so that errors, their offsets and the output before them are those of
/// one thread. The two never overlap: before the sequential decoder makes output, every
/// job in flight is written; an error it raises waits for them too (`settled`), so the
/// earliest error in the stream is the one reported.
public struct UnzstdStage: Stage {
    private var decoder: FrameDecoder
    private let diagnostics: Diagnostics?
    private let threads: Int
    private let poolWorkers: Int?
    /// Decodes eligible frames on worker threads; from `begin`, with threads, until a job
    /// did not decode exactly.
    private var parallel: ParallelFrameDecoder?
    /// The frame being copied into a job, and where it stands.
    private var collecting: (job: ParallelFrameDecoder.Job, walker: BlockWalker)?

    /// - Parameters:
    ///   - poolWorkers: threads the parallel decoder starts besides the stage's own
    ///     (default `threads - 1`); with 0 the stage's thread decodes every job itself, as
    ///     the fuzzer runs it.
    public init(trailing: TrailingPolicy = .error, maxWindowBytes: UInt64 = 1 << UInt64(Zstd.defaultWindowLog),
                threads: Int = 1, poolWorkers: Int? = nil, diagnostics: Diagnostics? = nil) throws(StageError) {
        decoder = try FrameDecoder(trailing: trailing, maxWindowBytes: maxWindowBytes)
        self.diagnostics = diagnostics
        self.threads = threads
        self.poolWorkers = poolWorkers
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        if threads > 1 {
            parallel = ParallelFrameDecoder(threads: threads, workers: poolWorkers, chunkPool: out.pool)
            decoder.stopsAtFrames = true
        }
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        do {
            var rest = input.bytes
            while !rest.isEmpty {
                let taken = collecting != nil ? try collect(rest, into: &out) : try decoder.step(rest, into: &out)
                rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                if decoder.readyFrame != nil { try route(into: &out) }
            }
            try writeFrames(waiting: false, into: &out)
            try warnOnce(&out)
        } catch {
            throw settled(error, &out)
        }
        return .more
    }

    /// Before waiting for input: what is decoded goes out; frames in flight stay there.
    public mutating func willWait(into out: inout Emitter) throws(StageError) {
        do { try writeFrames(waiting: false, into: &out) } catch { throw settled(error, &out) }
        try out.flush()
    }

    /// 2 ms: with threads, once input pauses (a live stream), the frames in flight are
    /// written, and a frame half collected is read here instead, so its output does not
    /// wait for its end; a file input never pauses that long.
    public var idleNanos: UInt64? { threads > 1 ? 2_000_000 : nil }

    public mutating func idle(into out: inout Emitter) throws(StageError) {
        do {
            try decodeCollectedHere(into: &out)
            try writeFrames(waiting: true, into: &out)
            try warnOnce(&out)
            try out.flush()
        } catch {
            throw settled(error, &out)
        }
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        do {
            try decodeCollectedHere(into: &out)
            try writeFrames(waiting: true, into: &out)
            try decoder.finish()
            try warnOnce(&out)
        } catch {
            throw settled(error, &out)
        }
    }

    public mutating func close() {
        if let collecting { collecting.job.recycleChunks(into: parallel!.chunkPool) }
        collecting = nil
        parallel?.stop()
        parallel = nil
    }

    // MARK: Routing

    /// A frame's header was read: the threads decode it if it is eligible and there is a
    /// pool; else, once every job before it is written, the sequential decoder does.
    private mutating func route(into out: inout Emitter) throws(StageError) {
        let ready = decoder.readyFrame!
        if let header = ready.header, header.frameType == ZSTD_skippableFrame {
            // Skipped: no output, so no order to keep.
            return try decoder.startFrame(into: &out)
        }
        guard parallel != nil, let header = ready.header, ParallelFrameDecoder.isEligible(header) else {
            try writeFrames(waiting: true, into: &out)
            return try decoder.startFrame(into: &out)
        }
        guard let job = try fillingJob(&out) else { return try decoder.startFrame(into: &out) }
        let contentBytes = header.frameContentSize == UInt64.max ? nil : header.frameContentSize
        job.reset(frame: ready.frame, start: ready.start, contentBytes: contentBytes, pool: parallel!.chunkPool)
        job.input.append(contentsOf: ready.head)
        decoder.handOff()
        collecting = (job, BlockWalker(frameStart: ready.start, headerBytes: ready.head.count,
                                       hasChecksum: header.checksumFlag != 0))
    }

    /// Copies the frame's bytes into its job, part by part as the walker finds them;
    /// submits the job once the frame is whole. A frame that outgrows a job is read here.
    private mutating func collect(_ bytes: UnsafeRawBufferPointer, into out: inout Emitter) throws(StageError) -> Int {
        var (job, walker) = collecting!
        var used = 0
        while used < bytes.count {
            let n = walker.partBytes(bytes.count - used)
            if n == 0 { break }
            guard job.input.count + n <= ParallelFrameDecoder.maxInputBytes else {
                collecting = (job, walker)
                try decodeCollectedHere(into: &out)
                return used
            }
            let part = UnsafeRawBufferPointer(rebasing: bytes[used ..< used + n])
            job.input.append(contentsOf: part)
            walker.passed(part, at: job.start + job.input.count - n)
            used += n
        }
        collecting = (job, walker)
        if walker.partBytes(1) == 0 {
            // The frame is whole (as far as its blocks say; the worker checks).
            collecting = nil
            decoder.skipFrame(endingAt: job.start + job.input.count)
            parallel!.submit()
            try writeFrames(waiting: false, into: &out)
        }
        return used
    }

    /// The frame being collected is read by the sequential decoder after all (cut short,
    /// too large, or the input paused), once every job before it is written.
    private mutating func decodeCollectedHere(into out: inout Emitter) throws(StageError) {
        guard let (job, _) = collecting else { return }
        collecting = nil
        try writeFrames(waiting: true, into: &out)
        decoder.restart(frame: job.frame, at: job.start)
        try feed(job.input, into: &out)
    }

    /// The job to collect into, writing out the oldest to free one if need be; nil if
    /// the pool was abandoned meanwhile.
    private mutating func fillingJob(_ out: inout Emitter) throws(StageError) -> ParallelFrameDecoder.Job? {
        while let parallel {
            if let job = parallel.filling { return job }
            try writeOldest(waiting: true, into: &out)
        }
        return nil
    }

    // MARK: Writing jobs in order

    private mutating func writeFrames(waiting: Bool, into out: inout Emitter) throws(StageError) {
        while parallel?.hasJobs == true {
            guard try writeOldest(waiting: waiting, into: &out) else { return }
        }
    }

    /// Writes the oldest job if it is done (or once done, if `waiting`): its chunks, or
    /// for a frame too large for a job, the frame decoded here; for a frame the worker
    /// could not decode exactly, everything from it on is read here.
    @discardableResult
    private mutating func writeOldest(waiting: Bool, into out: inout Emitter) throws(StageError) -> Bool {
        guard let parallel, let job = parallel.oldest(waiting: waiting) else { return false }
        switch job.outcome {
        case .clean:
            for chunk in job.chunks { try out.forward(ChunkLease(chunk, pool: out.pool)) }
            job.chunks.removeAll(keepingCapacity: true)
            parallel.release()
        case .tooLarge:
            job.recycleChunks(into: parallel.chunkPool)
            try decodeAlone(job, into: &out)
            parallel.release()
        case .unclean:
            try decodeSequentially(from: job, into: &out)
        }
        return true
    }

    /// A whole frame too large for a job, read here; the decoder then goes back to where
    /// the stream is. If the frame turned out not to end where the job does, everything
    /// from it on is read here instead.
    private mutating func decodeAlone(_ job: ParallelFrameDecoder.Job, into out: inout Emitter) throws(StageError) {
        let current = decoder
        try out.flush()
        decoder.restart(frame: job.frame, at: job.start)
        decoder.stopsAtFrames = false
        do {
            try feed(job.input, into: &out)
        } catch {
            // Not too large after all, but damaged: the error, with nothing in flight to settle.
            _ = parallel?.abandon()
            parallel = nil
            collecting = nil
            throw error
        }
        guard decoder.isBetweenFrames, decoder.offset == job.start + job.input.count else {
            // The frame does not end where the job does: everything from it on is read here.
            decoder.restart(frame: job.frame, at: job.start)
            return try decodeRestSequentially(from: job, into: &out)
        }
        decoder = current
    }

    /// The worker could not decode `job`'s frame exactly: from its first byte on,
    /// everything is read by the sequential decoder, which finds the error (or, for a
    /// frame it reads differently, goes on exactly as it would have from the start).
    private mutating func decodeSequentially(from job: ParallelFrameDecoder.Job, into out: inout Emitter) throws(StageError) {
        try out.flush()
        decoder.restart(frame: job.frame, at: job.start)
        try decodeRestSequentially(from: job, into: &out)
    }

    /// The decoder stands at `job`'s first byte: it reads the bytes of that job, of every
    /// later job in flight and of the frame being collected, and all input from here on.
    /// The pool ends first, so that an error raised here is not settled against it again.
    private mutating func decodeRestSequentially(from job: ParallelFrameDecoder.Job, into out: inout Emitter) throws(StageError) {
        decoder.stopsAtFrames = false
        let left = parallel!.abandon()
        precondition(left.first === job, "the job written out is the oldest in flight")
        let pool = parallel!.chunkPool
        parallel = nil
        var inputs = left.map { other in
            other.recycleChunks(into: pool)
            return other.input
        }
        if let (collected, _) = collecting {
            collecting = nil
            inputs.append(collected.input)
        }
        for input in inputs { try feed(input, into: &out) }
    }

    /// Every step of the sequential decoder over `bytes`.
    private mutating func feed(_ bytes: [UInt8], into out: inout Emitter) throws(StageError) {
        var failure: StageError?
        bytes.withUnsafeBytes { all in
            var rest = all
            do throws(StageError) {
                while !rest.isEmpty {
                    let taken = try decoder.step(rest, into: &out)
                    rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        // Bytes that end with a frame's header leave the frame to start here.
        if decoder.readyFrame != nil { try decoder.startFrame(into: &out) }
    }

    // MARK: Errors in stream order

    /// The error to report for `error`, raised on this thread: an error in a frame in
    /// flight, before it in the stream, comes first.
    private mutating func settled(_ error: StageError, _ out: inout Emitter) -> StageError {
        guard case .failed = error, parallel?.hasJobs == true else { return error }
        collecting = nil
        do throws(StageError) { try writeFrames(waiting: true, into: &out) } catch {
            if case .failed = error { return error }
        }
        return error
    }

    /// Prints the decoder's warning once every frame before the garbage was written, so
    /// that it never comes before an error about one of them.
    private mutating func warnOnce(_ out: inout Emitter) throws(StageError) {
        guard decoder.warning != nil, collecting == nil else { return }
        try writeFrames(waiting: true, into: &out)
        if let warning = decoder.warning { diagnostics?.warn("unzstd", warning) }
        decoder.warning = nil
    }

    /// The sequential decoder for windows up to `maxWindowBytes`, and with threads the
    /// parallel decoder's jobs and contexts.
    static func heldBytes(maxWindowBytes: UInt64, threads: Int, chunkBytes: Int) -> Int {
        let sequential = FrameDecoder.heldBytes(maxWindowBytes: maxWindowBytes)
        guard threads > 1 else { return sequential }
        return sequential + ParallelFrameDecoder.heldBytes(threads: threads, chunkBytes: chunkBytes)
    }

    public static let descriptor = StageDescriptor(
        name: "unzstd", aliases: ["zstdcat"],
        synopsis: "unzstd [-p N] [--long[=WLOG] | --memory SIZE] [--trailing=error|warn|ignore] [-ck]",
        summary: "decompress zstd input, concatenated and skippable frames too, checking every checksum; "
            + "frames of bounded size (pzstd's) in parallel",
        options: [
            OptionSpec("p", "threads", .required("N"),
                       help: "decode frames of at most 8 MiB (pzstd's) on N threads (default: one per core)"),
            OptionSpec("T", nil, .required("N"), key: "threads", help: "the same, as zstd spells it (-T2)"),
            OptionSpec(nil, "long", .optional("WLOG"),
                       help: "allow frames with a window up to 2^WLOG bytes (27 without WLOG; 10 to 31)"),
            OptionSpec(nil, "memory", .required("SIZE"),
                       help: "allow frames with a window up to SIZE (default 128M)"),
            TrailingPolicy.option,
            OptionSpec("d", "decompress", help: "accepted, as zstd's: unzstd decompresses"),
        ] + GzipStage.gzipHabits
    ) { args, context throws(SluiceError) in
        let policy = try TrailingPolicy.parse(args)
        let threads = try args.threadCount("threads", default: GzipStage.onlineCores)
        var maxWindow = UInt64(1) << UInt64(Zstd.defaultWindowLog)
        // The last of --long and --memory counts, as in zstd.
        if let last = args.parsed.given.last(where: { $0.key == "long" || $0.key == "memory" }) {
            if last.key == "long" {
                maxWindow = UInt64(1) << UInt64(try ZstdStage.windowLog(last, args))
            } else {
                maxWindow = UInt64(try args.parseSize(last.value ?? "", for: last.spelling, min: 1 << 10,
                                                      max: 1 << Zstd.maxWindowLog))
            }
        }
        do throws(StageError) {
            var plan = StagePlan(try UnzstdStage(trailing: policy, maxWindowBytes: maxWindow, threads: threads,
                                                 diagnostics: context.diagnostics),
                                 heldBytes: heldBytes(maxWindowBytes: maxWindow, threads: threads,
                                                      chunkBytes: context.chunkBytes))
            plan.output = .other
            if threads > 1 {
                plan.heldChunks = ParallelFrameDecoder.heldChunks(threads: threads, chunkBytes: context.chunkBytes)
            }
            return plan
        } catch {
            throw .runtime("unzstd: \(error.message)")
        }
    }
}

