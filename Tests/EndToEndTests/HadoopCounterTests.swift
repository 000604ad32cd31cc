import Foundation
import Testing

/// `--stats=hadoop`: the counters Hadoop Streaming reads from a mapper's stderr.
/// `Tests/scripts/streaming-task.py` runs a map task as Hadoop Streaming does;
/// `Tests/scripts/hadoop-counters.py` sums the counter lines against `--stats=json`.
@Suite struct HadoopCounterTests {
    static let checker = "python3 \(scriptsDirectory)/hadoop-counters.py"
    static let task = "python3 \(scriptsDirectory)/streaming-task.py"

    /// The increments of one run sum exactly to the totals its `--stats=json` prints, for
    /// every documented counter and no other, in chains with line stages, gzip, a buffer
    /// that drops, a stage named twice, and an early stop.
    @Test(arguments: [
        "grep -F 7",
        "gunzip + grep -F ERROR + gzip -1",
        "grep 1 + grep -v 2 + head -n 1000",
        "--hwm 4K --when-full=drop-oldest cat + throttle 2M",
        "tail -n 5",
    ])
    func incrementsSumToTheJSONTotals(_ chain: String) throws {
        let r = try sh("""
            seq 300000 | sed 's/^/ERROR /' > $T/in
            gzip -c < $T/in > $T/in.gz
            input=$T/in; case '\(chain)' in gunzip*) input=$T/in.gz;; esac
            "$SLUICE" --stats=hadoop,json \(chain) < $input 2> $T/err > $T/out || exit 10
            grep -v -e '^reporter:' -e '^{' -e '^sluice: .*: dropped .* when its buffer was full$' $T/err && exit 11
            grep -c '^reporter:status:sluice done: ' $T/err
            \(Self.checker) < $T/err
            """)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
        #expect(r.text.hasPrefix("1\nok "), "\(r.text)")
    }

    @Test func countersAreTheDocumentedOnes() throws {
        let r = try sh("seq 10 | \"$SLUICE\" --stats=hadoop grep 1 + grep 1 2>&1 >/dev/null | sort")
        let names = r.text.split(separator: "\n").filter { $0.hasPrefix("reporter:counter:") }
            .map { $0.split(separator: ",")[1] }
        let fields = ["bytes_in", "bytes_out", "busy_ms", "starved_ms", "blocked_ms"]
        let buffered = fields + ["dropped_records", "dropped_bytes", "spilled_bytes"]
        let expected = ["stdin", "grep#1", "grep#2"].flatMap { n in buffered.map { "\(n).\($0)" } }
            + fields.map { "stdout.\($0)" }
        #expect(Set(names.map(String.init)) == Set(expected))
        #expect(names.count == expected.count)
        #expect(r.text.contains("reporter:status:sluice done: 21 B read, 5 B written"), "\(r.text)")
    }

    /// A run longer than the period reports while it runs, so a host does not kill it as
    /// idle; the running increments and the final ones still sum to the totals.
    @Test func reportsWhileRunning() throws {
        let r = try sh("""
            head -c 2800K /dev/zero | tr '\\0' '\\n' > $T/in
            \(Self.task) --task-timeout 5 --report $T/report --output $T/out $T/in -- \
                "$SLUICE" --stats=hadoop,json throttle 400K || { cat $T/report; exit 10; }
            cmp $T/in $T/out || exit 11
            \(Self.checker) $T/report || exit 12
            python3 -c '
            import json, sys
            r = json.load(open(sys.argv[1]))
            running = [s for s in r["statuses"] if s[1].startswith("sluice running ")]
            print(len(running), r["statuses"][-1][1].startswith("sluice done: "), r["longest_silence_s"] < 4)
            ' $T/report
            """, timeout: 60)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
        #expect(r.text.hasSuffix("2 True True\n") || r.text.hasSuffix("3 True True\n"), "\(r.text)")
    }

    /// The mapper contract: lines in on stdin, lines out on stdout, counters and status
    /// on stderr, exit status 0 whether or not a line matched.
    @Test(arguments: ["ERROR", "NOT-THERE"])
    func mapperUnderAStreamingTask(_ pattern: String) throws {
        let r = try sh("""
            seq 100000 | sed 's/^/ERROR /; 5~7s/ERROR/INFO/' > $T/in
            \(Self.task) --report $T/report --output $T/out $T/in -- \
                "$SLUICE" --stats=hadoop,json grep -F \(pattern) || { cat $T/report; exit 10; }
            grep -F \(pattern) $T/in | cmp - $T/out || exit 11
            \(Self.checker) $T/report
            """)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
        #expect(r.text.hasPrefix("ok 21 counters"), "\(r.text)")
    }

    /// A chain of n stages makes 8n + 13 counters: 13 stages stay within Hadoop's default
    /// of 120 counters a job (mapreduce.job.counters.max), which the task runner enforces.
    @Test func thirteenStagesFitHadoopsCounterLimit() throws {
        let chain = Array(repeating: "cat", count: 13).joined(separator: " + ")
        let r = try sh("""
            seq 1000 > $T/in
            \(Self.task) --report $T/r13 --output $T/o13 $T/in -- "$SLUICE" --stats=hadoop \(chain) && echo 13 ok
            \(Self.task) --report $T/r14 --output $T/o14 $T/in -- "$SLUICE" --stats=hadoop \(chain) + cat || echo 14 failed
            grep -o 'Too many counters: 121 max=120' $T/r14
            """)
        #expect(r.text == "13 ok\n14 failed\nToo many counters: 121 max=120\n", "\(r.text) \(r.stderr)")
    }

    @Test(arguments: [
        ("--stats=table,json", "sluice: --stats: one of table and json, not both"),
        ("--stats=hadoop,xml", "sluice: --stats: unknown format 'xml' (use table, json or hadoop)"),
    ])
    func formatErrors(_ option: String, _ message: String) throws {
        let r = try sh("\"$SLUICE\" \(option) cat < /dev/null")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix(message + "\n"), "\(r.stderr)")
    }
}
