import Glibc

/// The commands sluice has started (`exec`), so that a signal that ends sluice ends them
/// too: `kill -TERM $pid` reaches sluice alone, and a child left running after sluice is
/// gone is a leak the user cannot see. Each command leads a process group of its own
/// (`spawnProcess`), so a signal sent to the group reaches what it started too.
final class ChildRegistry: @unchecked Sendable {
    static let shared = ChildRegistry()
    /// Protects `children` and `isClosed`.
    private let lock = Lock()
    /// Children started and not yet reaped, by pid.
    private var children: [pid_t: ChildProcess] = [:]
    /// Set by `close`: sluice is ending by a signal, and a child started from now on
    /// (`exec -j` starts one per block) would outlive it unseen.
    private var isClosed = false

    /// Starts a child with `spawn` and registers it, under the lock, so that `close`
    /// cannot come between the two: once closed, nothing is started (ECANCELED). A
    /// process dying by a signal while posix_spawn's child had not yet exec'd would
    /// otherwise leave that child running unseen.
    func start(_ spawn: () -> Result<ChildProcess, Errno>) -> Result<ChildProcess, Errno> {
        lock.lock()
        defer { lock.unlock() }
        if isClosed { return .failure(Errno(ECANCELED)) }
        let result = spawn()
        if case .success(let child) = result { children[child.pid] = child }
        return result
    }

    func remove(_ pid: pid_t) { lock.withLock { _ = children.removeValue(forKey: pid) } }

    /// The children running now; none is added after (`start` refuses).
    func close() -> [ChildProcess] {
        lock.withLock {
            isClosed = true
            return Array(children.values)
        }
    }

    /// Sluice is ending by `signal`: forwards it to every child's process group, waits up
    /// to the grace for them to exit (their stages reap them meanwhile), and SIGKILLs
    /// every group whose command is not reaped by then (`ChildProcess.terminate`).
    func endAll(by signal: Int32) {
        let running = close()
        if !running.isEmpty { ChildProcess.terminate(running, by: signal) }
    }
}
