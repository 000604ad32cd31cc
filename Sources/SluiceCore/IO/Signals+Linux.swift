import Glibc
import Synchronization

/// SIGINT, SIGTERM and SIGHUP, and SIGUSR1, taken by one thread with sigwait(2) instead
/// of handlers, so that what happens next is ordinary code, not async-signal-safe code:
/// `install` blocks them in the calling thread, and so in every thread started after it
/// (children get an empty mask from posix_spawn). SIGUSR1 runs `onStatus` (the --stats
/// table so far, as dd prints its status) and the run goes on. An ending signal runs
/// `onSignal` (a report), is forwarded to every child, children still running after
/// `graceNanos` are killed (`ChildRegistry.endAll`), and sluice dies by the signal, as
/// the README promises.
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
            ChildRegistry.shared.endAll(by: signal)
            die(by: signal)
        }
        thread.detach()
    }

    /// Called by the main thread before it ends the process itself: once a signal is
    /// being handled, it waits for the signal thread to end the process instead.
    public static func waitIfEnding() {
        while isEnding.load(ordering: .sequentiallyConsistent) { pause() }
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
