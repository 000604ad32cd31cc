import CSys
import Glibc

/// A pipe whose read end every worker polls: one byte written wakes them all, for good
/// (it is never read). Both ends close-on-exec; the write end non-blocking, so ringing
/// twice never waits.
final class WakePipe: @unchecked Sendable {
    let read: FileDescriptor
    private let write: FileDescriptor

    init() throws(StageError) {
        do throws(Errno) {
            (read, write) = try FileDescriptor.makePipe()
        } catch {
            throw .failed("cannot make a pipe: \(error)")
        }
        write.setNonBlocking()
    }

    /// write(2) of one byte; a full pipe (already rung) or any error is ignored.
    func ring() {
        let byte: UInt8 = 1
        _ = withUnsafeBytes(of: byte) { try? write.writeAvailable($0) }
    }

    func close() {
        try? read.close()
        try? write.close()
    }
}

/// One command of `exec -j` fed one block: started with its stdin and stdout on new
/// pipes whose ends here are non-blocking, so that one thread writes the block and reads
/// the output in a single poll(2) loop, and neither side can wait for the other.
///
/// Owned by one worker thread, which alone calls its methods.
final class BlockCommand {
    /// The paces of a worker's commands' stdin and stdout, kept from block to block:
    /// the copies of one command go at much the same pace.
    struct Pacers {
        var input = PipePacer(pipeBytes: 0)
        var output = PipePacer(pipeBytes: 0)
    }

    enum Ending: Equatable {
        /// The block was written (or the command stopped reading it) and its output read
        /// to the end; `reap` tells how the command ended.
        case finished
        /// The run stopped (the wake pipe rang, or `deliver` refused): `terminate` it.
        case stopped
        /// A read or write error on the pipes: `terminate` it.
        case failed(String)
    }

    let process: ChildProcess
    /// The write end of the command's stdin and the read end of its stdout; nil once closed.
    private(set) var input: FileDescriptor?
    private(set) var output: FileDescriptor?
    /// The ordered mode's worker saw the exit watch readable: the command has exited, and
    /// its pipes are no longer paced (`PipePacer`), only waited on.
    private var hasExited = false

    /// Starts the command (`ChildProcess.start`). Our ends are non-blocking unless
    /// `isBlocking` (`--unordered`'s two threads a copy).
    init(_ command: ExecCommand, isBlocking: Bool = false) throws(StageError) {
        let (process, input, output) = try ChildProcess.start(command)
        if !isBlocking {
            input.setNonBlocking()
            output.setNonBlocking()
        }
        self.process = process
        self.input = input
        self.output = output
    }

    /// The exit watch while the command may still run: while there is one, its pipes are
    /// paced; without (none could be made, or it fired), each end is waited on as it comes.
    private var runningWatch: FileDescriptor? { hasExited ? nil : process.exitWatch }

    /// Writes `block` to the command's stdin, then closes it, while reading its stdout
    /// into pool chunks handed to `deliver` (full ones as they fill; a partial one before
    /// waiting, if `isHead`, so a head's output is not held back; the last one at the
    /// end). `deliver` owns the chunk and returns false when the run stopped. A command
    /// that closes its stdin early took what it wanted of the block: not an error here.
    func exchange(_ block: Block, pool: ChunkPool, wake: WakePipe, pacers: inout Pacers, isHead: () -> Bool,
                  deliver: (Chunk) -> Bool) -> Ending {
        var feed = BlockFeed(block)
        var pending: Chunk?
        pacers.input.pipeBytes = input?.pipeCapacity ?? pacers.input.pipeBytes
        pacers.output.pipeBytes = output?.pipeCapacity ?? pacers.output.pipeBytes
        defer { if let pending { pool.recycle(pending) } }
        while input != nil || output != nil {
            if let fd = input {
                if let error = writeTurn(&feed, to: fd, pacer: &pacers.input) {
                    if error != .brokenPipe { return .failed("writing its input: \(error)") }
                    closeInput()
                } else if feed.isDone {
                    closeInput()
                }
            }
            if let fd = output {
                recordOutputSlack(fd, &pacers.output)
                var readBytes = 0
                switch drain(fd, into: &pending, readBytes: &readBytes, pool: pool, deliver: deliver) {
                case .stopped: return .stopped
                case .failed(let message): return .failed(message)
                case .finished: break
                }
                pacers.output.recordEager(movedBytes: readBytes)
            }
            if input == nil && output == nil { break }
            if let chunk = pending, chunk.count > 0, isHead() {
                pending = nil
                if !deliver(chunk) { return .stopped }
            }
            if !waitForWork(wake, pacers) { return .stopped }
        }
        if let chunk = pending, chunk.count > 0 {
            pending = nil
            if !deliver(chunk) { return .stopped }
        }
        return .finished
    }

    /// Reads what the command's stdout holds now into `pending`, delivering each chunk
    /// that fills; closes it at end of file. `.finished` means "no more for now".
    private func drain(_ fd: FileDescriptor, into pending: inout Chunk?, readBytes: inout Int,
                       pool: ChunkPool, deliver: (Chunk) -> Bool) -> Ending {
        while true {
            let chunk = pending ?? pool.take()
            pending = chunk
            let read: Int?
            do throws(Errno) {
                read = try fd.readAvailable(into: chunk.freeSpace)
            } catch {
                return .failed("reading its output: \(error)")
            }
            guard let n = read else { return .finished }
            if n == 0 {
                try? fd.close()
                output = nil
                return .finished
            }
            chunk.count += n
            readBytes += n
            if chunk.isFull {
                pending = nil
                if !deliver(chunk) { return .stopped }
            }
        }
    }

    /// poll(2) until there is work: the wake pipe, the command's exit, each open end whose
    /// pacer is eager; a paced end is simply tried again after its interval (the poll's
    /// timeout). False when the wake pipe rang. Without an exit watch, or once the
    /// command exited, every open end is waited on as it comes. A failed poll(2) is taken
    /// as a timeout: the next turn tries each end again.
    private func waitForWork(_ wake: WakePipe, _ pacers: Pacers) -> Bool {
        let watch = runningWatch
        let pacesInput = input != nil && watch != nil && !pacers.input.isEager
        let pacesOutput = output != nil && watch != nil && !pacers.output.isEager
        var timeout: Int32 = -1
        if pacesInput { timeout = Int32(pacers.input.intervalMillis) }
        if pacesOutput {
            let millis = Int32(pacers.output.intervalMillis)
            timeout = timeout < 0 ? millis : min(timeout, millis)
        }
        var fds = [
            pollfd(fd: wake.read.rawValue, events: Int16(POLLIN), revents: 0),
            pollfd(fd: pacesInput ? -1 : input?.rawValue ?? -1, events: Int16(POLLOUT), revents: 0),
            pollfd(fd: pacesOutput ? -1 : output?.rawValue ?? -1, events: Int16(POLLIN), revents: 0),
            pollfd(fd: watch?.rawValue ?? -1, events: Int16(POLLIN), revents: 0),
        ]
        _ = try? FileDescriptor.poll(&fds, timeoutMillis: timeout)
        if fds[3].revents != 0 { hasExited = true }
        return fds[0].revents == 0
    }

    // MARK: --unordered: a long-lived copy, fed by one thread and drained by another

    /// Writes `block` whole to the command's stdin, which the feeder made non-blocking,
    /// waiting between turns as `pacer` says; the error that ended it early (EPIPE: the
    /// command closed its stdin or exited), else nil. The feeder thread's alone.
    func write(_ block: Block, pacer: inout PipePacer) -> Errno? {
        guard let fd = input else { return Errno(EBADF) }
        var feed = BlockFeed(block)
        while true {
            if let error = writeTurn(&feed, to: fd, pacer: &pacer) { return error }
            if feed.isDone { return nil }
            waitShared(fd, events: POLLOUT, pacer: &pacer)
        }
    }

    /// Before the drain thread reads the command's stdout again, having last read
    /// `readBytes`: sleeps as `pacer` says, if it says so, and records the room it finds.
    /// The read that follows blocks as before. The drain thread's alone.
    func paceRead(_ pacer: inout PipePacer, readBytes: Int) {
        guard let fd = output else { return }
        pacer.recordEager(movedBytes: readBytes)
        guard !pacer.isEager else { return }
        waitShared(nil, events: 0, pacer: &pacer)
        recordOutputSlack(fd, &pacer)
    }

    /// One turn on the command's stdin: the slack a sleep left (the bytes it has yet to
    /// read), then as much of the block as the pipe takes, recorded in `pacer`.
    private func writeTurn(_ feed: inout BlockFeed, to fd: FileDescriptor, pacer: inout PipePacer) -> Errno? {
        if !pacer.isEager { pacer.recordPaced(slackBytes: fd.unreadBytes) }
        var writtenBytes = 0
        defer { pacer.recordEager(movedBytes: writtenBytes) }
        return feed.write(to: fd, writtenBytes: &writtenBytes)
    }

    /// After a sleep, the slack of the command's stdout: the room it has left to write.
    private func recordOutputSlack(_ fd: FileDescriptor, _ pacer: inout PipePacer) {
        if !pacer.isEager { pacer.recordPaced(slackBytes: pacer.pipeBytes - fd.unreadBytes) }
    }

    /// poll(2) on `fd` for `events` (unless paced: then for the interval) and on the
    /// command's exit, which stops `pacer` for good (both threads watch the one exit
    /// watch, so neither marks it for the other).
    private func waitShared(_ fd: FileDescriptor?, events: Int32, pacer: inout PipePacer) {
        let watch = pacer.isStopped ? nil : process.exitWatch
        let paces = watch != nil && !pacer.isEager
        var fds = [
            pollfd(fd: paces ? -1 : fd?.rawValue ?? -1, events: Int16(events), revents: 0),
            pollfd(fd: watch?.rawValue ?? -1, events: Int16(POLLIN), revents: 0),
        ]
        _ = try? FileDescriptor.poll(&fds, timeoutMillis: paces ? Int32(pacer.intervalMillis) : -1)
        if fds[1].revents != 0 { pacer.stop() }
    }

    func closeInput() {
        try? input?.close()
        input = nil
    }

    func closeOutput() {
        try? output?.close()
        output = nil
    }

    /// Closes what is still open and waits for the command: its raw wait status.
    func reap() -> Int32 {
        closeInput()
        closeOutput()
        return process.reap()
    }

    /// The run stopped: its pipes closed, the command ended (`ChildProcess.terminate`:
    /// SIGTERM to its process group, SIGKILL after the grace) and reaped.
    func terminate() {
        closeInput()
        closeOutput()
        process.terminate()
        process.reap()
    }
}

/// Where writing a block to a non-blocking descriptor got to.
private struct BlockFeed {
    private let block: Block
    private var index = 0
    private var offset = 0

    init(_ block: Block) { self.block = block }

    var isDone: Bool { index == block.chunks.count }

    /// write(2) until the block is out or the pipe is full (`writeAvailable`: nil). The
    /// error that stopped it, else nil; adds what it wrote to `writtenBytes`.
    mutating func write(to fd: FileDescriptor, writtenBytes: inout Int) -> Errno? {
        while index < block.chunks.count {
            let chunk = block.chunks[index]
            let rest = chunk.count - offset
            if rest == 0 {
                index += 1
                offset = 0
                continue
            }
            let written: Int?
            do throws(Errno) {
                written = try fd.writeAvailable(UnsafeRawBufferPointer(start: chunk.base + chunk.start + offset, count: rest))
            } catch {
                return error
            }
            guard let n = written else { return nil }
            offset += n
            writtenBytes += n
        }
        return nil
    }
}
