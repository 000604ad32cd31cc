import Glibc
import Testing
@testable import SluiceCore

/// `ChildProcess`: ending a command with a grace (SIGTERM, then SIGKILL) and reaping it,
/// with either kind of exit watch (a pidfd, or the pipe a waitid(2) thread closes). Each
/// command says `ready` on its stdout once its traps are set; the tests wait for that
/// line, never for a time.
@Suite struct ChildProcessTests {
    /// A started `sh -c script`, its stdout read up to its first line.
    struct Started {
        let process: ChildProcess
        let input: FileDescriptor
        let output: FileDescriptor

        init(_ script: String, usesPidfd: Bool) throws {
            let command = ExecCommand(arguments: [Array("sh".utf8), Array("-c".utf8), Array(script.utf8)], pipeBytes: 0)
            (process, input, output) = try ChildProcess.start(command, usesPidfd: usesPidfd)
        }

        /// Reads the command's stdout up to the first newline.
        func firstLine() throws -> String {
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while try withUnsafeMutableBytes(of: &byte, { try output.read(into: $0) }) == 1 && byte != 10 {
                line.append(byte)
            }
            return String(decoding: line, as: UTF8.self)
        }

        func close() {
            try? input.close()
            try? output.close()
        }
    }

    static let watches = [true, false]

    /// A command that ignores SIGTERM is killed by SIGKILL once the grace is over, and
    /// not before: reaped, it died by signal 9.
    @Test(arguments: watches)
    func ignoringSigtermIsKilledAfterTheGrace(usesPidfd: Bool) throws {
        let child = try Started("trap '' TERM; echo ready; exec sleep 30", usesPidfd: usesPidfd)
        defer { child.close() }
        #expect(try child.firstLine() == "ready")
        let grace: UInt64 = 300_000_000
        let start = monotonicNanos()
        ChildProcess.terminate([child.process], graceNanos: grace)
        let status = child.process.reap()
        #expect(monotonicNanos() - start >= grace)
        #expect(ChildProcess.failure(status, name: "sh") == "sh killed by signal 9 (SIGKILL)")
    }

    /// A command that exits on SIGTERM is reaped with that status, without waiting out
    /// the grace (30 s here: the test would take that long).
    @Test(arguments: watches)
    func exitingOnSigtermIsReapedWithItsStatus(usesPidfd: Bool) throws {
        let child = try Started("echo ready; exec sleep 30", usesPidfd: usesPidfd)
        defer { child.close() }
        #expect(try child.firstLine() == "ready")
        let start = monotonicNanos()
        ChildProcess.terminate([child.process], graceNanos: 30_000_000_000)
        let status = child.process.reap()
        #expect(monotonicNanos() - start < 15_000_000_000)
        #expect(ChildProcess.failure(status, name: "sh") == "sh killed by signal 15 (SIGTERM)")
        #expect(child.process.reap() == status, "reaped once; asked again, the same status")
    }

    /// A command that traps SIGTERM and exits with a status of its own is reaped with
    /// that status: the grace lets it finish.
    @Test(arguments: watches)
    func trappingSigtermKeepsItsExitStatus(usesPidfd: Bool) throws {
        let child = try Started("trap 'exit 7' TERM; echo ready; while :; do sleep 1; done", usesPidfd: usesPidfd)
        defer { child.close() }
        #expect(try child.firstLine() == "ready")
        ChildProcess.terminate([child.process], graceNanos: 30_000_000_000)
        #expect(ChildProcess.failure(child.process.reap(), name: "sh") == "sh exited with status 7")
    }

    /// Several commands share one grace: two that ignore SIGTERM are both killed after
    /// it, not one grace after another.
    @Test func childrenShareOneGrace() throws {
        let children = try (0..<2).map { _ in try Started("trap '' TERM; echo ready; exec sleep 30", usesPidfd: true) }
        defer { for child in children { child.close() } }
        for child in children { #expect(try child.firstLine() == "ready") }
        let grace: UInt64 = 2_000_000_000
        let start = monotonicNanos()
        ChildProcess.terminate(children.map(\.process), graceNanos: grace)
        let statuses = children.map { $0.process.reap() }
        let spent = monotonicNanos() - start
        #expect(spent >= grace && spent < 2 * grace, "\(spent) ns")
        #expect(statuses.allSatisfy { $0 & 0x7f == SIGKILL })
    }

    /// What the command started in its process group goes too: a background `sleep` that
    /// ignores SIGTERM, left behind by a shell that exits on it, is killed. Its end is
    /// seen through a pidfd of its own.
    @Test func leftoversInTheGroupAreKilled() throws {
        let child = try Started("(trap '' TERM; exec sleep 30) & echo $!; wait", usesPidfd: true)
        defer { child.close() }
        let leftover = try #require(pid_t(try child.firstLine()))
        let watch = try openPidfd(leftover)
        defer { try? watch.close() }
        ChildProcess.terminate([child.process], graceNanos: 30_000_000_000)
        _ = child.process.reap()
        var entries = [pollfd(fd: watch.rawValue, events: Int16(POLLIN), revents: 0)]
        #expect(try FileDescriptor.poll(&entries, timeoutMillis: 20_000) == 1, "the background sleep is gone")
    }

    /// A command left to end on its own is reaped with its exit status.
    @Test(arguments: watches)
    func reapTakesTheExitStatus(usesPidfd: Bool) throws {
        let child = try Started("read line; exit 3", usesPidfd: usesPidfd)
        defer { child.close() }
        try child.input.writeAll("go\n")
        #expect(ChildProcess.failure(child.process.reap(), name: "sh") == "sh exited with status 3")
    }
}
