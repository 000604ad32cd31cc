/// How long an `exec -j` worker leaves one of its command's pipes alone before it writes
/// to it again (stdin) or reads it again (stdout), rather than waking as soon as it can.
///
/// A pipe wakes its other end as soon as a page is written or read: a worker feeding
/// `jq`, which reads 4 KiB at a time, ran some 10,000 times per 40 MiB, each time taking
/// a core from a command that wanted it (bench/exec.sh: 20,000 context switches a run).
///
/// So a worker whose turns keep moving little (under an eighth of the pipe, `probeTurns`
/// turns in a row) tries sleeping instead: 1 ms, then as long as the pipe allows. After
/// each sleep it looks at the pipe's slack — what the command has left before it must
/// wait: the unread bytes of its stdin, the free room of its stdout — and doubles the
/// interval (up to `maxMillis`) while more than three quarters is left, halves it under a
/// quarter. A sleep that left the command waiting (no slack) halves it too; at 0 the
/// worker waits on the pipe itself again, as a fast command (`cat`, `wc`) needs, and
/// waits twice as many turns before it tries again. The command's exit still wakes the
/// worker at once (a pidfd), so pacing never delays a block's end.
///
/// A value type with no clock and no descriptor: tested alone.
struct PipePacer {
    /// 32 ms: a 1 MiB pipe holds that much of a command moving 32 MB/s.
    static let maxMillis = 32
    static let firstProbeTurns = 16
    static let maxProbeTurns = 4096
    /// The capacity of the pipe.
    var pipeBytes: Int
    /// 0: wait on the pipe itself (poll(2) for POLLIN or POLLOUT).
    private(set) var intervalMillis = 0
    /// Small turns in a row while eager.
    private var smallTurns = 0
    /// How many small turns before it tries sleeping.
    private(set) var probeTurns = firstProbeTurns
    /// The command exited: its pipe is waited on as it comes, for good.
    private(set) var isStopped = false

    init(pipeBytes: Int) { self.pipeBytes = max(pipeBytes, 4096) }

    var isEager: Bool { intervalMillis == 0 }

    /// The command exited: no more pacing (its exit can no longer wake the worker).
    mutating func stop() {
        isStopped = true
        intervalMillis = 0
    }

    /// A turn woken by the pipe itself moved `bytes`.
    mutating func recordEager(movedBytes bytes: Int) {
        guard isEager, !isStopped else { return }
        if bytes >= pipeBytes / 8 {
            smallTurns = 0
            return
        }
        smallTurns += 1
        if smallTurns >= probeTurns {
            smallTurns = 0
            intervalMillis = 1
        }
    }

    /// A sleep ended with `bytes` of slack in the pipe.
    mutating func recordPaced(slackBytes bytes: Int) {
        guard !isEager else { return }
        if bytes < pipeBytes / 4 {
            intervalMillis /= 2
            if isEager { probeTurns = min(2 * probeTurns, Self.maxProbeTurns) }
        } else if bytes > pipeBytes - pipeBytes / 4 {
            intervalMillis = min(2 * intervalMillis, Self.maxMillis)
            probeTurns = Self.firstProbeTurns
        }
    }
}
