import Foundation
import Testing

/// `--drain`: a stage that stops early still lets the writer of stdin finish, as a host
/// such as Hadoop Streaming needs (`Tests/scripts/streaming-task.py` runs a map task as it
/// does).
@Suite struct DrainTests {
    /// The host's writer sees its whole input read: without --drain, `seq` dies of
    /// SIGPIPE when head has its line; with it, every stage that stops early still lets
    /// the writer finish, and stdin's bytes in count every byte.
    @Test(arguments: ["head -n 1", "grep -m 2 9", "head -c 0", "cat + head -n 3 + cat"])
    func writerSeesItsInputConsumed(_ chain: String) throws {
        let r = try sh("""
            set -o pipefail
            seq 1000000 > $T/in
            seq 1000000 | "$SLUICE" \(chain) > $T/plain
            echo "without ${PIPESTATUS[*]}"
            seq 1000000 | "$SLUICE" --drain --stats=json \(chain) > $T/drained 2> $T/stats
            echo "with ${PIPESTATUS[*]}"
            cmp $T/plain $T/drained || exit 10
            python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["stages"][0]["bytes_in"] != int(sys.argv[2]))' \
                $T/stats "$(stat -c %s $T/in)" || { cat $T/stats; exit 11; }
            """)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
        #expect(r.text == "without 141 0\nwith 0 0\n", "\(r.text)")
    }

    /// A streaming task fails when its mapper stops reading (a broken pipe); with
    /// --drain it succeeds with the same output.
    @Test func streamingTaskTakesAnEarlyStopWithDrain() throws {
        let r = try sh("""
            seq 500000 > $T/in
            python3 \(scriptsDirectory)/streaming-task.py --report $T/r1 --output $T/o1 $T/in -- "$SLUICE" head -n 2
            echo "plain $?"
            python3 \(scriptsDirectory)/streaming-task.py --report $T/r2 --output $T/o2 $T/in -- "$SLUICE" --drain head -n 2
            echo "drain $?"
            grep -c 'Broken pipe' $T/r1
            cat $T/o2
            """)
        #expect(r.text == "plain 1\ndrain 0\n1\n1\n2\n", "\(r.text) \(r.stderr)")
    }

    /// Draining waits for the end of input, and what head passed is out before that.
    @Test func drainWaitsForTheEndButNotForTheOutput() throws {
        let r = try timed("""
            { echo first; sleep 2; echo second; } | "$SLUICE" --drain head -n 1 | {
                read line; echo "$line ms=$(( ($(date +%s%N) - s) / 1000000 ))" | sed 's/ms=/early=/'; cat; }
            """, timeout: 30)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text.hasPrefix("first early="), "\(r.text)")
        #expect((milliseconds(in: r.text.replacingOccurrences(of: "first ", with: ""), key: "early") ?? .max) < 1500)
        #expect((milliseconds(in: r.text) ?? 0) >= 2000, "\(r.text)")
    }

    /// A regular file is read to its end too, and a stage-less run is unchanged.
    @Test func drainOnAFileAndWithoutStages() throws {
        let r = try sh("""
            seq 100000 > $T/in
            "$SLUICE" --drain head -n 2 < $T/in
            "$SLUICE" --drain < $T/in | cmp - $T/in && echo same
            """)
        #expect(r.text == "1\n2\nsame\n", "\(r.text) \(r.stderr)")
        #expect(r.status == 0)
    }
}
