import CSys
import Glibc

// # exec -j N --unordered: N long-lived copies, output lines as they come
//
// The dispatcher cuts blocks as in the ordered mode (`BlockCutter`) and queues them, at
// most N waiting. Each of N feeder threads starts its copy of the command at its first
// block, then writes block after block to that copy's stdin (a copy that is slow to read
// holds its feeder, and the others take the next blocks). Feeders and drains pace their
// turns as the ordered mode's workers do (`PipePacer`), rather than waking on every page. Each copy
// has a drain thread that reads its stdout into chunks and sends only whole lines: the
// part of a chunk after its last newline is copied into the next chunk, and a line
// longer than a chunk is held until its end (up to --max-line). The drains send under
// `sendLock`, a group of chunks at a time, so lines from two copies never mix inside a
// line. There are no block boundaries in the output: the mode is for filters that treat
// each line alone (grep, jq select, sed), and saves starting a command per block.
//
// Ends: at the end of input each feeder closes its copy's stdin, joins its drain and
// reaps the copy. A copy that fails ends the run with its status and the offset of the
// last block it was fed; the drains send nothing more once the run stopped. A copy that
// closes its stdin early takes no more blocks; when every copy has, the stage wants no
// more input. `stop` ends every copy not yet reaped (`ChildProcess.terminate`: SIGTERM,
// one grace for them all, SIGKILL), which unblocks a feeder in poll(2) and a drain in
// read(2), and joins them; a copy started while it does ends itself the same way.
//
// Memory: N blocks queued, N being written, the dispatcher's two, and per copy its drain's
// held line and chunk: `heldBytes`.
//
// Ownership: `queue`, the flags, `failure`, `liveFeeders`, `wantingCopies` and each
// copy's `process` are protected by `lock`; a copy's `command` is its feeder's.

final class UnorderedExec: ExecEngine, @unchecked Sendable {
    private final class Copy {
        var command: BlockCommand?
        /// Under `lock`: the command's process while it runs and is not reaped.
        var process: ChildProcess?
        /// The offset of the last block written to it, for messages.
        var lastOffset = 0
        /// Set by the drain thread before it ends, read after joining it.
        var drainFailure: String?
        /// The pace of its stdin, kept from block to block: the feeder's.
        var inputPacer = PipePacer(pipeBytes: 0)
    }

    let command: ExecCommand
    let jobs: Int
    private let maxLineBytes: Int
    private let pool: ChunkPool
    private let output: BoundedChannel
    private let stats: NodeStats?

    private let lock = Lock()
    private let changed = Condition()
    private var queue: [Block] = []
    private var isEnded = false
    private var failure: String?
    private var isCancelled = false
    private var isShuttingDown = false
    /// Feeders that have not returned.
    private var liveFeeders: Int
    /// Copies that still read their input (started or not).
    private var wantingCopies: Int
    private var copies: [Copy] = []
    private var feeders: [Thread] = []
    /// Held while a drain sends a group of whole lines.
    private let sendLock = Lock()

    static func heldBytes(jobs: Int, blockBytes: Int, maxLineBytes: Int, chunkBytes: Int) -> Int {
        let block = BlockCutter.memoryBound(blockBytes: blockBytes, maxLineBytes: maxLineBytes, chunkBytes: chunkBytes)
        let drain = Saturating.sum(maxLineBytes, 3 * (chunkBytes + Chunk.overheadBytes))
        return Saturating.sum(Saturating.product(2 * jobs + 2, block), Saturating.product(jobs, drain))
    }

    init(_ command: ExecCommand, jobs: Int, maxLineBytes: Int, output: BoundedChannel, pool: ChunkPool,
         stats: NodeStats?) {
        self.command = command
        self.jobs = jobs
        self.maxLineBytes = maxLineBytes
        self.output = output
        self.pool = pool
        self.stats = stats
        liveFeeders = jobs
        wantingCopies = jobs
        copies = (0..<jobs).map { _ in Copy() }
        feeders = copies.map { copy in Thread { [self] in feed(copy) } }
    }

    // MARK: Dispatcher

    /// Queues `block`, waiting while N wait already. False when no copy wants more input
    /// (the block is given back); throws when the run failed or was cancelled.
    func submit(_ block: Block) throws(StageError) -> Bool {
        lock.lock()
        while !isStopped && wantingCopies > 0 && queue.count >= jobs { changed.wait(lock) }
        if let error = stopError {
            lock.unlock()
            block.recycle(to: pool)
            throw error
        }
        guard wantingCopies > 0 else {
            lock.unlock()
            block.recycle(to: pool)
            return false
        }
        queue.append(block)
        changed.broadcast()
        lock.unlock()
        stats?.counters.add(1, to: "blocks")
        return true
    }

    /// End of input: waits for every copy to finish its blocks and end.
    func finish() throws(StageError) {
        lock.lock()
        isEnded = true
        changed.broadcast()
        while !isStopped && liveFeeders > 0 { changed.wait(lock) }
        let error = stopError
        lock.unlock()
        if let error { throw error }
    }

    /// Ends every copy still running (SIGTERM, SIGKILL after the grace) and joins the threads.
    func stop() {
        let running: [ChildProcess] = lock.withLock {
            isShuttingDown = true
            changed.broadcast()
            return copies.compactMap(\.process)
        }
        // Their feeders reap them meanwhile: `ChildProcess` signals none once reaped.
        ChildProcess.terminate(running)
        for feeder in feeders { feeder.join() }
        feeders.removeAll()
        for block in queue { block.recycle(to: pool) }
        queue.removeAll()
    }

    private var isStopped: Bool { failure != nil || isCancelled || isShuttingDown }

    private var stopError: StageError? {
        if let failure { return .failed(failure) }
        return isCancelled || isShuttingDown ? .downstreamClosed : nil
    }

    // MARK: Feeders

    private func feed(_ copy: Copy) {
        var drain: Thread?
        var wantsMore = true
        while wantsMore, let block = nextBlock() {
            defer { block.recycle(to: pool) }
            if copy.command == nil {
                do throws(StageError) {
                    try start(copy)
                } catch {
                    record(error.message)
                    break
                }
                drain = Thread { [self] in self.drain(copy) }
            }
            copy.lastOffset = block.offset
            wantsMore = write(block, to: copy)
        }
        lock.withLock {
            wantingCopies -= 1
            changed.broadcast()
        }
        if let command = copy.command {
            command.closeInput()
            drain?.join()
            let status = reap(copy, command)
            if let message = copy.drainFailure {
                record("\(self.command.name): \(message)")
            } else if let failure = ChildProcess.failure(status, name: self.command.name) {
                record("\(failure) (its last block began at byte \(copy.lastOffset))")
            }
        }
        lock.withLock {
            liveFeeders -= 1
            changed.broadcast()
        }
    }

    private func start(_ copy: Copy) throws(StageError) {
        let child = try BlockCommand(command, isBlocking: true)
        // The feeder paces its writes (`PipePacer`): a command reading 4 KiB at a time
        // would wake a blocking write(2) on every page.
        child.input?.setNonBlocking()
        copy.inputPacer = PipePacer(pipeBytes: child.input?.pipeCapacity ?? 0)
        copy.command = child
        let isLate = lock.withLock {
            copy.process = child.process
            return isShuttingDown
        }
        stats?.counters.add(1, to: "commands")
        // Started after `stop` took the copies to end: it ends itself (the feeder then
        // finds no block, closes its stdin, and reaps it).
        if isLate { child.process.terminate() }
    }

    /// The oldest queued block; nil once the input ended and the queue is empty, or the run stopped.
    private func nextBlock() -> Block? {
        lock.lock()
        defer { lock.unlock() }
        while !isStopped && !isEnded && queue.isEmpty { changed.wait(lock) }
        if isStopped || queue.isEmpty { return nil }
        changed.broadcast()
        return queue.removeFirst()
    }

    /// Writes `block` to the copy's stdin; false when the copy wants no more (it closed
    /// its stdin: EPIPE) or the write failed (recorded).
    private func write(_ block: Block, to copy: Copy) -> Bool {
        guard let child = copy.command else { return false }
        if let error = child.write(block, pacer: &copy.inputPacer) {
            if error != .brokenPipe { record("\(command.name): writing its input: \(error)") }
            return false
        }
        return true
    }

    /// Waits for the copy's command and returns its raw status; a run stopped meanwhile
    /// may have sent it SIGTERM, which is then not a failure (`record` ignores it).
    private func reap(_ copy: Copy, _ child: BlockCommand) -> Int32 {
        let status = child.reap()
        lock.withLock { copy.process = nil }
        return status
    }

    /// The first failure wins; once the run stopped, later ones are consequences.
    private func record(_ message: String) {
        lock.withLock {
            if !isStopped { failure = message }
            changed.broadcast()
        }
    }

    // MARK: Drains

    /// The copy's stdout, sent in groups of whole lines.
    private func drain(_ copy: Copy) {
        guard let child = copy.command, let fd = child.output else { return }
        var pacer = PipePacer(pipeBytes: fd.pipeCapacity ?? 0)
        var readBytes = 0
        let waits = NodeStats(name: "exec-drain")
        waits.begin()
        defer { waits.end() }
        var held: [Chunk] = []
        var heldBytes = 0
        var pending = pool.take()
        defer {
            pool.recycle(pending)
            for chunk in held { pool.recycle(chunk) }
        }
        while true {
            child.paceRead(&pacer, readBytes: readBytes)
            let n: Int
            do throws(Errno) {
                n = try fd.read(into: pending.freeSpace)
            } catch {
                copy.drainFailure = "reading its output: \(error)"
                return
            }
            if n == 0 { break }
            readBytes = n
            pending.count += n
            // Whole lines go out when a chunk is full, or when the copy has nothing more
            // to say for now, so that a quiet stream's lines are not held back.
            let isDrained = !pending.isFull && fd.unreadBytes == 0
            guard pending.isFull || isDrained else { continue }
            guard let end = lastLineEnd(pending.bytes) else {
                guard pending.isFull else { continue }
                held.append(pending)
                heldBytes += pending.count
                pending = pool.take()
                if heldBytes > maxLineBytes {
                    copy.drainFailure = "a line of its output is longer than \(Sizes.human(maxLineBytes)) (raise --max-line)"
                    return
                }
                continue
            }
            let rest = pool.take()
            rest.append(UnsafeRawBufferPointer(start: pending.base + pending.start + end, count: pending.count - end))
            pending.count = end
            held.append(pending)
            pending = rest
            if !send(&held, waits: waits) { return }
            heldBytes = 0
        }
        if pending.count > 0 {
            held.append(pending)
            pending = pool.take()
        }
        _ = send(&held, waits: waits)
    }

    /// Sends `group` (emptied) under `sendLock`, unless the run stopped; false then, or
    /// when downstream closed (which cancels the run).
    private func send(_ group: inout [Chunk], waits: NodeStats) -> Bool {
        let chunks = group
        group.removeAll()
        sendLock.lock()
        defer { sendLock.unlock() }
        for (i, chunk) in chunks.enumerated() {
            let n = chunk.count
            let isStopped = lock.withLock { self.isStopped }
            if isStopped || n == 0 {
                pool.recycle(chunk)
                if isStopped {
                    for rest in chunks[(i + 1)...] { pool.recycle(rest) }
                    return false
                }
                continue
            }
            if case .closed = output.send(chunk, waiter: waits) {
                for rest in chunks[(i + 1)...] { pool.recycle(rest) }
                lock.withLock {
                    isCancelled = true
                    changed.broadcast()
                }
                return false
            }
            stats?.bytesOut.add(n, ordering: .relaxed)
        }
        return true
    }
}
