import Testing
@testable import SluiceCore

/// `exec -j`'s two pure decisions: how big the default block is, and how long a worker
/// leaves a command's pipe alone (`PipePacer`).
@Suite struct ExecPacingTests {
    /// A stream of unknown length gets 4M; a known length is cut into a multiple of the
    /// jobs, each block at most 8M plus its 64th, and the lines fit in that count.
    @Test func defaultBlockFollowsTheInputLength() {
        #expect(ParallelExecStage.defaultBlockBytes(jobs: 2, inputBytes: nil) == 4 << 20)
        #expect(ParallelExecStage.defaultBlockBytes(jobs: 2, inputBytes: 0) == 4 << 20)
        // bench/exec.sh's log: 6 blocks, not 10 and a short one.
        let log = 41_943_122
        let block = ParallelExecStage.defaultBlockBytes(jobs: 2, inputBytes: log)
        #expect(block == 6_990_521 + 6_990_521 / 64)
        #expect((log + block - 1) / block == 6)
        // Small inputs: one block of at least 64 KiB.
        #expect(ParallelExecStage.defaultBlockBytes(jobs: 4, inputBytes: 1000) == 64 << 10)
        for jobs in [1, 2, 3, 8, 256] {
            for bytes in [1 << 20, 10_000_019, 1 << 30, 50 << 30, Int.max / 4] {
                let b = ParallelExecStage.defaultBlockBytes(jobs: jobs, inputBytes: bytes)
                #expect(b <= 8 << 20 + (8 << 20) / 64, "\(jobs) \(bytes)")
                #expect(b >= 64 << 10)
                // The bytes fit in the planned count of blocks, a multiple of jobs.
                let perRound = jobs * (8 << 20)
                let planned = jobs * ((bytes + perRound - 1) / perRound)
                #expect((bytes + b - 1) / b <= planned, "\(jobs) \(bytes)")
            }
        }
    }

    /// Big turns keep the worker waiting on the pipe; small ones in a row make it try
    /// sleeping 1 ms.
    @Test func smallTurnsStartPacing() {
        var p = PipePacer(pipeBytes: 1 << 20)
        for _ in 0..<100 { p.recordEager(movedBytes: 512 << 10) }
        #expect(p.isEager)
        for _ in 0..<(PipePacer.firstProbeTurns - 1) { p.recordEager(movedBytes: 4096) }
        #expect(p.isEager)
        p.recordEager(movedBytes: 4096)
        #expect(p.intervalMillis == 1)
    }

    /// While the pipe keeps most of its slack the interval doubles up to the cap; with
    /// little it halves; a sleep that left the command waiting sends it back to waiting
    /// on the pipe, and it then waits twice as many small turns before trying again.
    @Test func slackSetsTheInterval() {
        let pipe = 1 << 20
        var p = PipePacer(pipeBytes: pipe)
        for _ in 0..<PipePacer.firstProbeTurns { p.recordEager(movedBytes: 0) }
        for _ in 0..<20 { p.recordPaced(slackBytes: pipe - 1000) }
        #expect(p.intervalMillis == PipePacer.maxMillis)
        p.recordPaced(slackBytes: pipe / 2)
        #expect(p.intervalMillis == PipePacer.maxMillis)
        p.recordPaced(slackBytes: pipe / 8)
        #expect(p.intervalMillis == PipePacer.maxMillis / 2)
        while !p.isEager { p.recordPaced(slackBytes: 0) }
        #expect(p.probeTurns == 2 * PipePacer.firstProbeTurns)
        for _ in 0..<PipePacer.firstProbeTurns { p.recordEager(movedBytes: 10) }
        #expect(p.isEager)
        for _ in 0..<PipePacer.firstProbeTurns { p.recordEager(movedBytes: 10) }
        #expect(p.intervalMillis == 1)
        // A fast command found waiting at every probe: the probes thin out to the cap.
        for _ in 0..<20 {
            p.recordPaced(slackBytes: 0)
            while !p.isEager { p.recordPaced(slackBytes: 0) }
            for _ in 0..<p.probeTurns { p.recordEager(movedBytes: 10) }
        }
        #expect(p.probeTurns == PipePacer.maxProbeTurns)
        // A healthy sleep resets the probes.
        p.recordPaced(slackBytes: pipe)
        #expect(p.probeTurns == PipePacer.firstProbeTurns)
    }

    /// Once the command exited, nothing paces the pipe again: its exit can no longer
    /// wake a sleeping worker (`--unordered`'s two threads keep the pidfd open).
    @Test func anExitedCommandIsNeverPaced() {
        var p = PipePacer(pipeBytes: 1 << 20)
        for _ in 0..<PipePacer.firstProbeTurns { p.recordEager(movedBytes: 0) }
        #expect(!p.isEager)
        p.stop()
        #expect(p.isEager && p.isStopped)
        for _ in 0..<10 * PipePacer.maxProbeTurns { p.recordEager(movedBytes: 0) }
        #expect(p.isEager)
    }
}
