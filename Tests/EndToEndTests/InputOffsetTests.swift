import Foundation
import Testing

/// A regular-file stdin is left where the tool would leave it: coreutils head just past
/// its output, GNU grep -m just after the last selected line, so the shell idiom
/// `{ sluice head -n 1 > /dev/null; cat; } < file` hands the rest to cat.
@Suite struct InputOffsetTests {
    static let forms = [
        "head -n 1", "head -n 0", "head -n 5", "head -n 100000", "head -c 7", "head -c 0", "head -n -3",
        "head -n -50000", "head -c -10", "head -c -1000000", "head", "grep -m 1 5", "grep -m 2 -v 1",
        "grep -m 3 -F 99", "grep -m 1 -x 69999", "grep -m 5 nothing", "grep -m 0 5",
    ]

    /// Each form at several chunk sizes, from offset 0 and from an offset another head
    /// left, on a file that ends without a newline, against the real tool. Output goes to
    /// a file: GNU grep writing to /dev/null stops as -q does and leaves no promise.
    @Test(arguments: forms)
    func offsetAsTheTool(_ form: String) throws {
        let r = try sh("""
            renice -n 19 -p $$ > /dev/null   # many processes, beside tests that time
            { seq 70000; printf 'end'; } > $T/in
            { \(form) > $T/out; cat; } < $T/in > $T/want
            { head -n 2 > /dev/null; \(form) > $T/out; cat; } < $T/in > $T/want-later
            for chunk in 1 7 4096 128K; do
                { "$SLUICE" --chunk $chunk \(form) > $T/out || echo "status $?"; cat; } < $T/in > $T/got
                cmp -s $T/want $T/got || echo "chunk $chunk: rest differs"
                { head -n 2 > /dev/null; "$SLUICE" --chunk $chunk \(form) > $T/out; cat; } < $T/in > $T/got
                cmp -s $T/want-later $T/got || echo "chunk $chunk: rest differs after head -n 2"
            done
            """)
        #expect(r.text.isEmpty, "\(form): \(r.text) \(r.stderr)")
    }

    /// The two idioms of the issue, verbatim.
    @Test func issueIdioms() throws {
        let r = try sh("""
            seq 70000 > $T/seq70000
            { "$SLUICE" head -n 1 > /dev/null; cat; } < $T/seq70000 | head -n 1
            ("$SLUICE" head -n -50000 > /dev/null; wc -l) < $T/seq70000
            """)
        #expect(r.text == "2\n50000\n", "\(r.text)")
    }
}
