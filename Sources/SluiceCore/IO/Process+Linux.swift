import CSys
import Glibc

/// posix_spawnp(3) of `arguments` (the first searched in PATH), with `stdin` and `stdout`
/// as its descriptors 0 and 1. SIGPIPE goes back to its default (sluice ignores it, and
/// an ignored signal stays ignored across exec); no signal is blocked (sluice blocks the
/// ending signals in every thread, `EndingSignals`); and it leads a process group of its
/// own (pgid = pid), so that a signal sent to the group reaches what it starts. Not
/// retried: posix_spawn returns its error, and a failed exec is reported as one.
func spawnProcess(_ arguments: [[UInt8]], stdin: FileDescriptor, stdout: FileDescriptor) -> Result<pid_t, Errno> {
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
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    posix_spawnattr_setsigmask(&attributes, &unblocked)
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
private func cString(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar>? {
    let c = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
    for (i, b) in bytes.enumerated() { c[i] = CChar(bitPattern: b) }
    c[bytes.count] = 0
    return c
}

/// kill(2) of `signal` to every process in the group `pgid`. Not retried: kill does not
/// block. ESRCH: the group has no process left.
func signalProcessGroup(_ pgid: pid_t, _ signal: Int32) throws(Errno) {
    _ = try valueOrErrno(retryOnInterrupt: false) { kill(-pgid, signal) }
}

/// waitpid(2) for `pid`, retrying EINTR; the raw wait status. This reaps the child.
func waitForChild(_ pid: pid_t) throws(Errno) -> Int32 {
    var status: Int32 = 0
    _ = try valueOrErrno { waitpid(pid, &status, 0) }
    return status
}

/// waitid(2) with WEXITED | WNOWAIT, retrying EINTR: returns once the child `pid` has
/// exited, leaving it to be reaped (`waitForChild`). ECHILD: it was reaped already.
func waitForExit(of pid: pid_t) throws(Errno) {
    var info = siginfo_t()
    _ = try valueOrErrno { waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) }
}

/// pidfd_open(2): a descriptor for `pid` that polls readable once it has exited (it is
/// not reaped by that), close-on-exec as every pidfd is. Not retried: it does not
/// block. ENOSYS before Linux 5.3; EPERM under a seccomp filter that refuses it.
func openPidfd(_ pid: pid_t) throws(Errno) -> FileDescriptor {
    FileDescriptor(try valueOrErrno(retryOnInterrupt: false) { pidfd_open(pid, 0) })
}
