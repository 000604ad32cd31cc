import Glibc
import Testing
@testable import SluiceCore

/// A node's reading over `wall` tenths of a second: `busy` working, `pacing` pacing,
/// `blocked` blocked, and starved the rest.
func node(wall: UInt64 = 100, busy: UInt64 = 0, pacing: UInt64 = 0, blocked: UInt64 = 0) -> NodeSnapshot {
    let tenth: UInt64 = 100_000_000
    return NodeSnapshot(wallNanos: wall * tenth, starvedNanos: (wall - busy - pacing - blocked) * tenth,
                        blockedNanos: blocked * tenth, pacingNanos: pacing * tenth)
}

@Suite struct BottleneckRuleTests {
    let labels = ["stdin", "gzip", "throttle", "stdout"]

    /// `gzip + throttle 1M`: the throttle does almost no work, yet everything before it
    /// waits on it. It is the limit, and pacing.
    @Test func aPacingThrottleIsTheLimitAndSaysSo() {
        let nodes = [node(busy: 2, blocked: 98), node(busy: 30, blocked: 70), node(busy: 1, pacing: 97), node(busy: 1)]
        let limit = Bottleneck.find(after: nodes)
        #expect(limit == Bottleneck(index: 2, isPacing: true))
        #expect(limit?.text(labels: labels) == "throttle (pacing)")
    }

    /// `gzip -9 + throttle 100M`: gzip is slower than the rate, so the throttle waits for
    /// input and hardly paces.
    @Test func aThrottleUnderItsRateIsNotTheLimit() {
        let nodes = [node(busy: 2, blocked: 98), node(busy: 97), node(busy: 1, pacing: 3), node(busy: 1)]
        #expect(Bottleneck.find(after: nodes)?.text(labels: labels) == "gzip")
    }

    /// Over a window, only the time within it counts: gzip was the limit before, the
    /// throttle is now.
    @Test func theWindowCountsOnlyItsOwnTime() {
        let before = [node(wall: 100), node(wall: 100, busy: 90), node(wall: 100), node(wall: 100)]
        let after = [node(wall: 120), node(wall: 120, busy: 95), node(wall: 120, pacing: 18), node(wall: 120)]
        #expect(Bottleneck.find(after: after, before: before) == Bottleneck(index: 2, isPacing: true))
        #expect(Bottleneck.find(after: after) == Bottleneck(index: 1, isPacing: false))
    }

    /// `echo hi | sluice cat`: tens of microseconds of work in all name no bottleneck;
    /// neither do a few milliseconds (one preemption on a loaded machine); 10 ms in all
    /// (`Bottleneck.measurableNanos`) do.
    @Test func anInstantRunNamesNone() {
        let instant = [NodeSnapshot(wallNanos: 400_000, starvedNanos: 360_000),
                       NodeSnapshot(wallNanos: 400_000, starvedNanos: 390_000),
                       NodeSnapshot(wallNanos: 400_000, starvedNanos: 395_000)]
        #expect(Bottleneck.find(after: instant) == nil)
        let preempted = [NodeSnapshot(wallNanos: 2_500_000, starvedNanos: 400_000),
                         NodeSnapshot(wallNanos: 2_500_000, starvedNanos: 2_400_000),
                         NodeSnapshot(wallNanos: 2_500_000, starvedNanos: 2_450_000)]
        #expect(Bottleneck.find(after: preempted) == nil)
        let short = [NodeSnapshot(wallNanos: 14_000_000, starvedNanos: 6_000_000),
                     NodeSnapshot(wallNanos: 14_000_000, starvedNanos: 10_000_000),
                     NodeSnapshot(wallNanos: 14_000_000, starvedNanos: 14_000_000)]
        #expect(Bottleneck.find(after: short) == Bottleneck(index: 0))
    }

    @Test func nothingRanNothingNamed() {
        #expect(Bottleneck.find(after: [node(wall: 0), node(wall: 0)]) == nil)
    }
}

@Suite struct StageLabelTests {
    @Test(arguments: [
        (["gzip", "gunzip"], [nil, nil], ["gzip", "gunzip"]),
        (["exec", "gzip"], ["jq", nil], ["exec", "gzip"]),
        (["exec", "exec"], ["jq", "/bin/sed"], ["exec jq", "exec sed"]),
        (["gzip", "cat", "gzip", "gzip"], [nil, nil, nil, nil], ["gzip#1", "cat", "gzip#2", "gzip#3"]),
        (["exec", "exec", "exec"], ["jq", "sed", "./jq"], ["exec jq#1", "exec sed", "exec jq#2"]),
    ] as [([String], [String?], [String])])
    func labels(_ names: [String], _ commands: [String?], _ expected: [String]) {
        #expect(StageLabels.make(names: names, commands: commands) == expected)
    }
}

@Suite struct ProgressLayoutTests {
    static let mebibyte = 1 << 20

    static func row(_ label: String, _ role: ProgressView.Row.Role, in bytesIn: Int, out bytesOut: Int,
                    rate: Int, buffered: Int?, shares: (Double, Double, Double), pacing: Double? = nil,
                    isFinished: Bool = false) -> ProgressView.Row {
        ProgressView.Row(label: label, role: role, bytesIn: bytesIn * mebibyte, bytesOut: bytesOut * mebibyte,
                         rate: Double(rate * mebibyte), buffered: buffered.map { $0 * 1024 },
                         highWaterMark: buffered == nil ? nil : mebibyte,
                         busy: shares.0, starved: shares.1, blocked: shares.2, pacing: pacing, isFinished: isFinished)
    }

    /// gzip + throttle 4M, three seconds into 256 MiB.
    static let view = ProgressView(
        rows: [
            row("stdin", .reader, in: 100, out: 100, rate: 30, buffered: 768, shares: (0.03, 0, 0.97)),
            row("gzip", .stage, in: 99, out: 14, rate: 30, buffered: 1024, shares: (0.2, 0, 0.8)),
            row("throttle", .stage, in: 13, out: 13, rate: 4, buffered: 0, shares: (0.01, 0, 0), pacing: 0.99),
            row("stdout", .writer, in: 13, out: 13, rate: 4, buffered: nil, shares: (0, 1, 0), isFinished: true),
        ],
        elapsed: 3.4, bytesRead: 100 * mebibyte, totalInput: 256 * mebibyte, bottleneck: "throttle (pacing)",
        isFinal: false)

    @Test func wideTerminalShowsEverything() {
        #expect(Self.view.lines(width: 119) == [
            "stdin       100 MiB                  30 MiB/s [########--]  75%  busy   3% starved   0% blocked  97%",
            "gzip         99 MiB >     14 MiB     30 MiB/s [##########] 100%  busy  20% starved   0% blocked  80%",
            "throttle     13 MiB >     13 MiB      4 MiB/s [----------]   0%  busy   1% starved   0% blocked   0% pacing  99%",
            "stdout       13 MiB                   4 MiB/s                   busy   0% starved 100% blocked   0%  done",
            "0:03 elapsed, 29.4 MiB/s average, 39% of 256 MiB, ETA 0:05, bottleneck: throttle (pacing)",
        ])
    }

    /// 80 columns (79 drawn, so the cursor never wraps): the waits go, then the bar.
    @Test func eightyColumnsKeepBusyAndPacing() {
        #expect(Self.view.lines(width: 79) == [
            "stdin       100 MiB                  30 MiB/s  busy   3%",
            "gzip         99 MiB >     14 MiB     30 MiB/s  busy  20%",
            "throttle     13 MiB >     13 MiB      4 MiB/s  busy   1% pacing  99%",
            "stdout       13 MiB                   4 MiB/s  busy   0%  done",
            "0:03 elapsed, 39% of 256 MiB, ETA 0:05, bottleneck: throttle (pacing)",
        ])
    }

    @Test func narrowTerminalsKeepRateAndBottleneck() {
        #expect(Self.view.lines(width: 59) == [
            "stdin       100 MiB                  30 MiB/s",
            "gzip         99 MiB >     14 MiB     30 MiB/s",
            "throttle     13 MiB >     13 MiB      4 MiB/s",
            "stdout       13 MiB                   4 MiB/s  done",
            "0:03 elapsed, 39%, ETA 0:05, bottleneck: throttle (pacing)",
        ])
        #expect(Self.view.lines(width: 39) == [
            "stdin       100 MiB     30 MiB/s",
            "gzip         99 MiB     30 MiB/s",
            "throttle     13 MiB      4 MiB/s",
            "stdout       13 MiB      4 MiB/s  done",
            "39%, bottleneck: throttle (pacing)",
        ])
    }

    /// Whatever the width, no line is wider, and the bottleneck is there while it fits.
    @Test func everyWidthFits() {
        for width in 10...200 {
            let lines = Self.view.lines(width: width)
            #expect(lines.allSatisfy { $0.count <= width }, "\(width)")
            if width >= 29 { #expect(lines.last!.hasSuffix("bottleneck: throttle (pacing)"), "\(width)") }
        }
    }
}

/// The trace's clock, driven by hand: `sample(now:)` is given the instants.
@Suite struct TraceSamplingTests {
    /// The first sample comes one interval after the start: the first interval starts
    /// with the run (it used to start at the first tick, so the first sample came at two).
    @Test func theFirstSampleIsOneIntervalAfterTheStart() throws {
        let path = "/tmp/sluice-trace-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).jsonl"
        defer { unlink(path) }
        let pipeline = Pipeline(RunPlan(stages: [], chunkBytes: 4096))
        let interval: UInt64 = 100_000_000
        let trace = try Trace(path: path, intervalNanos: interval, pipeline: pipeline, commandLine: "sluice")
        let start = pipeline.startNanos
        trace.sample(now: start + interval / 2)
        trace.sample(now: start + interval)
        trace.sample(now: start + 2 * interval)
        trace.finish(now: start + 2 * interval + interval / 4)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        let n = read(fd, &bytes, bytes.count)
        let times = String(decoding: bytes.prefix(max(0, n)), as: UTF8.self).split(separator: "\n")
            .map { $0.split(separator: ",")[0] }
        #expect(times == ["{\"t\": 0.100000", "{\"t\": 0.200000", "{\"t\": 0.225000"])
    }
}
