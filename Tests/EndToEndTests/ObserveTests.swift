import Foundation
import Testing

/// What `script` recorded of a progress display: the lines of the last frame drawn, with
/// the erase-line escapes taken out. ("\r\n" is one Character, a newline.)
func lastFrame(_ tty: String) -> [String] {
    let start = tty.ranges(of: /\x{1B}\[[0-9]+A/).last?.upperBound ?? tty.startIndex
    return tty[start...].split(whereSeparator: \.isNewline).map { String($0).replacing("\u{1B}[K", with: "") }
}

/// Runs `command` (which uses `$SLUICE` and `$T`) in a pseudo-terminal `columns` wide and
/// returns what it drew on it. `setup` runs first, outside the terminal.
func inTerminal(_ command: String, columns: Int, setup: String = "", timeout: Int = 120) throws -> Outcome {
    try sh("""
        \(setup)
        script -qfec 'stty cols \(columns); '\(shellQuoted(command)) /dev/null
        """, timeout: timeout)
}

/// `text` as one single-quoted shell word.
func shellQuoted(_ text: String) -> String {
    "'" + text.replacing("'", with: #"'\''"#) + "'"
}

/// The JSON object of `--stats=json` on the last line of `stderr` that holds one.
func statsJSON(_ stderr: String) throws -> [String: Any] {
    let line = try #require(stderr.split(separator: "\n").last { $0.hasPrefix("{") }, "no stats: \(stderr)")
    return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
}

/// The percentage after `word` in a progress row (`busy  12%`).
func share(_ word: String, in row: String) -> Int? {
    guard let range = row.firstRange(of: word + " ") else { return nil }
    let rest = row[range.upperBound...].drop { $0 == " " }
    return Int(rest.prefix { $0.isNumber })
}

/// A run too short to measure names no bottleneck rather than whichever node happened
/// to start first.
@Suite struct InstantRunTests {
    @Test func tableSaysTooShortToTell() throws {
        let r = try sh("echo hi > $T/in; \"$SLUICE\" --stats cat < $T/in")
        #expect(r.text == "hi\n")
        #expect(r.stderr.hasSuffix(", bottleneck: none (too short to tell)\n"), "\(r.stderr)")
    }

    @Test func jsonBottleneckIsNull() throws {
        let r = try sh("echo hi > $T/in; \"$SLUICE\" --stats=json cat < $T/in")
        let json = try statsJSON(r.stderr)
        #expect(json["bottleneck"] is NSNull, "\(r.stderr)")
        #expect(json["bottleneck_index"] is NSNull, "\(r.stderr)")
    }
}

@Suite struct PacingTests {
    /// `throttle 1M` on 3 MiB sleeps about 2 s to keep its rate: that is pacing, not work,
    /// and the throttle is still what limits the run.
    @Test func throttleSleepIsPacingNotWork() throws {
        let r = try sh("head -c 3M /dev/zero | \"$SLUICE\" --stats=json throttle 1M > /dev/null", timeout: 60)
        let json = try statsJSON(r.stderr)
        #expect(json["bottleneck"] as? String == "throttle")
        let stages = try #require(json["stages"] as? [[String: Any]])
        let throttle = stages[1]
        #expect((throttle["pacing_s"] as? Double ?? 0) > 1.5, "\(throttle)")
        #expect((throttle["busy_s"] as? Double ?? 9) < 0.5, "\(throttle)")
        for stage in stages { #expect(stage["pacing_s"] is Double) }
    }

    @Test func tableHasAPacingColumnWhenSomethingPaced() throws {
        let r = try sh("""
            head -c 2M /dev/zero | "$SLUICE" --stats throttle 1M > /dev/null
            seq 1000 | "$SLUICE" --stats cat 2>&1 > /dev/null
            """, timeout: 60)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.first?.hasSuffix("  blocked  pacing") == true, "\(r.stderr)")
        #expect(lines[2].hasPrefix("throttle "))
        #expect(lines[3].hasSuffix("0.000s"), "stdout never paces")
        #expect(lines[4].hasSuffix(", bottleneck: throttle (pacing)"), "\(r.stderr)")
        #expect(r.text.split(separator: "\n").first?.hasSuffix("  blocked") == true, "\(r.text)")
    }

    @Test func progressShowsThePacingShare() throws {
        let r = try inTerminal(#""$SLUICE" -P throttle 1M < $T/in > /dev/null"#, columns: 200,
                               setup: "head -c 3M /dev/zero > $T/in", timeout: 60)
        let frame = lastFrame(r.text)
        let row = try #require(frame.first { $0.hasPrefix("throttle ") }, "\(r.text)")
        #expect((share("busy", in: row) ?? 100) <= 10, "\(row)")
        #expect((share("pacing", in: row) ?? 0) >= 80, "\(row)")
        #expect(frame.first { $0.hasPrefix("stdout ") }?.contains("pacing") == false, "only where it paced")
        #expect(frame.last?.hasSuffix("bottleneck: throttle (pacing)") == true, "\(frame)")
    }
}

@Suite struct LabelTests {
    static let chain = "exec cat + exec sed -n p + gzip + gunzip + gzip + gunzip"
    static let names = ["stdin", "exec", "exec", "gzip", "gunzip", "gzip", "gunzip", "stdout"]
    static let labels = ["stdin", "exec cat", "exec sed", "gzip#1", "gunzip#1", "gzip#2", "gunzip#2", "stdout"]

    /// JSON keeps each stage's name and adds the label that tells it apart, and its index;
    /// the bottleneck is a label, with its index.
    @Test func jsonLabelsAndIndexesStagesOfOneName() throws {
        let r = try sh("seq 200000 | \"$SLUICE\" --stats=json \(Self.chain) | cmp - <(seq 200000) && echo same")
        #expect(r.text == "same\n")
        let json = try statsJSON(r.stderr)
        let stages = try #require(json["stages"] as? [[String: Any]])
        #expect(stages.map { $0["name"] as? String } == Self.names)
        #expect(stages.map { $0["label"] as? String } == Self.labels)
        #expect(stages.map { $0["index"] as? Int } == Array(0..<8))
        let index = try #require(json["bottleneck_index"] as? Int)
        #expect(json["bottleneck"] as? String == Self.labels[index])
    }

    @Test func tableAndProgressShowTheLabels() throws {
        let r = try sh("seq 200000 | \"$SLUICE\" --stats \(Self.chain) > /dev/null")
        let rows = r.stderr.split(separator: "\n").dropFirst().prefix(Self.labels.count)
        for (row, label) in zip(rows, Self.labels) { #expect(row.hasPrefix(label + "  "), "\(row)") }
        let tty = try inTerminal(#"seq 200000 | "$SLUICE" -P "# + Self.chain + " > /dev/null", columns: 200)
        let frame = lastFrame(tty.text)
        #expect(frame.count == Self.labels.count + 1, "\(tty.text)")
        for (row, label) in zip(frame, Self.labels) { #expect(row.hasPrefix(label + " "), "\(row)") }
    }

    /// A chain without repeated names reads as it always did.
    @Test func uniqueNamesAreTheirOwnLabels() throws {
        let r = try sh("seq 1000 | \"$SLUICE\" --stats=json exec cat + gzip > /dev/null")
        let stages = try #require(try statsJSON(r.stderr)["stages"] as? [[String: Any]])
        #expect(stages.map { $0["label"] as? String } == ["stdin", "exec", "gzip", "stdout"])
    }
}

@Suite struct ProgressWidthTests {
    /// Every line of every frame fits the terminal (one column spare, so the cursor never
    /// wraps), and the final frame still has each node's rate and the bottleneck.
    @Test(arguments: [80, 60, 45])
    func linesFitTheTerminal(_ columns: Int) throws {
        let r = try inTerminal(#""$SLUICE" -P cat + throttle 1M < $T/in > /dev/null"#, columns: columns,
                               setup: "head -c 2M /dev/zero > $T/in", timeout: 60)
        let lines = r.text.replacing(/\x{1B}\[[0-9]*[A-Za-z]/, with: "").split(whereSeparator: \.isNewline)
        #expect(lines.count > 5, "\(r.text)")
        for line in lines { #expect(line.count < columns, "\(line.count) columns: \(line)") }
        let frame = lastFrame(r.text)
        #expect(frame.count == 5, "\(frame)")
        for (row, label) in zip(frame, ["stdin", "cat", "throttle", "stdout"]) {
            #expect(row.hasPrefix(label + " ") && row.contains(/\s[0-9.]+ [KM]?i?B\/s/), "\(row)")
        }
        #expect(frame.last?.contains("bottleneck: throttle") == true, "\(frame)")
    }

    /// Narrowed from 120 to 50 columns mid-run (no SIGWINCH handler: the width is read at
    /// every redraw), the frames after it fit 50.
    @Test func followsAResize() throws {
        let r = try inTerminal(#"(sleep 1.2; stty cols 50 < /dev/tty) & "$SLUICE" -P cat + throttle 1M < $T/in > /dev/null; wait"#,
                               columns: 120, setup: "head -c 3M /dev/zero > $T/in", timeout: 60)
        let lines = r.text.replacing(/\x{1B}\[[0-9]*[A-Za-z]/, with: "").split(whereSeparator: \.isNewline)
        #expect(lines.contains { $0.count >= 50 }, "wide at first: \(r.text)")
        let frame = lastFrame(r.text)
        #expect(frame.count == 5 && frame.allSatisfy { $0.count < 50 }, "\(frame)")
        #expect(frame.last?.hasSuffix("bottleneck: throttle (pacing)") == true, "\(frame)")
    }
}

@Suite struct ProgressLogTests {
    /// `--progress=force 2> file`: plain lines, at most one a second and the last at the
    /// end, with no cursor escapes to garble the file.
    @Test func forcedIntoAFileAppendsPlainLines() throws {
        let r = try sh("""
            head -c 3M /dev/zero > $T/in
            "$SLUICE" --progress=force throttle 1M < $T/in 2> $T/err > /dev/null
            cat $T/err
            """, timeout: 60)
        #expect(!r.text.contains("\u{1B}") && !r.text.contains("\r"), "\(r.text.debugDescription)")
        let lines = r.text.split(separator: "\n").map(String.init)
        #expect((2...4).contains(lines.count), "\(lines)")
        // Every line, the last too, says which rate is the current one and which the average.
        let line = #/^(\d+:\d\d) elapsed, [0-9.]+ [KM]?i?B in, [0-9.]+ [KM]?i?B/s now, [0-9.]+ [KM]?i?B/s average, [0-9.]+ [KM]?i?B out, \d+% of 3 MiB, (ETA \d+:\d\d, )?bottleneck: throttle \(pacing\)$/#
        var clocks: [String] = []
        for text in lines {
            guard let match = text.wholeMatch(of: line) else { Issue.record("\(text)"); continue }
            clocks.append(String(match.1))
        }
        #expect(Set(clocks.dropLast()).count == clocks.count - 1, "one line a second: \(clocks)")
        #expect(lines.last?.wholeMatch(of: #/0:0[234] elapsed, 3 MiB in, .* now, .* average, 3 MiB out, 100% of 3 MiB, bottleneck: throttle \(pacing\)/#) != nil, "\(lines)")
    }

    /// A run shorter than a second logs its last line only; a pipe has no size to show.
    @Test func shortRunFromAPipeLogsOneLine() throws {
        let r = try sh("seq 1000 | \"$SLUICE\" -Pforce cat 2>&1 > /dev/null")
        #expect(r.text.wholeMatch(of: #/0:00 elapsed, 3\.[0-9]+ KiB in, [0-9.]+ [KM]?i?B/s now, [0-9.]+ [KM]?i?B/s average, 3\.[0-9]+ KiB out(, bottleneck: \w+)?\n/#) != nil, "\(r.text)")
    }
}

@Suite struct ExpectedSizeTests {
    /// From a pipe, `--size` gives the progress its percent and ETA, as a file's size does.
    /// (The percent counts bytes read: small buffers keep them close to the throttle's.)
    @Test func sizeGivesAPipePercentAndETA() throws {
        let r = try sh("""
            head -c 4M /dev/zero | "$SLUICE" -Pforce --size 4M --hwm 64K --chunk 16K throttle 2M 2>&1 > /dev/null
            """, timeout: 60)
        let lines = r.text.split(separator: "\n")
        #expect(lines.count >= 2, "\(r.text)")
        #expect(lines.first?.contains(#/, [1-9][0-9]?% of 4 MiB, ETA [0-9]+:[0-9][0-9], /#) == true, "\(r.text)")
        #expect(lines.last?.contains(", 100% of 4 MiB, bottleneck: ") == true, "\(r.text)")
    }

    @Test func shortOptionInATerminalAndStatedSizeWins() throws {
        let r = try inTerminal(#"head -c 1M /dev/zero | "$SLUICE" -P -s 4M cat > /dev/null; "$SLUICE" -P -s 2M cat < $T/in > /dev/null"#,
                               columns: 120, setup: "head -c 1M /dev/zero > $T/in")
        let summaries = r.text.split(whereSeparator: \.isNewline).filter { $0.contains("elapsed") }
        #expect(summaries.contains { $0.contains(", 25% of 4 MiB") }, "\(r.text)")
        #expect(summaries.last?.contains(", 50% of 2 MiB") == true, "--size overrides a file's size: \(r.text)")
    }

    @Test func usage() throws {
        let r = try sh("""
            "$SLUICE" --size 0 < /dev/null; echo "s=$?"
            "$SLUICE" -s 12X < /dev/null; echo "s=$?"
            """)
        #expect(r.text == "s=2\ns=2\n")
        #expect(r.stderr.contains("sluice: --size: size must be at least 1 B: '0'"), "\(r.stderr)")
        #expect(r.stderr.contains("sluice: -s: invalid size '12X'"), "\(r.stderr)")
    }
}
