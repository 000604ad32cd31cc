import Glibc

// # exec -j N: copies of a command side by side, on blocks of whole lines
//
// The stage's thread (the dispatcher) cuts its input into line-aligned blocks
// (`BlockCutter`: zero copy but for the rest of a chunk at each cut) and queues each as a
// job. N worker threads take the oldest queued job first. In the ordered mode (the
// default: GNU parallel's `--pipe -k`) a worker starts one command per block, writes the
// block to its stdin while it reads its stdout into chunks from the pool, in one poll(2)
// loop on non-blocking ends (`BlockCommand`), and reaps it. The worker learns how fast its
// commands read and write and sleeps between turns rather than waking on every page a
// command moves (`PipePacer`): `jq` reads 4 KiB at a time. Each block's output is that
// block's command's output, and the outputs go out in block order: so a command that
// sums up its input (`wc -l`, `sort`) does it per block, exactly as under parallel.
//
// ## Order
// `inFlight` lists the jobs submitted and not yet retired, oldest first; its first is the
// head. The head's worker sends its output straight down the stage's output channel as
// it reads it. Any other worker parks its command's output in its job, up to `parkBytes`,
// then waits to become the head (its command meanwhile fills its pipe and stops). A job
// whose command ended is done; a done head is retired by whichever worker finds it so
// (the one finishing it, or the one retiring the job before it), which first sends what
// it parked, one retirer at a time (`isRetiring`). The oldest queued job is always taken
// first, so the head is always running or done, and a worker that waits always waits for
// one that goes on: no deadlock.
//
// ## Memory
// At most `maxBlocks` (2N) jobs are in flight; the dispatcher waits for one to retire
// before it submits another, and holds at most the block it waits to submit and the one
// it fills. A job holds its block until written to the command, up to `parkBytes` of
// parked output, and the chunk being read into. A slow consumer holds the head's worker
// in `send`; the other jobs park, then wait; the slots stay full and the dispatcher
// stops taking input, so the pressure travels back to read(2). `heldBytes` is the sum.
// The command's two pipes are kernel memory (2 × --pipe-size per running command).
//
// ## Ends
// A command that fails (exits non-zero, dies by a signal, cannot start) fails its job;
// when that job would retire, its own output having been sent, the run fails instead,
// naming the command, the block's offset and the status, and no later job ever sends:
// nothing of a later block is written after an earlier block's failure. Downstream
// closing (a `send` refused) cancels the run. Either way, and when the stage closes,
// `stop` sets `isShuttingDown` and writes a byte to `wake`, which every worker polls:
// each ends its command (SIGTERM to its process group, SIGKILL after a grace), reaps it
// and returns. Commands are in `ChildRegistry`, so a signal that ends sluice ends them.
//
// Ownership: `queue`, `inFlight`, `failure`, the flags and each job's `isDone` are
// protected by `lock`; a job's `parked` is its worker's until `isDone`, then the
// retirer's.

/// What the `exec -j` stage asks of either engine (ordered, unordered).
protocol ExecEngine: AnyObject {
    /// Queues a block, waiting for room; false when no more input is wanted.
    func submit(_ block: Block) throws(StageError) -> Bool
    /// End of input: waits for every block's output to be sent.
    func finish() throws(StageError)
    /// Ends every command and thread, however the run ended.
    func stop()
}

final class ParallelExec: ExecEngine, @unchecked Sendable {
    /// One block's command.
    final class Job {
        let block: Block
        /// Output read while an earlier job's was still going out, in order.
        var parked: [Chunk] = []
        var parkedBytes = 0
        /// How the command failed; set by the worker before `isDone`.
        var failure: String?
        var isDone = false

        init(_ block: Block) { self.block = block }
    }

    let command: ExecCommand
    let jobs: Int
    /// Most jobs submitted and not retired.
    let maxBlocks: Int
    /// Most output a job that is not the head holds before its worker waits.
    let parkBytes: Int
    private let pool: ChunkPool
    private let output: BoundedChannel
    private let stats: NodeStats?

    private let lock = Lock()
    /// Signalled with `lock` on every change: a job queued, done or retired, a failure,
    /// a cancel, the shutdown.
    private let changed = Condition()
    private var queue: [Job] = []
    private var inFlight: [Job] = []
    private var isRetiring = false
    private var failure: String?
    private var isCancelled = false
    private var isShuttingDown = false
    private var workers: [Thread] = []
    private let wake: WakePipe

    /// The memory the engine holds for `jobs` workers, beyond its channel, for the bound.
    static func heldBytes(jobs: Int, blockBytes: Int, maxLineBytes: Int, chunkBytes: Int) -> Int {
        let block = BlockCutter.memoryBound(blockBytes: blockBytes, maxLineBytes: maxLineBytes, chunkBytes: chunkBytes)
        let parked = Saturating.sum(parkBytes(blockBytes: blockBytes, chunkBytes: chunkBytes), 2 * (chunkBytes + Chunk.overheadBytes))
        return Saturating.sum(Saturating.product(2 * jobs + 2, block), Saturating.product(2 * jobs, parked))
    }

    /// A block's worth of output, at least a chunk.
    static func parkBytes(blockBytes: Int, chunkBytes: Int) -> Int { max(blockBytes, chunkBytes) }

    init(_ command: ExecCommand, jobs: Int, blockBytes: Int, output: BoundedChannel, pool: ChunkPool,
         stats: NodeStats?) throws(StageError) {
        self.command = command
        self.jobs = jobs
        maxBlocks = 2 * jobs
        parkBytes = ParallelExec.parkBytes(blockBytes: blockBytes, chunkBytes: pool.chunkBytes)
        self.output = output
        self.pool = pool
        self.stats = stats
        wake = try WakePipe()
        workers = (0..<jobs).map { _ in Thread { [self] in work() } }
    }

    // MARK: Dispatcher

    /// Queues `block`, first waiting while `maxBlocks` are in flight. Throws when the
    /// run failed or was cancelled (the block is then given back).
    func submit(_ block: Block) throws(StageError) -> Bool {
        lock.lock()
        while !isStopped && inFlight.count >= maxBlocks { changed.wait(lock) }
        if let error = stopError {
            lock.unlock()
            block.recycle(to: pool)
            throw error
        }
        let job = Job(block)
        queue.append(job)
        inFlight.append(job)
        changed.broadcast()
        lock.unlock()
        stats?.counters.add(1, to: "blocks")
        return true
    }

    /// Waits until every job submitted is retired; throws as `submit` does.
    func finish() throws(StageError) {
        lock.lock()
        while !isStopped && !inFlight.isEmpty { changed.wait(lock) }
        let error = stopError
        lock.unlock()
        if let error { throw error }
    }

    /// Ends the workers (and their commands, if any still run) and gives back every chunk.
    func stop() {
        lock.withLock {
            isShuttingDown = true
            changed.broadcast()
        }
        wake.ring()
        for worker in workers { worker.join() }
        workers.removeAll()
        for job in inFlight {
            job.block.recycle(to: pool)
            for chunk in job.parked { pool.recycle(chunk) }
            job.parked.removeAll()
        }
        inFlight.removeAll()
        queue.removeAll()
        wake.close()
    }

    /// Under `lock`: the run cannot go on.
    private var isStopped: Bool { failure != nil || isCancelled || isShuttingDown }

    /// Under `lock`: what the dispatcher throws once stopped.
    private var stopError: StageError? {
        if let failure { return .failed(failure) }
        return isCancelled || isShuttingDown ? .downstreamClosed : nil
    }

    // MARK: Workers

    private func work() {
        let waits = NodeStats(name: "exec-worker")
        waits.begin()
        var pacers = BlockCommand.Pacers()
        while let job = nextJob() {
            run(job, waits: waits, pacers: &pacers)
            complete(job, waits: waits)
        }
        waits.end()
    }

    /// The oldest queued job, now the caller's; nil once stopped.
    private func nextJob() -> Job? {
        lock.lock()
        defer { lock.unlock() }
        while !isStopped && queue.isEmpty { changed.wait(lock) }
        return isStopped ? nil : queue.removeFirst()
    }

    /// Runs the job's command over its block, delivering its output; records a failure.
    private func run(_ job: Job, waits: NodeStats, pacers: inout BlockCommand.Pacers) {
        let block = job.block
        defer { block.recycle(to: pool) }
        stats?.counters.add(1, to: "commands")
        let child: BlockCommand
        do throws(StageError) {
            child = try BlockCommand(command)
        } catch {
            job.failure = error.message
            return
        }
        let ending = child.exchange(block, pool: pool, wake: wake, pacers: &pacers, isHead: { [self] in isHead(job) },
                                    deliver: { [self] chunk in deliver(chunk, for: job, waits: waits) })
        switch ending {
        case .finished:
            if let failure = ExecCommand.failure(child.reap(), name: command.name) {
                job.failure = "\(failure) on the block at byte \(block.offset)"
            }
        case .stopped:
            child.terminate()
        case .failed(let message):
            child.terminate()
            job.failure = "\(command.name): \(message) on the block at byte \(block.offset)"
        }
    }

    private func isHead(_ job: Job) -> Bool { lock.withLock { inFlight.first === job } }

    /// One chunk of the job's output: sent if the job is the head, else parked, else
    /// held until it is the head. False when the run stopped (the chunk is given back).
    private func deliver(_ chunk: Chunk, for job: Job, waits: NodeStats) -> Bool {
        lock.lock()
        while true {
            if isStopped {
                lock.unlock()
                pool.recycle(chunk)
                return false
            }
            if inFlight.first === job { break }
            if job.parked.isEmpty || job.parkedBytes + chunk.count <= parkBytes {
                job.parked.append(chunk)
                job.parkedBytes += chunk.count
                lock.unlock()
                return true
            }
            changed.wait(lock)
        }
        lock.unlock()
        return sendParked(job, waits: waits) && send(chunk, waits: waits)
    }

    /// The job's command ended: mark it done, and retire what can be retired.
    private func complete(_ job: Job, waits: NodeStats) {
        lock.lock()
        job.isDone = true
        changed.broadcast()
        retire(waits: waits)
        lock.unlock()
    }

    /// Under `lock`: retires done jobs from the head, sending what each parked; stops at
    /// a failed one, whose failure becomes the run's. One retirer at a time.
    private func retire(waits: NodeStats) {
        guard !isRetiring else { return }
        isRetiring = true
        defer { isRetiring = false }
        while !isStopped, let head = inFlight.first, head.isDone {
            if !head.parked.isEmpty {
                lock.unlock()
                let isSent = sendParked(head, waits: waits)
                lock.lock()
                if !isSent { return }
            }
            if let failure = head.failure {
                self.failure = failure
                changed.broadcast()
                wake.ring()
                return
            }
            inFlight.removeFirst()
            changed.broadcast()
        }
    }

    /// Sends what `job` parked, in order. False when downstream closed.
    private func sendParked(_ job: Job, waits: NodeStats) -> Bool {
        let parked = job.parked
        job.parked.removeAll()
        job.parkedBytes = 0
        for (i, chunk) in parked.enumerated() where !send(chunk, waits: waits) {
            for rest in parked[(i + 1)...] { pool.recycle(rest) }
            return false
        }
        return true
    }

    /// Sends `chunk` down the stage's output; a refusal cancels the run.
    private func send(_ chunk: Chunk, waits: NodeStats) -> Bool {
        let n = chunk.count
        if case .closed = output.send(chunk, waiter: waits) {
            lock.withLock {
                isCancelled = true
                changed.broadcast()
            }
            wake.ring()
            return false
        }
        stats?.bytesOut.add(n, ordering: .relaxed)
        return true
    }
}
