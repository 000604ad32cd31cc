/// Plain `exec`'s command: a `ChildProcess` with a pipe to its stdin, which the stage's
/// thread writes, and a thread draining its stdout into the stage's output channel.
///
/// Owned by the exec stage's thread, which alone calls its methods. The drain thread
/// touches only `output`, its own `drainStats` and `readError`; the stage's thread reads
/// `readError` only after joining it (the join orders the two). Bytes the drain thread
/// sends are counted to the stage's node (atomic counters), its waits to `drainStats`,
/// as the CRC thread of gunzip does, so the stage's thread is not charged for them.
final class PipedCommand: @unchecked Sendable {
    let process: ChildProcess
    /// The write end of the command's stdin; closed by `finish` or `terminate`.
    let input: FileDescriptor
    /// The read end of its stdout: the drain thread's, which closes it.
    private let output: FileDescriptor
    private var reader: Thread?
    /// Set by the drain thread before it ends; read after joining it.
    private var readError: Errno?
    /// Why the output channel refused the command's output, if it did: set by the drain
    /// thread before it ends; read after joining it. The command then dies of SIGPIPE
    /// (or exits, seeing EPIPE), as a shell pipeline's writer does after `| head`.
    private var outputClosed: StreamCancel?
    /// The drain thread's own waits (blocked on the output channel).
    private let drainStats = NodeStats(name: "exec-drain")

    /// Starts `command` (`ChildProcess.start`) and its drain thread.
    init(_ command: ExecCommand, output channel: BoundedChannel, pool: ChunkPool,
         stats: NodeStats?) throws(StageError) {
        (process, input, output) = try ChildProcess.start(command)
        reader = Thread { [self] in drain(into: channel, pool: pool, stats: stats) }
    }

    /// The drain thread: the command's stdout, chunk by chunk, into `channel`.
    private func drain(into channel: BoundedChannel, pool: ChunkPool, stats: NodeStats?) {
        drainStats.begin()
        while true {
            let chunk = pool.take()
            let n: Int
            do throws(Errno) {
                n = try output.read(into: chunk.freeSpace)
            } catch {
                pool.recycle(chunk)
                readError = error
                break
            }
            if n == 0 {
                pool.recycle(chunk)
                break
            }
            chunk.count = n
            if case .closed(let reason) = channel.send(chunk, waiter: drainStats) {
                outputClosed = reason
                break
            }
            stats?.bytesOut.add(n, ordering: .relaxed)
        }
        // Closing our end makes a command still writing get SIGPIPE, as in a shell pipe.
        try? output.close()
        drainStats.end()
    }

    /// End of input: close the command's stdin, take the rest of its output, and
    /// report how it ended.
    /// When nothing below wanted the command's output any more, how it then ended is
    /// not an error: the shell ignores `yes`'s SIGPIPE in `yes | head -n 3` the same way.
    func finish(name: String) throws(StageError) {
        try? input.close()
        reader?.join()
        reader = nil
        let status = process.reap()
        if let readError { throw .failed("\(name): reading its output: \(readError)") }
        if outputClosed != nil { throw .downstreamClosed }
        try ChildProcess.check(status, name: name)
    }

    /// Ending early: close the command's stdin, end it (`ChildProcess.terminate`: SIGTERM,
    /// SIGKILL after the grace) while the drain thread takes what it still writes, then
    /// join the drain thread and reap the command.
    func terminate() {
        try? input.close()
        process.terminate()
        reader?.join()
        reader = nil
        process.reap()
    }
}
