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
// The jobs are slots of the ordered job pool (`Engine/OrderedJobPool.swift`), in its mode
// where the threads retire: the oldest job in flight is the head. The head's worker sends
// its command's output straight down the stage's output channel as it reads it. Any other
// worker parks its command's output in its job, up to `parkBytes`, then waits to become
// the head (its command meanwhile fills its pipe and stops). A job whose command ended is
// done; the pool retires done jobs from the head on, through whichever worker finds them
// so (the one finishing a job, or the one retiring the job before it), one retirer at a
// time, which first sends what each parked. The oldest queued job is always taken first,
// so the head is always running or done, and a worker that waits always waits for one
// that goes on: no deadlock.
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
// the pool stops, and its `onStop` writes a byte to `wake`, which every worker polls:
// each ends its command (`ChildProcess.terminate`: SIGTERM to its process group, SIGKILL
// after the grace), reaps it and returns. Commands are in `ChildRegistry`, so a signal
// that ends sluice ends them.
//
// Ownership: the pool's: a job is the dispatcher's while it fills it, its worker's
// while it runs (`parked` included), the retirer's once done.

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
    /// One block's command: what a job of the pool holds.
    final class Job: PoolJob {
        var block: Block?
        /// Output read while an earlier job's was still going out, in order.
        var parked: [Chunk] = []
        var parkedBytes = 0
        /// How the command failed; set by the worker before the job is done.
        var failure: String?
    }

    /// One worker's own: its waits on the output (for the stats) and the pace its
    /// commands set.
    final class Worker {
        let waits = NodeStats(name: "exec-worker")
        var pacers = BlockCommand.Pacers()

        init() { waits.begin() }
        deinit { waits.end() }
    }

    let command: ExecCommand
    let jobs: Int
    /// Most jobs submitted and not retired.
    let maxBlocks: Int
    /// Most output a job that is not the head holds before its worker waits.
    let parkBytes: Int
    private let chunkPool: ChunkPool
    private let output: BoundedChannel
    private let stats: NodeStats?
    /// `maxBlocks` jobs, N workers; made last in `init`.
    private var pool: OrderedJobPool<Job, Worker>!
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
        chunkPool = pool
        self.stats = stats
        let wake = try WakePipe()
        self.wake = wake
        // Unowned: `stop` joins the workers before this can go.
        self.pool = OrderedJobPool(slots: (0..<maxBlocks).map { _ in Job() }, workers: jobs, dispatcherHelps: false,
                                   makeWorker: { Worker() },
                                   run: { [unowned self] job, worker in run(job, worker) },
                                   retire: { [unowned self] job, worker in sendParked(job, waits: worker.waits) })
        self.pool.onStop = { wake.ring() }
    }

    // MARK: Dispatcher

    /// Queues `block`, first waiting while `maxBlocks` are in flight. Throws when the
    /// run failed or was cancelled (the block is then given back).
    func submit(_ block: Block) throws(StageError) -> Bool {
        guard let job = pool.nextSlot() else {
            block.recycle(to: chunkPool)
            throw pool.stopError ?? .downstreamClosed
        }
        job.block = block
        job.failure = nil
        pool.submit()
        stats?.counters.add(1, to: "blocks")
        return true
    }

    /// Waits until every job submitted is retired; throws as `submit` does.
    func finish() throws(StageError) {
        try pool.drain()
    }

    /// Ends the workers (and their commands, if any still run) and gives back every chunk.
    func stop() {
        for job in pool.abandon() {
            job.block?.recycle(to: chunkPool)
            job.block = nil
            for chunk in job.parked { chunkPool.recycle(chunk) }
            job.parked.removeAll()
            job.parkedBytes = 0
        }
        wake.close()
    }

    // MARK: Workers

    /// Runs the job's command over its block, delivering its output; records a failure.
    private func run(_ job: Job, _ worker: Worker) {
        guard let block = job.block else { return }
        defer {
            block.recycle(to: chunkPool)
            job.block = nil
        }
        stats?.counters.add(1, to: "commands")
        let child: BlockCommand
        do throws(StageError) {
            child = try BlockCommand(command)
        } catch {
            job.failure = error.message
            return
        }
        let ending = child.exchange(block, pool: chunkPool, wake: wake, pacers: &worker.pacers,
                                    isHead: { [self] in pool.turn(of: job) == .now },
                                    deliver: { [self] chunk in deliver(chunk, for: job, waits: worker.waits) })
        switch ending {
        case .finished:
            if let failure = ChildProcess.failure(child.reap(), name: command.name) {
                job.failure = "\(failure) on the block at byte \(block.offset)"
            }
        case .stopped:
            child.terminate()
        case .failed(let message):
            child.terminate()
            job.failure = "\(command.name): \(message) on the block at byte \(block.offset)"
        }
    }

    /// One chunk of the job's output: sent if the job is the head, else parked, else
    /// held until it is the head. False when the run stopped (the chunk is given back).
    private func deliver(_ chunk: Chunk, for job: Job, waits: NodeStats) -> Bool {
        var turn = pool.turn(of: job)
        if turn == .later {
            if job.parked.isEmpty || job.parkedBytes + chunk.count <= parkBytes {
                job.parked.append(chunk)
                job.parkedBytes += chunk.count
                return true
            }
            turn = pool.waitUntilOldest(job) ? .now : .stopped
        }
        guard turn == .now else {
            chunkPool.recycle(chunk)
            return false
        }
        return sendParked(job, waits: waits) && send(chunk, waits: waits)
    }

    /// Sends what `job` parked, in order. False when downstream closed.
    private func sendParked(_ job: Job, waits: NodeStats) -> Bool {
        let parked = job.parked
        job.parked.removeAll()
        job.parkedBytes = 0
        for (i, chunk) in parked.enumerated() where !send(chunk, waits: waits) {
            for rest in parked[(i + 1)...] { chunkPool.recycle(rest) }
            return false
        }
        return true
    }

    /// Sends `chunk` down the stage's output; a refusal cancels the run.
    private func send(_ chunk: Chunk, waits: NodeStats) -> Bool {
        let n = chunk.count
        if case .closed = output.send(chunk, waiter: waits) {
            pool.cancel()
            return false
        }
        stats?.bytesOut.add(n, ordering: .relaxed)
        return true
    }
}
