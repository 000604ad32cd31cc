import Glibc

// # One child process
//
// Every command `exec` starts is a `ChildProcess`, in each of the three modes: plain
// `exec` (`PipedCommand`: one command, fed by the stage's thread, drained by a thread of
// its own), `exec -j N` (`BlockCommand`: a command per block, in a worker's poll loop) and
// `exec -j N --unordered` (`BlockCommand`: N long-lived copies, a feeder and a drain
// each). It is started on two new pipes, leads a process group of its own, sits in
// `ChildRegistry` from its spawn to its reaping, and ends one of two ways:
//
// - Its input ended: the owner closes the command's stdin, takes the rest of its output
//   and `reap`s it; the status says how it ended (`failure`).
// - The run ended early: the owner closes its ends of the pipes and calls `terminate`:
//   SIGTERM to the process group, up to `EndingSignals.graceNanos` for the command to
//   exit, then SIGKILL to the group — then `reap`s it. The grace is waited for in poll(2)
//   on the exit watch (a pidfd), never in a sleep loop, and several children share one
//   (`terminate(_:by:)`: `--unordered`'s stop, and the signal thread ending every child).
//
// Signals may come from another thread than the owner's (the signal thread, `--unordered`'s
// stop), so `lock` orders them against the reaping: once the status is taken, `pid` may
// name another process, and nothing is sent to its group. `reap` waits for the exit
// outside the lock and takes the status under it, so the lock is never held for long.

/// What `exec` runs: the command's words (the bytes the command line gave), its name for
/// messages, and the size its pipes are enlarged to (`--pipe-size`; 0 leaves them).
struct ExecCommand: Sendable {
    let arguments: [[UInt8]]
    let name: String
    let pipeBytes: Int

    init(arguments: [[UInt8]], pipeBytes: Int) {
        self.arguments = arguments
        name = String(rawBytes: arguments[0])
        self.pipeBytes = pipeBytes
    }
}

/// A started command, from its spawn to its reaping. The owner (the thread that started
/// it) alone reaps it; any thread may signal it.
final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    /// Readable once the command has exited, which leaves it to be reaped: its pidfd, or
    /// where the kernel gives none, the read end of a pipe whose write end a thread closes
    /// when waitid(2) sees the exit (`makeExitWatch`). Nil only when neither could be made
    /// (no descriptor left): `terminate` then kills at once. Closed when this object goes,
    /// not by `reap`, so a thread still polling it never polls a reused number.
    let exitWatch: FileDescriptor?
    /// Protects `status`.
    private let lock = Lock()
    /// The raw wait status, once reaped; from then on no signal goes to the group.
    private var status: Int32?

    /// `usesPidfd: false` makes the exit watch the pipe kind (for tests of that path).
    init(pid: pid_t, usesPidfd: Bool = true) {
        self.pid = pid
        exitWatch = Self.makeExitWatch(pid, usesPidfd: usesPidfd)
    }

    deinit { try? exitWatch?.close() }

    /// Starts `command` on two new pipes of `command.pipeBytes`, registered in
    /// `ChildRegistry`: the child, and our ends, the write end of its stdin and the read
    /// end of its stdout (close-on-exec, blocking).
    static func start(_ command: ExecCommand, usesPidfd: Bool = true) throws(StageError)
        -> (process: ChildProcess, input: FileDescriptor, output: FileDescriptor) {
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
        toChild.write.enlargePipe(to: command.pipeBytes)
        fromChild.read.enlargePipe(to: command.pipeBytes)
        let r = ChildRegistry.shared.start {
            spawnProcess(command.arguments, stdin: toChild.read, stdout: fromChild.write)
                .map { ChildProcess(pid: $0, usesPidfd: usesPidfd) }
        }
        try? toChild.read.close()
        try? fromChild.write.close()
        switch r {
        case .success(let process):
            return (process, toChild.write, fromChild.read)
        case .failure(let error):
            try? toChild.write.close()
            try? fromChild.read.close()
            throw .failed("\(command.name): \(error)")
        }
    }

    /// The pidfd of `pid`; failing that (before Linux 5.3, or a seccomp filter refusing
    /// pidfd_open), a pipe's read end, its write end closed by a detached thread once
    /// waitid(2) sees the exit (WNOWAIT: the child stays to be reaped). Detached, so a
    /// command that never exits holds only that thread.
    private static func makeExitWatch(_ pid: pid_t, usesPidfd: Bool) -> FileDescriptor? {
        if usesPidfd, let pidfd = try? openPidfd(pid) { return pidfd }
        guard let (read, write) = try? FileDescriptor.makePipe() else { return nil }
        Thread {
            try? waitForExit(of: pid)
            try? write.close()
        }.detach()
        return read
    }

    /// kill(2) of `signal` to the command's process group, unless it was reaped. A group
    /// with no process left (ESRCH) is not an error.
    func signal(_ signal: Int32) {
        lock.withLock {
            if status == nil { try? signalProcessGroup(pid, signal) }
        }
    }

    /// Ending early: SIGTERM, the grace, SIGKILL (`terminate(_:by:)`). The owner, having
    /// closed its ends of the pipes, then reaps it.
    func terminate() { Self.terminate([self]) }

    /// Sends `signal` to each child's process group, waits until each has exited or
    /// `graceNanos` passed, then SIGKILLs the group of each not reaped by then: a command
    /// that ignored the signal, or what one that exited left behind in its group (a
    /// group whose leader is a zombie and nothing else takes the SIGKILL as a no-op).
    /// Reaps none of them: their owners do.
    static func terminate(_ children: [ChildProcess], by signal: Int32 = SIGTERM,
                          graceNanos: UInt64 = EndingSignals.graceNanos) {
        for child in children { child.signal(signal) }
        waitForExits(children.compactMap(\.exitWatch), untilNanos: monotonicNanos() + graceNanos)
        for child in children { child.signal(SIGKILL) }
    }

    /// poll(2) on the exit watches until each turned readable or the deadline passed.
    private static func waitForExits(_ watches: [FileDescriptor], untilNanos deadline: UInt64) {
        var entries = watches.map { pollfd(fd: $0.rawValue, events: Int16(POLLIN), revents: 0) }
        var waiting = entries.count
        while waiting > 0 {
            let now = monotonicNanos()
            if now >= deadline { return }
            let millis = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            guard (try? FileDescriptor.poll(&entries, timeoutMillis: millis)) != nil else { return }
            for i in entries.indices where entries[i].revents != 0 {
                entries[i].fd = -1  // exited: poll(2) skips a negative descriptor
                waiting -= 1
            }
        }
    }

    /// Waits for the command to exit and reaps it, unregistering it: its raw wait status
    /// (0 if it cannot be had: ECHILD cannot happen for a child only its owner reaps).
    /// Called again, the same status.
    @discardableResult
    func reap() -> Int32 {
        if let status = lock.withLock({ status }) { return status }
        try? waitForExit(of: pid)
        let reaped = lock.withLock {
            let reaped = (try? waitForChild(pid)) ?? 0
            status = reaped
            return reaped
        }
        ChildRegistry.shared.remove(pid)
        return reaped
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
