import CSys
import Glibc

/// `exec COMMAND [ARG]...`: an external filter as a stage. The stage's thread writes its
/// input to the command's stdin; a reader thread reads the command's stdout into chunks
/// and sends them on, so the command sits inside sluice's buffers, stats and bottleneck
/// naming. No shell is involved (`exec sh -c '...'` if one is wanted); the command's
/// stderr is sluice's.
///
/// A command that stops reading early (`exec head -1`) ends the input like a `head`
/// stage; a command that exits non-zero, or dies by a signal, is an error naming it.
public struct ExecStage: Stage {
    /// The command and its arguments, each the bytes the command line gave.
    private let arguments: [[UInt8]]
    /// The command's name for messages (`String(rawBytes:)`, which prints as its bytes).
    private let name: String
    /// `--pipe-size`: the pipes to and from the command are enlarged like stdin and stdout.
    private let pipeBytes: Int
    private var child: ChildProcess?

    public init(arguments: [[UInt8]], pipeBytes: Int = 0) {
        self.arguments = arguments
        name = String(rawBytes: arguments[0])
        self.pipeBytes = pipeBytes
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        child = try ChildProcess(arguments, name: name, pipeBytes: pipeBytes, output: out.channel, pool: out.pool,
                                 stats: out.stats)
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        guard let child else { return .stop }
        do throws(Errno) {
            try child.input.writeAll(input.bytes)
        } catch {
            // The command closed its input: it wants no more, like head.
            if error == .brokenPipe { return .stop }
            throw .failed("\(name): \(error)")
        }
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        guard let child else { return }
        self.child = nil
        try child.finish(name: name)
    }

    public mutating func close() {
        // Ending early (an error elsewhere, the consumer gone): stop the command.
        child?.terminate()
        child = nil
    }

    public static let descriptor = StageDescriptor(
        name: "exec", synopsis: "exec [-j N [--block SIZE] [--flush-idle DURATION] [--unordered]] COMMAND [ARG]...",
        summary: "run COMMAND as a stage: its stdin from the stage before, its stdout to the next; "
            + "with -j, N copies side by side on blocks of lines, the output in input order",
        options: [
            OptionSpec("j", "jobs", .required("N"),
                       help: "run N copies at once, one per block of whole lines, each block's output in input order"),
            OptionSpec(nil, "block", .required("SIZE"),
                       help: "only with -j: the most bytes of whole lines a block holds (4M; a file on stdin: cut evenly, up to 8M)"),
            OptionSpec(nil, "flush-idle", .required("DURATION"),
                       help: "only with -j: when a stream is quiet this long, its whole lines go out as a block (200ms; 0: never)"),
            OptionSpec(nil, "unordered",
                       help: "only with -j: N long-lived copies, fed block by block; output lines whole, in any order"),
        ],
        stopsAtFirstOperand: true,
        operands: 1...Int.max
    ) { args, context throws(SluiceError) in
        let arguments = args.operands.map(\.rawBytes)
        guard args.last("jobs")?.value != nil else {
            for key in ["block", "unordered", "flush-idle"] {
                if let option = args.last(key) { throw args.fail("\(option.spelling) applies only with -j N") }
            }
            var plan = StagePlan(ExecStage(arguments: arguments, pipeBytes: context.pipeBytes))
            plan.output = .other
            return plan
        }
        let jobs = try args.threadCount("jobs", default: 1, noun: "copies")
        let isOrdered = !args.has("unordered")
        let blockBytes = isOrdered
            ? ParallelExecStage.defaultBlockBytes(jobs: jobs, inputBytes: context.inputBytes)
            : ParallelExecStage.defaultBlockBytes
        var settings = ParallelExecStage.Settings(
            jobs: jobs, blockBytes: try args.size("block", default: blockBytes, min: 1, max: 1 << 30),
            isOrdered: isOrdered, maxLineBytes: context.maxLineBytes, pipeBytes: context.pipeBytes)
        // A file on stdin never pauses: its blocks are cut by size alone, whatever the load.
        settings.flushIdleNanos = try args.flushIdleNanos(
            default: context.inputBytes == nil ? StageContext.defaultFlushIdleNanos : nil)
        var plan = StagePlan(ParallelExecStage(arguments: arguments, settings: settings),
                             heldBytes: ParallelExecStage.heldBytes(settings, chunkBytes: context.chunkBytes))
        plan.output = .other
        return plan
    }
}

/// A running command with a pipe to its stdin and a thread draining its stdout into an
/// output channel.
///
/// Owned by the exec stage's thread, which alone calls its methods. The drain thread
/// touches only `output`, its own `drainStats` and `readError`; the stage's thread reads
/// `readError` only after joining it (the join orders the two). Bytes the drain thread
/// sends are counted to the stage's node (atomic counters), its waits to `drainStats`,
/// as the CRC thread of gunzip does, so the stage's thread is not charged for them.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    /// The write end of the command's stdin; closed by `finish` or `terminate`.
    let input: FileDescriptor
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

    /// posix_spawnp(3) of `arguments`, its stdin and stdout on new pipes (close-on-exec on
    /// our ends), SIGPIPE back to its default (sluice ignores it, and an ignored signal
    /// stays ignored across exec).
    init(_ arguments: [[UInt8]], name: String, pipeBytes: Int, output channel: BoundedChannel, pool: ChunkPool,
         stats: NodeStats?) throws(StageError) {
        (pid, input, output) = try Self.start(arguments, name: name, pipeBytes: pipeBytes)
        reader = Thread { [self] in drain(into: channel, pool: pool, stats: stats) }
    }

    /// Starts `arguments` on two new pipes of `pipeBytes` (`--pipe-size`), registered in
    /// `ChildRegistry`: its pid, and our ends, the write end of its stdin and the read end
    /// of its stdout (close-on-exec). Shared by `exec` and `exec -j`'s commands.
    static func start(_ arguments: [[UInt8]], name: String,
                      pipeBytes: Int) throws(StageError) -> (pid: pid_t, input: FileDescriptor, output: FileDescriptor) {
        let toChild: (read: FileDescriptor, write: FileDescriptor)
        let fromChild: (read: FileDescriptor, write: FileDescriptor)
        do throws(Errno) {
            toChild = try FileDescriptor.makePipe()
            do throws(Errno) { fromChild = try FileDescriptor.makePipe() } catch {
                try? toChild.read.close()
                try? toChild.write.close()
                throw error
            }
        } catch {
            throw .failed("cannot make a pipe: \(error)")
        }
        toChild.write.enlargePipe(to: pipeBytes)
        fromChild.read.enlargePipe(to: pipeBytes)
        let r = ChildRegistry.shared.start { spawn(arguments, stdin: toChild.read, stdout: fromChild.write) }
        try? toChild.read.close()
        try? fromChild.write.close()
        switch r {
        case .success(let pid):
            return (pid, toChild.write, fromChild.read)
        case .failure(let error):
            try? toChild.write.close()
            try? fromChild.read.close()
            throw .failed("\(name): \(error)")
        }
    }

    /// posix_spawnp(3) with `stdin` and `stdout` as the command's 0 and 1.
    static func spawn(_ arguments: [[UInt8]], stdin: FileDescriptor,
                              stdout: FileDescriptor) -> Result<pid_t, Errno> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, stdin.rawValue, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout.rawValue, 1)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // sluice blocks the ending signals in every thread (EndingSignals); the command
        // starts with none blocked.
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        // A process group of its own (pgid = pid), so that ending it reaches what it starts.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        var pid = pid_t()
        let argv = arguments.map(cString) + [nil]
        let r = posix_spawnp(&pid, argv[0]!, &actions, &attributes, argv, environ)
        for p in argv { p?.deallocate() }
        posix_spawn_file_actions_destroy(&actions)
        posix_spawnattr_destroy(&attributes)
        return r == 0 ? .success(pid) : .failure(Errno(r))
    }

    /// A NUL-terminated copy of `bytes`, for argv; the caller deallocates it.
    private static func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar>? {
        let c = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (i, b) in bytes.enumerated() { c[i] = CChar(bitPattern: b) }
        c[bytes.count] = 0
        return c
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
        let status = reap()
        if let readError { throw .failed("\(name): reading its output: \(readError)") }
        if outputClosed != nil { throw .downstreamClosed }
        try ChildProcess.check(status, name: name)
    }

    /// Ending early: close the command's stdin, ask it to stop (SIGTERM), and reap it.
    func terminate() {
        try? input.close()
        kill(-pid, SIGTERM)  // the command's process group
        reader?.join()
        reader = nil
        _ = reap()
    }

    /// The command's raw wait status (0 if it cannot be had: ECHILD cannot happen for
    /// our own child, which only this object reaps).
    private func reap() -> Int32 {
        let status = (try? waitForChild(pid)) ?? 0
        ChildRegistry.shared.remove(pid)
        return status
    }

    /// An error for a command that exited non-zero or died by a signal.
    static func check(_ status: Int32, name: String) throws(StageError) {
        if let failure = failure(status, name: name) { throw .failed(failure) }
    }

    /// How a command that exited non-zero or died by a signal ended, in words; nil for
    /// a command that exited 0.
    static func failure(_ status: Int32, name: String) -> String? {
        let signal = status & 0x7f
        if signal == 0 {
            let code = (status >> 8) & 0xff
            return code == 0 ? nil : "\(name) exited with status \(code)"
        }
        return signal == 0x7f ? nil : "\(name) killed by signal \(signal) (\(signalName(signal)))"
    }

    static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGABRT: "SIGABRT",
            SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM",
            SIGTERM: "SIGTERM", SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2", SIGBUS: "SIGBUS", SIGXCPU: "SIGXCPU",
        ]
        return names[signal] ?? "SIG\(signal)"
    }
}
