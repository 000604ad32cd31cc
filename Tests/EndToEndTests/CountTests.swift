import Foundation
import Testing

/// Counts as large as coreutils takes: up to 2^64−1 as the installed head and tail
/// (coreutils 9.1) take them, and past that clamped, as current coreutils does.
@Suite struct CountTests {
    /// Every count form near 2^63 and 2^64, on a file and through a pipe, against the
    /// real head and tail; a count past 2^64−1 against the real tool given 2^64−1,
    /// which current coreutils takes it to mean (9.1 still refuses it). Where 9.1 does
    /// offset arithmetic it refuses more (`head -c -N` past 2^63−1; `tail -c +N` far
    /// past the end of a seekable file): then the same count through a pipe, or 2^63−1,
    /// says what it means.
    @Test func hugeCountsAsCoreutils() throws {
        let r = try sh(#"""
            renice -n 19 -p $$ > /dev/null   # hundreds of processes, beside tests that time
            seq 1000 > $T/in
            max=18446744073709551615
            for n in 9223372036854775806 9223372036854775807 9223372036854775808 18446744073709551614 \
                     $max 18446744073709551616 99999999999999999999 1000000000000000000000000000000; do
                for form in "head -n N" "head -n -N" "head -c N" "head -c -N" "head -n +N" "head -c -+N" \
                            "tail -n N" "tail -n +N" "tail -c N" "tail -c +N" "tail -n -N"; do
                    oracle=$n
                    if [ ${#n} -gt ${#max} ] || { [ ${#n} -eq ${#max} ] && [[ $n > $max ]]; }; then oracle=$max; fi
                    for o in $oracle 9223372036854775807; do
                        ${form//N/$o} < $T/in > $T/want 2> /dev/null && break
                        cat $T/in | ${form//N/$o} > $T/want 2> /dev/null && break
                    done || { echo "coreutils refuses: $form $n"; continue; }
                    "$SLUICE" ${form//N/$n} < $T/in > $T/got 2> $T/err || echo "$form $n: status $? $(cat $T/err)"
                    cmp -s $T/want $T/got || echo "$form $n: file differs"
                    cat $T/in | "$SLUICE" ${form//N/$n} | cmp -s $T/want - || echo "$form $n: pipe differs"
                done
            done
            "$SLUICE" tail -c 99999999999999999999 < /dev/null; echo "tail=$?"
            """#)
        #expect(r.text == "tail=0\n", "\(r.text)")
    }

    /// A leading `+` as coreutils' strtoumax reads it: head takes `+N` and `-+N`, tail
    /// `-+N`; `++N` and `+-N` are refused by both.
    @Test(arguments: ["head -n +1", "head -n +0", "head -c +3", "head -n -+2", "head -c -+2",
                      "tail -n -+2", "tail -c -+2", "tail -n +2"])
    func plusSignAsCoreutils(_ form: String) throws {
        let r = try sh("""
            printf 'a\\nbb\\nccc\\n' > $T/in
            \(form) < $T/in > $T/want
            "$SLUICE" \(form) < $T/in > $T/got || echo "status $?"
            cmp $T/want $T/got
            """)
        #expect(r.text.isEmpty && r.status == 0, "\(form): \(r.text) \(r.stderr)")
    }

    /// Junk is refused, naming the word as typed, with the usage status.
    @Test(arguments: ["head -n abc", "head -n 5x", "head -n 99999999999999999999x", "tail -n ++1",
                      "head -n +-1", "head -n --1", "tail -c 1.5", "head -n ''", "head -n +"])
    func junkIsRefused(_ form: String) throws {
        let r = try sh("\"$SLUICE\" \(form) < /dev/null")
        let word = form.split(separator: " ", maxSplits: 2).last.map(String.init)!
            .replacingOccurrences(of: "'", with: "")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("sluice: \(form.prefix(4)): \(form.split(separator: " ")[1]): invalid number '\(word)'\n"),
                "\(form): \(r.stderr)")
    }
}
