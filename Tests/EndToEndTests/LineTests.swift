import Foundation
import Testing

/// The directory of the differential scripts.
let scriptsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("scripts").path

/// Writes an edge-case file: empty lines, CRLF, NUL, bytes over 0x7f, a long line, a
/// last line without a newline.
let makeEdgeFile = #"""
    printf 'alpha\n\nBeta gamma\r\nfoo_bar foo\n\000nul\000\nint x;\nprint(int)\n\377\376 foo\n  \n' > $T/edge
    head -c 300000 /dev/zero | tr '\0' z >> $T/edge
    printf '\nfoo-bar\nINT main\nlast foo' >> $T/edge
    """#

@Suite(.tags(.threads)) struct GrepAgainstGrepThreadTests {
    static let flagSets = [
        "-F foo", "-F -v foo", "-F -i FOO", "-F -x foo-bar", "-F -w foo", "-F -w -i int", "-F ''",
        "-F -v ''", "-F -e foo -e int", "-F -m 2 foo", "-F -v -m 3 foo", "foo", "'^$'", "'f.o'",
        "-E 'f(o|a)o'", "-E -v '[[:upper:]]'", "-G 'fo\\+'", "-w int", "-x 'int x;'", "-i -w 'INT'",
        "-E '^.nul.$'", "-E 'z{100}'", "-E -x 'z+'", "-e alpha -e 'x;$'", "-E '(a|b)\\1'",
        // An escaped ordinary letter is the letter, under -i too.
        "-i 'ALPH\\a'", "-i -E 'f\\o+_'", "-i -w 'in\\t'", "'\\f\\o\\o'",
        // What is printed besides the lines.
        "-c foo", "-c -v foo", "-c -m 2 foo", "-c -z nul", "-n foo", "-b -F foo", "-n -b -v -F foo",
        "-o -F foo", "-o -b -E 'fo+'", "-o -i -w -F FOO", "-o -v foo", "-o -n 'z*'", "-n -C 2 foo",
        "-A 1 -B 2 -F int", "-A 0 foo", "-2 -n x", "--no-group-separator -B 1 foo", "-m 1 -A 3 foo",
        "-v -m 2 -C 1 foo", "-o -v -A 1 foo", "-z -n z", "-z -o -b 'nul'", "-z -C 1 -c ''", "-z '^.nul$'",
        "--line-buffered -n foo", "-o -x -w -e 'foo-bar'", "-o -w -e foo -e bar",
    ]

    @Test(arguments: flagSets)
    func edgeFileAtSeveralChunkSizes(_ flags: String) throws {
        let r = try sh("""
            \(makeEdgeFile)
            grep -a \(flags) < $T/edge > $T/want; want=$?
            [ $want -le 1 ] || { echo "grep failed: $want"; exit 0; }
            for chunk in 1 7 4096 128K; do
                "$SLUICE" --chunk $chunk grep \(flags) < $T/edge > $T/got || echo "chunk $chunk: status $?"
                cmp -s $T/want $T/got || echo "chunk $chunk: differs"
            done
            """)
        #expect(r.text.isEmpty, "\(flags): \(r.text) \(r.stderr)")
    }

    @Test(arguments: ["-F printk", "-F -v e", "-E 'static (int|void) [a-z_]+\\('", "-w int", "-i -F include",
                      "-x '}'", "-E '^#(if|endif)'", "-v -i -E '[aeiou]{3}'", "-n -F printk", "-c -w int",
                      "-o -E 'static (int|void)'", "-b -C 2 -F printk", "-n -B 3 -v -F e", "-o -i -w -F INT"])
    func corpusText(_ flags: String) throws {
        let r = try sh("""
            \(realText("8M"))
            grep -a \(flags) < $T/text > $T/want
            "$SLUICE" grep \(flags) < $T/text > $T/got || echo "status $?"
            cat $T/text | "$SLUICE" --chunk 64K cat + grep \(flags) + cat | cmp - $T/want || echo "pipes differ"
            cmp $T/want $T/got || echo differs
            """)
        #expect(r.text.isEmpty, "\(flags): \(r.text) \(r.stderr)")
    }

    /// Under a sanitizer a tenth of the cases: they test grep's semantics, which `make test`
    /// covers in full, and a sanitized sluice starts so slowly that all of them took the
    /// sanitizer pass past its hour.
    static let differentialDivisor = sanitized ? 10 : 1

    @Test func differentialAgainstGNUGrep() throws {
        // At the lowest priority: thousands of processes, beside tests that time the machine.
        let r = try sh("nice -n 19 python3 \(scriptsDirectory)/grep-differential.py \"$SLUICE\" 7 \(800 / Self.differentialDivisor)", timeout: 600)
        #expect(r.status == 0, "\(r.text)")
    }

    /// High bytes in command-line patterns, and the offset -m leaves a file at.
    @Test func bytesDifferentialAgainstGNUGrep() throws {
        let r = try sh("nice -n 19 python3 \(scriptsDirectory)/grep-bytes-differential.py \"$SLUICE\" 7 \(600 / Self.differentialDivisor)", timeout: 600)
        #expect(r.status == 0, "\(r.text)")
    }

    @Test func exitStatusIgnoresMatching() throws {
        let r = try sh("""
            seq 10 | "$SLUICE" grep nothing-matches; echo "none=$?"
            seq 10 | "$SLUICE" grep 1; echo "some=$?"
            seq 10 | "$SLUICE" grep -c nothing-matches; echo "count=$?"
            """)
        #expect(r.text == "none=0\n1\n10\nsome=0\n0\ncount=0\n")
    }

    @Test func maxCountStopsUpstream() throws {
        let r = try sh("yes | \"$SLUICE\" cat + grep -m 2 y; echo \"status=$?\"", timeout: 20)
        #expect(r.text == "y\ny\nstatus=0\n")
    }

    /// `-c -m`, and `-m` with trailing context, stop upstream once their lines are out.
    @Test func countAndContextStopUpstream() throws {
        let r = try sh("""
            yes | "$SLUICE" cat + grep -c -m 3 y; echo "status=$?"
            yes | "$SLUICE" cat + grep -n -m 1 -A 2 y; echo "status=$?"
            """, timeout: 20)
        #expect(r.text == "3\nstatus=0\n1:y\n2-y\n3-y\nstatus=0\n")
    }

    /// `-q`: no output, the upstream stops at the first selected line, and the exit
    /// status says whether there was one, as GNU grep's does.
    @Test func quietSetsTheExitStatus() throws {
        let r = try sh("""
            seq 10 | "$SLUICE" grep -q 5; echo "five=$?"
            seq 10 | "$SLUICE" grep -q 11; echo "eleven=$?"
            seq 10 | "$SLUICE" grep -q -v -x -e '[0-9]' -e 10; echo "inverted=$?"
            seq 10 | "$SLUICE" grep -q -m 0 5; echo "max0=$?"
            seq 10 | "$SLUICE" grep --silent 5 + cat; echo "then-cat=$?"
            seq 10 | "$SLUICE" grep -q 5 + grep -q 6; echo "both=$?"
            yes | "$SLUICE" cat + grep -q y; echo "yes=$?"
            seq 10 | grep -q 5; echo "grep=$?"
            seq 10 | grep -q 11; echo "grep=$?"
            """, timeout: 20)
        #expect(r.text == "five=0\neleven=1\ninverted=1\nmax0=1\nthen-cat=0\nboth=1\nyes=0\ngrep=0\ngrep=1\n")
        #expect(r.stderr.isEmpty)
    }

    /// A failure still wins over the verdict, with its message.
    @Test func quietFailureIsAnError() throws {
        let r = try sh("printf 'not gzip' | \"$SLUICE\" gunzip + grep -q x; echo \"status=$?\"")
        #expect(r.text == "status=1\n")
        #expect(r.stderr.hasPrefix("sluice: gunzip: "))
    }

    /// GNU grep's tests/yesno: -C, -v, -o and -m together with -n and -b.
    @Test(arguments: ["", "-o", "-C 1", "-C 1 -o", "-C 1 -o --no-group-separator", "-C 4 -1", "-m 4 -C 1",
                      "-m 6 -C 1 -o", "-v -C 1", "-v -C 1 -o", "-4 -v -1", "-m 1 -v -C 1", "-m 3 -v -C 1 -o",
                      "-c -v -m 3", "-B 2 -m 1", "-A 3 -m 2", "-z -C 1"])
    func yesno(_ flags: String) throws {
        let r = try sh("""
            for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14; do
                case $i in 03|04|05|08|09|13|14) w=yes;; *) w='no ';; esac; echo "[L$i $w]"
            done > $T/yesno
            grep -a -F -n -b \(flags) yes < $T/yesno > $T/want
            for chunk in 1 2 3 7 4096 128K; do
                "$SLUICE" --chunk $chunk grep -F -n -b \(flags) yes < $T/yesno > $T/got || echo "chunk $chunk: status $?"
                cmp -s $T/want $T/got || echo "chunk $chunk: differs"
            done
            """)
        #expect(r.text.isEmpty, "\(flags): \(r.text) \(r.stderr)")
    }

    @Test(arguments: [
        (["grep"], "sluice: grep: no pattern given (usage: grep PATTERN)"),
        (["grep", "-E", "-F", "x"], "sluice: grep: conflicting matchers specified"),
        (["grep", "-E", "a("], "sluice: grep: invalid pattern 'a(': Unmatched ( or \\("),
        (["grep", "-e", "x", "y"], "sluice: grep: unexpected argument 'y' (sluice reads standard input: sluice grep -e x < y)"),
        (["grep", "-m", "x", "y"], "sluice: grep: -m: invalid number 'x'"),
        (["grep", "-A", "-1", "y"], "sluice: grep: -A: invalid number '-1'"),
        (["grep", "--context=x", "y"], "sluice: grep: --context: invalid number 'x'"),
        (["tail", "-n", "x"], "sluice: tail: -n: invalid number 'x'"),
        (["--max-line", "2G", "grep", "x"], "sluice: --max-line: size must be at most 1 GiB: '2G'"),
    ])
    func usageErrors(_ args: [String], _ message: String) throws {
        let quoted = args.map { "'\($0)'" }.joined(separator: " ")
        let r = try sh("echo x | \"$SLUICE\" \(quoted)")
        #expect(r.status == 2)
        #expect(r.stderr.split(separator: "\n").first.map(String.init) == message)
    }

    /// A pattern file that cannot be read is a runtime error, like any file: status 1,
    /// the message, no synopsis.
    @Test func unreadablePatternFileIsARuntimeError() throws {
        let r = try sh("echo x | \"$SLUICE\" grep -f /nonexistent")
        #expect(r.status == 1)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr == "sluice: grep: /nonexistent: No such file or directory\n")
    }

    @Test func patternFile() throws {
        let r = try sh("""
            printf 'foo\\nbar\\n' > $T/pats
            printf 'a foo\\nb\\nbar c\\n' | "$SLUICE" grep -F -f $T/pats
            printf 'a foo\\n' | "$SLUICE" grep -f /dev/null; echo "empty=$?"
            """)
        #expect(r.text == "a foo\nbar c\nempty=0\n")
    }
}

@Suite struct HeadTailAgainstCoreutilsTests {
    @Test(arguments: ["head -n 3", "head -n 0", "head -n -2", "head -c 100", "head -c -7", "head -n 100000",
                      "tail -n 3", "tail -n 0", "tail -n +4", "tail -c 100", "tail -c +9", "tail -n 100000",
                      "tail -n 1", "head -n 1"])
    func edgeFile(_ command: String) throws {
        let r = try sh("""
            \(makeEdgeFile)
            \(command) < $T/edge > $T/want
            for chunk in 1 3 4096 128K; do
                "$SLUICE" --chunk $chunk \(command) < $T/edge > $T/got || echo "chunk $chunk: status $?"
                cmp -s $T/want $T/got || echo "chunk $chunk: differs"
            done
            """)
        #expect(r.text.isEmpty, "\(command): \(r.text) \(r.stderr)")
    }

    @Test func differentialAgainstCoreutils() throws {
        // At the lowest priority: thousands of processes, beside tests that time the machine.
        let r = try sh("nice -n 19 python3 \(scriptsDirectory)/head-tail-differential.py \"$SLUICE\" 3 600", timeout: 600)
        #expect(r.status == 0, "\(r.text)")
    }

    @Test func bigInputTailIsRightAndSmall() throws {
        let r = try sh("""
            \(realText("20M"))
            tail -n 1000 $T/text > $T/want
            cat $T/text | /usr/bin/time -f '%M' -o $T/rss "$SLUICE" tail -n 1000 | cmp - $T/want && echo same
            echo "rss_kib=$(tail -1 $T/rss)"
            """)
        let lines = r.text.split(separator: "\n")
        #expect(lines.first == "same")
        #expect(rssWithin(Int(lines.last?.split(separator: "=").last ?? "") ?? .max, 24 * 1024))
    }

    /// On a regular file, tail starts near the end instead of reading it all, as
    /// coreutils tail does; from the file's current offset, whatever the file's ending.
    @Test(arguments: ["seq 1 300000", "{ seq 1 300000; printf xyz; }", "printf 'a\\nb\\nc'", ": ",
                      "echo a", "seq 1 50000 | sed 's/$/\\r/'"])
    func regularFileStartsNearTheEnd(_ producer: String) throws {
        let r = try sh("""
            \(producer) > $T/in
            for a in "-n 0" "-n 1" "-n 2" "-n 10" "-n 70000" "-n 299999" "-n 300000" "-n 300001" "-n 9999999" \\
                     "-c 0" "-c 1" "-c 100000" "-c 99999999" "-n +5" "-c +3"; do
                tail $a < $T/in > $T/want
                "$SLUICE" tail $a < $T/in | cmp -s - $T/want || echo "from the start, $a: differs"
                # After a line already read from the same open file (bash's read seeks back).
                (read -r x; tail $a) < $T/in > $T/want
                (read -r x; "$SLUICE" tail $a) < $T/in | cmp -s - $T/want || echo "from line 2, $a: differs"
            done
            """)
        #expect(r.text.isEmpty && r.status == 0, "\(r.text) \(r.stderr)")
    }

    @Test func regularFileIsNotReadWhole() throws {
        let r = try sh("""
            seq 1 2000000 > $T/in
            "$SLUICE" --stats=json tail -n 5 < $T/in 2> $T/stats
            python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["stages"][0]["bytes_out"])' $T/stats
            """)
        #expect(r.text.hasPrefix("1999996\n1999997\n1999998\n1999999\n2000000\n"), "\(r.stderr)")
        let read = Int(r.text.split(separator: "\n").last ?? "") ?? .max
        #expect(read < 1 << 20, "stdin read \(read) bytes of 14.9 MB")
    }
}

@Suite struct LongLineTests {
    @Test(arguments: ["head -n 1", "grep x", "tail -n 1", "head -n -1", "tail -n +2"])
    func zeroStreamEndsWithTheLimitError(_ stage: String) throws {
        let name = stage.split(separator: " ")[0]
        let r = try sh("\"$SLUICE\" --max-line 4M \(stage) < /dev/zero | wc -c", timeout: 60)
        #expect(r.text.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        #expect(r.stderr == "sluice: \(name): line longer than 4 MiB at byte 0 (raise --max-line)\n")
    }

    @Test func defaultLimitOnHead() throws {
        let r = try sh("\"$SLUICE\" head -n 1 < /dev/zero; echo \"status=$?\"", timeout: 60)
        #expect(r.text == "status=1\n")
        #expect(r.stderr == "sluice: head: line longer than 16 MiB at byte 0 (raise --max-line)\n")
    }

    @Test func aLongLineUnderTheLimitPasses() throws {
        let r = try sh("""
            { head -c 5000000 /dev/zero | tr '\\0' a; echo; echo b; } > $T/in
            "$SLUICE" --max-line 5M grep a < $T/in | wc -c
            """)
        #expect(r.text == "5000001\n")
    }

    @Test func lineStartOffsetIsReported() throws {
        let r = try sh("""
            { printf 'short\\nline\\n'; head -c 3000 /dev/zero | tr '\\0' a; } | "$SLUICE" --max-line 1K grep x
            """)
        #expect(r.stderr == "sluice: grep: line longer than 1 KiB at byte 11 (raise --max-line)\n")
    }
}

@Suite(.tags(.threads)) struct CardPipelineThreadTests {
    @Test func gunzipGrepGzipMatchesTheShellPipeline() throws {
        let r = try sh("""
            \(realText("10M"))
            gzip -c < $T/text > $T/in.gz
            "$SLUICE" gunzip + grep -F include + gzip -6 < $T/in.gz > $T/out.gz || exit 1
            gzip -dc $T/out.gz | cmp - <(gzip -dc $T/in.gz | grep -a -F include) || exit 2
            pigz -dc $T/in.gz | grep -F -v include | pigz -6 | gzip -dc | cmp - <("$SLUICE" gunzip + grep -F -v include + gzip < $T/in.gz | gzip -dc) || exit 3
            """)
        #expect(r.status == 0, "\(r.stderr)")
    }
}

@Suite struct RegexBlowUpTests {
    /// Found by the command-line fuzzer: stacked `+` made GNU regex (and GNU grep) build
    /// exponentially many states, past 9 GiB. Stacks are merged before compiling.
    @Test func stackedRepetitionsCompileSmall() throws {
        let r = try sh("""
            echo 'x aDDDDDDD b' | /usr/bin/time -f '%M' -o $T/rss "$SLUICE" grep -E -i -w 'aDDDDD++++++++++++++++++++++++++++++++++++D|b'
            echo "rss_kib=$(tail -1 $T/rss)"
            """, timeout: 60)
        #expect(r.text.hasPrefix("x aDDDDDDD b\n"))
        #expect((Int(r.text.split(separator: "=").last?.dropLast() ?? "") ?? .max) < 64 * 1024)
    }
}
