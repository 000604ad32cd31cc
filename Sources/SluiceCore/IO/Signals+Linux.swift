import Glibc
import Synchronization

/// The commands sluice has started (`exec`), so that a signal that ends sluice ends them
/// too: `kill -TERM $pid` reaches sluice alone, and a child left running after sluice is
/// gone is a leak the user cannot see. Each command leads a process group of its own
/// (posix_spawn's SETPGROUP), so a signal sent to the group reaches what it started too.
final class ChildRegistry: @unchecked Sendable {
    static let shared = ChildRegistry()
    /// Protects `pids`.
    private let lock = Lock()
    /// Children started and not yet reaped.
    private var pids: Set<pid_t> = []
    /// Set by `close`: sluice is ending by a signal, and a child started from now on
    /// (`exec -j` starts one per block) would outlive it unseen. Protected by `lock`.
    private var isClosed = false

    /// Starts a child with `spawn` and registers it, under the lock, so that `close`
    /// cannot come between the two: once closed, nothing is started (ECANCELED). A
    /// process dying by a signal while posix_spawn's child had not yet exec'd would
    /// otherwise leave that child running unseen.
    func start(_ spawn: () -> Result<pid_t, Errno>) -> Result<pid_t, Errno> {
        lock.lock()
        defer { lock.unlock() }
        if isClosed { return .failure(Errno(ECANCELED)) }
        let result = spawn()
        if case .success(let pid) = result { pids.insert(pid) }
        return result
    }

    func remove(_ pid: pid_t) { lock.withLock { _ = pids.remove(pid) } }
    var running: [pid_t] { lock.withLock { Array(pids) } }

    /// The children running now; no child is added after (`add`).
    func close() -> [pid_t] {
        lock.withLock {
            isClosed = true
            return Array(pids)
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP, and SIGUSR1, taken by one thread with sigwait(2) instead
/// of handlers, so that what happens next is ordinary code, not async-signal-safe code:
/// `install` blocks them in the calling thread, and so in every thread started after it
/// (children get an empty mask from posix_spawn). SIGUSR1 runs `onStatus` (the --stats
/// table so far, as dd prints its status) and the run goes on. An ending signal runs
/// `onSignal` (a report), is forwarded to every child, children still running after
/// `graceNanos` are killed, and sluice dies by the signal, as the README promises.
public enum EndingSignals {
    public static let all: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    /// Asks for a status report; does not end the run.
    public static let status = SIGUSR1
    /// Set when an ending signal arrived: from then on the signal thread alone ends the
    /// process (`waitIfEnding`), so a stage's error caused by the forwarded signal (a
    /// command "killed by signal 15") is neither printed nor turned into status 1.
    private static let isEnding = Atomic<Bool>(false)
    /// 1 s: time for a child to flush and exit on its own after the forwarded signal.
    static let graceNanos: UInt64 = 1_000_000_000

    /// Call before starting any other thread.
    public static func install(onStatus: @escaping @Sendable () -> Void,
                               onSignal: @escaping @Sendable (Int32) -> Void) {
        var set = sigset_t()
        sigemptyset(&set)
        for s in all + [status] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let thread = Thread {
            var signal: Int32 = 0
            while sigwait(&set, &signal) != 0 || signal == status {
                if signal == status { onStatus() }
            }
            isEnding.store(true, ordering: .sequentiallyConsistent)
            onSignal(signal)
            endChildren(with: signal)
            die(by: signal)
        }
        thread.detach()
    }

    /// Called by the main thread before it ends the process itself: once a signal is
    /// being handled, it waits for the signal thread to end the process instead.
    public static func waitIfEnding() {
        while isEnding.load(ordering: .sequentiallyConsistent) { pause() }
    }

    /// Forwards `signal` to every child's process group, waits for the children to exit
    /// (without reaping them: their stage reaps), and SIGKILLs every group still
    /// holding a process after the grace time.
    static func endChildren(with signal: Int32) {
        let groups = ChildRegistry.shared.close()
        if groups.isEmpty { return }
        for pgid in groups { kill(-pgid, signal) }
        let deadline = monotonicNanos() + graceNanos
        var left = groups
        while !left.isEmpty && monotonicNanos() < deadline {
            left.removeAll(where: hasExited)
            if !left.isEmpty { sleep(nanoseconds: 10_000_000) }
        }
        // A leader that exited may leave members behind (a shell that trapped the
        // signal, its own children): kill(-pgid, 0) says whether any remain.
        for pgid in groups where kill(-pgid, 0) == 0 { kill(-pgid, SIGKILL) }
    }

    /// waitid(2) with WNOWAIT: whether the child exited, leaving it to be reaped.
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        let r = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        return r != 0 || info._sifields._sigchld.si_pid != 0
    }

    /// Restores the default action, unblocks the signal in this thread and raises it.
    static func die(by signal: Int32) -> Never {
        Glibc.signal(signal, SIG_DFL)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        raise(signal)
        _exit(128 + signal)
    }
}
