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
