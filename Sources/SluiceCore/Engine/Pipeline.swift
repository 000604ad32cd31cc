import Synchronization
import Glibc

// # How the pipeline runs
//
// ## Threads
// One thread per node: the reader (stdin → channel 0), one per stage (channel i →
// channel i+1), and the writer (channel n → stdout). The main thread starts them, then
// only watches (progress, the stall watchdog) and joins. Nodes share nothing but the
// channels between them, the chunk pool, the `Outcome`, and their own `NodeStats`. Some
// stages start helper threads of their own: gunzip's CRC checker and, for BGZF members,
// its `-p` decode workers; exec's drain thread, and `exec -j`'s N workers (with N drains
// when unordered); gzip's `-p` compression workers. Each forwards into the stage's
// output channel, or hands its results back in order to the stage's thread, and charges
// its waits to stats of its own.
//
// ## Who owns a chunk when
// A chunk comes from the pool. The node that took it fills it and owns it until `send`
// returns `.sent`; then the channel owns it; `receive` hands it to the next node. A
// stage gets its input as a `ChunkLease`, a value that cannot be copied: `forward`
// consumes it (zero copy: `cat`, `head -c` until its count, `tee`), and otherwise it
// returns the chunk to the pool when `process` ends, on every path. The compiler, not a
// flag, knows which. The writer recycles each chunk after write(2). A `.closed` send
// recycles the chunk it refused.
//
// ## Each side closes with a reason
// A channel has two ends and each closes once, with a reason the other end receives
// (Go's `io.Pipe.CloseWithError`). The sender closes with a `StreamEnd`: `.endOfInput`
// when the stream is whole, `.upstreamFailed(error)` when it stops because something
// above failed. The receiver closes with a `StreamCancel`: `.cancelled` when it wants no
// more (`head` has its lines, or a consumer below went away), `.downstreamFailed(error)`
// when it failed. No flags are reconciled afterwards: the stage loop switches on what
// `receive` returned.
//
// ## End of input flows down
// The reader gets 0 from read(2) and closes channel 0 with `.endOfInput`. A stage
// receives `.ended(.endOfInput)` once the queue is drained, calls its `finish` (a last
// line, a gzip trailer), flushes, and closes its output the same way. The writer writes
// what is queued and ends. A failure upstream arrives as `.ended(.upstreamFailed)`:
// downstream stages still flush what they made, so everything decoded before the error
// reaches stdout, but they do not finish the stream as if it were whole (gzip writes no
// trailer for half an input), and pass the same reason on. The one exception is asked
// for by the stage (`Stage.finishesAfterUpstreamFailure`) and granted in one place, the
// stage loop: a stage that speaks at the end of its input (tail, grep -c, a last line
// without a newline) says it of what came, as the next command of a shell pipeline does
// when the one before it dies; its output still ends with the upstream failure.
//
// ## Cancellation flows up
// A stage that has what it wants, a stage that fails, and a writer whose stdout is
// closed (EPIPE) or broken each close their input channel with a `StreamCancel`: its
// queue is dropped and the producer's blocked or next `send` returns `.closed(reason)`;
// the close cascades to every channel above in the same call, so a producer waiting for
// input receives `.cancelled` too: each stage stops at once, whatever it was waiting on.
// The reader may be blocked in read(2) on a quiet stdin; nothing downstream waits for it
// — the main thread joins every node but a reader that has not finished, then the
// process exits, which ends it. So `yes | sluice head -n 3` and `sleep 9 | sluice head
// -c 0` both end at once. With `--drain` (a host such as Hadoop Streaming that fails
// when its child stops reading), a reader whose channel was cancelled goes on reading
// stdin to its end into the chunk it holds, passing nothing on, and the main thread
// waits for it.
//
// ## Water marks and overflow
// Each channel asks a `WaterMarks` value, under its lock, the three questions of its
// policy: must the sender wait (at `highWaterMark` bytes, or `maxChunks` chunks), may a
// waiting sender go on (drained to `lowWaterMark`), may the receiver take (the `--start`
// gate). What a full buffer does instead of waiting is one `Overflow` value: block, drop
// the newest or the oldest whole lines (`LineShedder` says what to keep of each chunk),
// or spill to disk (`SpillBacklog` says whether a chunk goes to memory, to the file, or
// waits). Each is a value with no lock and no thread, so the unit tests ask it directly.
//
// ## The plan
// A run is a `RunPlan`: the `StagePlan`s, each with its `BufferSettings`, stdin's own
// buffer, the chunk size, and what stdin is (`InputFile`, asked once). The command line
// builds it (`CLI/BufferOptions.swift` reads each buffer option once: a stage's own over
// the global ones over the engine's defaults); `Pipeline` runs it and knows nothing of
// the command line.
//
// ## Where stdin is left
// The reader reads ahead, so a stage that stops early has not used all that was read. On
// a regular file the first stage can say what it consumed (`InputConsumption`: head, grep
// -m); after a normal run `positionInput` seeks stdin just past that, as those tools do.
//
// ## Errors
// The first failure recorded in `Outcome` wins: a stage's error, a read error, a write
// error, or the quiet broken pipe. `main` prints it once; the reasons that travel with
// the closes only steer the other nodes. Without a failure the run exits 0, unless a
// stage that tests its input (`grep -q`) left the verdict that it selected nothing: each
// stage's thread records its `Stage.verdict` in `Outcome` when it is done, and `main`
// reads the combined one after every thread is joined.
//
// ## The memory bound
// Channel i holds under `hwm_i + chunk` bytes, in at most `ceil(hwm_i / chunk) + 1`
// chunks (`WaterMarks.maxChunks`); its queue of slots grows with what it holds, so an
// idle channel with a large high-water mark takes no memory. Each thread holds at most
// two chunks of its own (the input it works on, the output it fills). Stages hold their
// own state on top (`StagePlan.heldBytes`): a line stage at most `--max-line` bytes of
// one line, gzip its zlib state, `tail -n N` and `head -n -N` N lines
// (`ByteQueue.memoryBound`), `grep -B N` N lines (`RecentLines.memoryBound`), `exec -j N`
// 2N + 2 blocks and 2N parked outputs (`ParallelExec.heldBytes`; `UnorderedExec.heldBytes`:
// 2N + 2 blocks and N held lines). The pool keeps idle chunks only up to what the channels
// could hold, and the chunks stages hold (`StagePlan.heldChunks`, within their held bytes).
// So:
//
//     memory ≤ base + (Σ_i maxChunks_i + (stages + 2) × 2) × (chunk + overhead) + Σ_s held_s
//
// about `base + Σ (hwm_i + 2 × chunk) + (stages + 2) × 2 × chunk + Σ held_s` for
// ordinary chunk sizes, where base is the binary's own few MiB and overhead the
// bookkeeping of one chunk (`Chunk.overheadBytes`, 192 bytes), which matters only when
// chunks are tiny (`--chunk 1`). `memoryBound` computes it; `--stats=json` prints it beside
// the measured peak RSS, and a test holds one under the other. The sums saturate at
// `Int.max` (`Saturating`): `tail -n 1000000000000` has a bound past any memory, not a trap.

/// Threads, channels and counters of one run: made from a `RunPlan`, started, waited for.
/// The three kinds of node it runs are in Pipeline+Nodes.swift.
public final class Pipeline: @unchecked Sendable {
    /// Capacity of every chunk, and the read(2) size.
    public let chunkBytes: Int
    /// Every node in order: stdin, the stages, stdout.
    public let nodes: [NodeStats]
    /// Channel i feeds node i + 1.
    public let channels: [BoundedChannel]
    public let pool: ChunkPool
    public let outcome = Outcome()
    /// Bytes left to read when stdin is a regular file (past the offset the first stage
    /// starts at), for percent done and ETA; nil for a pipe or terminal.
    public var inputSize: Int? { inputFile?.remainingBytes }
    /// Stage bytes held beyond chunks, summed, for `memoryBound`.
    private let heldBytes: Int
    /// stdin, if a regular file, with the offset the first stage starts reading at.
    private let inputFile: InputFile?
    /// How to tell what the first stage consumed (`StagePlan.inputConsumption`).
    private let firstConsumption: InputConsumption?
    private var plans: [StagePlan]
    // Internal rather than private from here on only for Pipeline+Nodes.swift.
    let input: FileDescriptor
    let output: FileDescriptor
    /// `RunPlan.drainsInput`.
    let drainsInput: Bool

    /// Protects `isWriterDone`, `isReaderDone` and `firstStageEnd`; `done` is signalled
    /// with it.
    let lock = Lock()
    let done = Condition()
    var isWriterDone = false
    var isReaderDone = false
    /// How the first stage's loop ended; set by its thread.
    var firstStageEnd: StageEnd?
    private var threads: [Thread] = []
    private var readerThread: Thread?
    /// Monotonic instants of start and end of the run.
    /// Atomic: the signal thread reads them for a report while the run goes on.
    public var startNanos: UInt64 { startStamp.load(ordering: .acquiring) }
    public var endNanos: UInt64 { endStamp.load(ordering: .acquiring) }
    private let startStamp = Atomic<UInt64>(0)
    private let endStamp = Atomic<UInt64>(0)

    /// Set when a buffer's spill file could not be made (`--spill` on a missing or
    /// read-only directory): the run must not start.
    public private(set) var setupFailure: SluiceError?

    /// `input` is stdin as `plan.inputFile` describes it; on a regular file its offset
    /// is moved ahead to where the first stage starts (`tail`). `diagnostics`: where a
    /// buffer that stops spilling says so.
    public init(_ plan: RunPlan, input: FileDescriptor = .standardInput, output: FileDescriptor = .standardOutput,
                diagnostics: Diagnostics? = nil) {
        let stages = plan.stages
        chunkBytes = plan.chunkBytes
        drainsInput = plan.drainsInput
        self.input = input
        self.output = output
        var file = plan.inputFile
        file?.skipAhead(input, to: stages.first?.inputStart)
        inputFile = file
        firstConsumption = stages.first?.inputConsumption
        plans = stages
        let nodes = [NodeStats(name: "stdin")]
            + stages.map { NodeStats(name: $0.name, label: $0.label.isEmpty ? $0.name : $0.label) }
            + [NodeStats(name: "stdout")]
        self.nodes = nodes
        let buffers = [plan.inputBuffer] + stages.map(\.buffer)
        let marks = buffers.map { $0.waterMarks(chunkBytes: plan.chunkBytes) }
        // Idle chunks are kept up to what the ordinary channels can hold (a `buffer`
        // stage's large channel is left out, so its memory is returned as it drains),
        // plus two per thread and those the stages hold.
        let ordinarySlots = buffers.indices.filter { buffers[$0].keepsIdleChunks }
            .reduce(2 * nodes.count) { Saturating.sum($0, marks[$1].maxChunks) }
            + stages.reduce(0) { Saturating.sum($0, $1.heldChunks) }
        let pool = ChunkPool(chunkBytes: plan.chunkBytes, maxIdleChunks: ordinarySlots)
        self.pool = pool
        var failure: SluiceError?
        channels = marks.indices.map { i in
            do throws(Errno) {
                let channel = try BoundedChannel(marks[i], pool: pool, overflow: buffers[i].overflow)
                let name = nodes[i].label
                channel.onSpillWarning = { diagnostics?.warn(name, $0) }
                return channel
            } catch {
                if case .spill(let directory, _) = buffers[i].overflow {
                    failure = failure ?? .runtime("\(nodes[i].label): --spill \(directory): \(error)")
                }
                return BoundedChannel(marks[i], pool: pool)
            }
        }
        setupFailure = failure
        for i in channels.indices.dropFirst() { channels[i].upstream = channels[i - 1] }
        heldBytes = stages.reduce(0) { Saturating.sum($0, $1.heldBytes) }
    }

    /// After a run that ended normally, leaves a regular-file stdin just past what the
    /// first stage consumed (`InputConsumption`), as coreutils head and `grep -m` leave
    /// it. Nothing is done when the first stage cannot tell, or did not end by itself
    /// (a stage below it stopped first): what it consumed is then not known exactly.
    public func positionInput() {
        guard let start = inputFile?.offset, let consumption = firstConsumption,
              let end = lock.withLock({ firstStageEnd }), end == .finished || end == .stopped,
              let size = input.regularFileSize else { return }
        let consumed: Int
        switch consumption {
        case .output: consumed = nodes[1].bytesOut.load(ordering: .relaxed)
        case .counted(let counter): consumed = counter.count
        }
        // grep counts the newline it adds to a last line without one: never past the end.
        try? input.seek(to: min(Saturating.sum(start, consumed), max(size, start)))
    }

    /// The memory bound of the essay above, without the binary's base: every chunk that
    /// can exist at once, each with its bookkeeping, plus what stages hold. Saturates
    /// instead of overflowing (`--hwm 1T --chunk 1` is a valid, if absurd, request).
    public var memoryBound: Int {
        let chunks = channels.reduce(nodes.count * 2) { Saturating.sum($0, $1.maxChunks) }
        return Saturating.sum(Saturating.product(chunks, chunkBytes + Chunk.overheadBytes), heldBytes)
    }

    /// Starts every thread.
    public func start() {
        startStamp.store(monotonicNanos(), ordering: .releasing)
        readerThread = Thread { [self] in runReader() }
        for i in plans.indices {
            var plan = plans[i]
            let node = nodes[i + 1]
            let (input, output) = (channels[i], channels[i + 1])
            threads.append(Thread { [self] in
                runStage(&plan.stage, name: plan.name, node: node, input: input, output: output, isFirst: i == 0)
            })
        }
        plans.removeAll()
        threads.append(Thread { [self] in runWriter() })
    }

    /// Waits until the writer is done, calling `tick` every `tickNanos` while it runs
    /// (progress, watchdog); `tick` returns false to stop waiting at once (the watchdog
    /// fired: threads may be stuck, so they are not joined). Returns true when the run
    /// ended by itself and every thread but a blocked reader was joined.
    @discardableResult
    public func wait(tickNanos: UInt64 = 0, tick: () -> Bool = { true }) -> Bool {
        lock.lock()
        while !isWriterDone {
            if tickNanos == 0 {
                done.wait(lock)
                continue
            }
            done.wait(lock, untilNanos: monotonicNanos() + tickNanos)
            if isWriterDone { break }
            lock.unlock()
            let keepWaiting = tick()
            lock.lock()
            if !keepWaiting {
                lock.unlock()
                endStamp.store(monotonicNanos(), ordering: .releasing)
                return false
            }
        }
        lock.unlock()
        for thread in threads { thread.join() }
        lock.lock()
        let readerFinished = isReaderDone
        lock.unlock()
        // A reader blocked in read(2) on a quiet stdin is let go; the exit ends it. On a
        // regular file read(2) does not wait, and the reader must be done before
        // `positionInput` moves the offset under it; a draining reader is waited for:
        // reading to the end is what it is for.
        if readerFinished || inputFile?.offset != nil || drainsInput { readerThread?.join() } else { readerThread?.detach() }
        for (i, channel) in channels.enumerated() {
            if let failure = channel.spillFailure, let message = failure.message {
                outcome.record(.runtime("\(nodes[i].label): \(message)"))
            }
        }
        endStamp.store(monotonicNanos(), ordering: .releasing)
        return true
    }
}
