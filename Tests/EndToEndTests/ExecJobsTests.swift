import Testing

/// `exec -j N`: copies of a command side by side on blocks of whole lines, through real
/// pipes, against the command alone and GNU parallel.
@Suite(.tags(.threads)) struct ExecJobsThreadTests {
    /// JSON lines like a service log, made by a script so every run has the same bytes.
    static let makeLog = """
        awk 'BEGIN { split("debug info info warn error", lv, " ");
          for (i = 0; i < 20000; i++) printf "{\\"ts\\":%d,\\"level\\":\\"%s\\",\\"req\\":%d,\\"msg\\":\\"took %d ms\\"}\\n", i, lv[i % 5 + 1], i * 7, i % 977 }' > $T/log
        """

    /// Each filter's output through `exec -j` equals its output alone, byte for byte, at
    /// block sizes from smaller than a chunk to larger than the input, in both modes
    /// (unordered sorted, as its order is not kept).
    @Test(arguments: [
        "jq -c 'select(.level==\"error\")'",
        "tr a-z A-Z",
        "awk '{ print NR % 3, length($0) }'",
    ], ["-j 1 --block 64K", "-j 2 --block 100K", "-j 3 --block 256K", "-j 2", "-j 4 --block 16K"])
    func outputIsTheCommandsAlone(_ command: String, _ options: String) throws {
        // awk's NR counts per block: only the line-by-line filters are compared unordered.
        let isPerLine = !command.hasPrefix("awk")
        let r = try sh("""
            \(Self.makeLog)
            \(command) < $T/log > $T/alone
            # Through a pipe, so that the default block is 4M as parallel's below (a file
            # on stdin is cut evenly instead: defaultBlockFollowsARegularFile).
            # --flush-idle 0: blocks by size alone, even if a loaded machine stalls the pipe.
            cat $T/log | "$SLUICE" exec \(options) --flush-idle 0 \(command) > $T/jobs
            if [ "\(command.hasPrefix("awk"))" = true ]; then
              # awk's record number restarts in each block: compare with parallel's blocks.
              block=$(echo "\(options)" | sed -n 's/.*--block \\([0-9A-Z]*\\).*/\\1/p')
              parallel --pipe -k -j2 --block ${block:-4M} -q \(command) < $T/log > $T/alone
            fi
            cmp $T/alone $T/jobs && echo same
            if \(isPerLine); then
              "$SLUICE" exec \(options) --unordered \(command) < $T/log | sort > $T/u
              sort $T/alone | cmp - $T/u && echo same
            else
              echo same
            fi
            """, timeout: 120)
        #expect(r.text == "same\nsame\n", "\(r.stderr)")
    }

    /// A command that sums up its input does it per block, exactly as under
    /// `parallel --pipe -k`: the blocks are cut where parallel cuts them.
    @Test(arguments: ["4K", "10K", "64K", "1M"])
    func perBlockAggregatorMatchesParallel(_ block: String) throws {
        let r = try sh("""
            seq 100000 > $T/in
            awk 'BEGIN { srand(3); for (i = 0; i < 2000; i++) { s = ""; n = int(rand() * 900); for (k = 0; k < n; k++) s = s "x"; print s i } }' > $T/mixed
            for f in in mixed; do
              parallel --pipe -k -j2 --block \(block) wc -lc < $T/$f > $T/p
              "$SLUICE" exec -j 3 --block \(block) wc -lc < $T/$f > $T/s
              cmp $T/p $T/s && wc -l < $T/s
            done
            """, timeout: 120)
        let counts = r.text.split(separator: "\n").compactMap { Int($0) }
        #expect(counts.count == 2 && counts.allSatisfy { $0 > 1 || block == "1M" }, "\(r.text) \(r.stderr)")
    }

    /// The blocks do not depend on how the input came in: every chunk size cuts the
    /// same blocks as parallel (a chunk holding many blocks, a block of many chunks).
    @Test(arguments: [1, 2, 3, 7, 4096, 65536])
    func blocksAreTheSameAtEveryChunkSize(_ chunk: Int) throws {
        let r = try sh("""
            seq 30000 > $T/in
            parallel --pipe -k -j2 --block 3K wc -lc < $T/in > $T/p
            "$SLUICE" --chunk \(chunk) exec -j 2 --block 3K wc -lc < $T/in | cmp - $T/p && echo same
            """, timeout: 120)
        #expect(r.text == "same\n", "\(r.stderr)")
    }

    /// Blocks whose commands take different times (every third sleeps) still come out in
    /// input order; so do they with one copy, and with more copies than blocks.
    @Test(arguments: [1, 3, 8])
    func outputKeepsInputOrderWhateverEachBlockTakes(_ jobs: Int) throws {
        let r = try sh("""
            seq 40000 > $T/in
            "$SLUICE" exec -j \(jobs) --block 20K sh -c 'read first; case $first in *[147]) sleep 0.2;; esac; echo "$first"; cat' < $T/in > $T/out
            cmp $T/in $T/out && echo same
            """, timeout: 120)
        #expect(r.text == "same\n", "\(r.stderr)")
    }

    /// A block's command fails while later blocks' commands finish first: the run fails
    /// naming the command, the block's offset and the status, and what was written is
    /// exactly one "ok" per block before it (as many as the input up to that offset cuts
    /// into), nothing of a later block.
    @Test(arguments: ["exit 3", "kill -KILL $$"])
    func failingBlockStopsTheOutputAtItsOffset(_ failure: String) throws {
        let r = try sh("""
            seq 200000 > $T/in
            "$SLUICE" exec -j 3 --block 16K sh -c 'if grep -qx 50000; then sleep 0.5; \(failure); fi; echo ok' < $T/in > $T/out 2> $T/err
            echo "status=$?"
            offset=$(sed -n 's/.* at byte \\([0-9]*\\)$/\\1/p' $T/err)
            head -c "$offset" $T/in | "$SLUICE" exec -j 1 --block 16K wc -c | wc -l
            sort $T/out | uniq -c
            echo "$offset"
            cat $T/err
            """, timeout: 60)
        let lines = r.text.split(separator: "\n").map(String.init)
        let status = failure == "exit 3" ? "exited with status 3" : "killed by signal 9 (SIGKILL)"
        try #require(lines.count == 5, "\(r.text) \(r.stderr)")
        #expect(lines[0] == "status=1")
        let blocks = try #require(Int(lines[1]))
        #expect(blocks > 10 && lines[2].split(separator: " ").map(String.init) == ["\(blocks)", "ok"], "\(r.text)")
        // 50000 is on line 50000, at byte 288888 (lines 1-9: 2 bytes, 10-99: 3, ...).
        let offset = try #require(Int(lines[3]))
        #expect(offset <= 288_888 && 288_888 < offset + 16 << 10)
        #expect(lines[4] == "sluice: exec: sh \(status) on the block at byte \(offset)")
    }

    /// The head early, or the reader gone: the run ends at once, as plain exec does (0
    /// after a head stage, SIGPIPE death when stdout's reader goes), no command is left.
    /// Every process sluice started holds descriptor 3 (`commandWatch`): each must be
    /// gone once sluice is (a pipe end leaked into another copy would keep both alive).
    @Test(arguments: ["", "--unordered"])
    func earlyEndsLeaveNoCommandBehind(_ mode: String) throws {
        let r = try sh(commandWatch + """
            watch_gone
            seq 3000000 | "$SLUICE" exec -j 2 --block 64K \(mode) sh -c 'cat; :' | head -c 10 > /dev/null
            echo "status=${PIPESTATUS[1]}"
            seq 3000000 | "$SLUICE" exec -j 2 --block 64K \(mode) sh -c 'cat; :' + head -n 2 | wc -l
            echo "status=${PIPESTATUS[1]}"
            yes | "$SLUICE" exec -j 2 \(mode) sh -c 'cat; :' + head -n 1
            echo "status=$?"
            wait_gone
            """, timeout: 60)
        #expect(r.text == "status=141\n2\nstatus=0\ny\nstatus=0\ngone=0\n", "\(r.stderr)")
        #expect(!r.stderr.contains("sluice"), "\(r.stderr)")
    }

    /// SIGINT reaches every copy's process group; sluice dies by it and leaves none. The
    /// signal is sent once all three copies have said they started.
    @Test(arguments: ["", "--unordered"])
    func interruptEndsEveryCopy(_ mode: String) throws {
        let r = try sh(commandWatch + """
            watch_gone
            watch_started 3
            yes | "$SLUICE" exec -j 3 --block 64K \(mode) sh -c 'echo up >&4; sleep 30; cat' > /dev/null 2> $T/err &
            pid=$!
            wait_started
            kill -INT $pid
            wait $pid
            echo "status=$?"
            wait_gone
            cat $T/err
            """, timeout: 30)
        #expect(r.text == "started=3\nstatus=130\ngone=0\n", "\(r.stderr)")
    }

    /// --unordered merges on line boundaries: lines from a few bytes to several chunks
    /// long come out whole, each once.
    @Test func unorderedLinesStayWhole() throws {
        let r = try sh("""
            awk 'BEGIN { srand(5); for (i = 0; i < 3000; i++) { n = int(rand() * rand() * 40000); s = sprintf("%d:", i); for (k = 0; k < n; k += 10) s = s "abcdefghij"; print s } }' > $T/in
            "$SLUICE" --chunk 4K exec -j 3 --block 50K --unordered cat < $T/in > $T/out
            sort $T/in > $T/a; sort $T/out > $T/b
            cmp $T/a $T/b && echo same
            cmp -s $T/in $T/out || echo reordered
            """, timeout: 60)
        #expect(r.text.hasPrefix("same\n"), "\(r.stderr)")
    }

    @Test(arguments: [
        ("exec -j 0 cat", "sluice: exec: -j: invalid number of copies '0' (use 1 to 256)"),
        ("exec -j cat", "sluice: exec: missing operand (usage: exec [-j N [--block SIZE] [--flush-idle DURATION] [--unordered]] COMMAND [ARG]...)"),
        ("exec -j x cat", "sluice: exec: -j: invalid number of copies 'x' (use 1 to 256)"),
        ("exec -j 2 --block 0 cat", "sluice: exec: --block: size must be at least 1 B: '0'"),
        ("exec --block 1M cat", "sluice: exec: --block applies only with -j N"),
        ("exec --unordered cat", "sluice: exec: --unordered applies only with -j N"),
        ("exec --flush-idle 1s cat", "sluice: exec: --flush-idle applies only with -j N"),
        ("exec -j 2 --flush-idle soon cat", "sluice: exec: --flush-idle: invalid duration 'soon' (seconds, or with ms, s or m: 0.5, 200ms, 1.5s, 2m)"),
    ])
    func usageErrors(_ stage: String, _ message: String) throws {
        let r = try sh("\"$SLUICE\" \(stage) < /dev/null")
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix(message + "\n"), "\(r.stderr)")
    }

    @Test(arguments: ["", "--unordered"])
    func aMissingCommandIsARuntimeError(_ mode: String) throws {
        let r = try sh("seq 10 | \"$SLUICE\" exec -j 2 \(mode) no-such-command-here")
        #expect(r.status == 1)
        #expect(r.stderr == "sluice: exec: no-such-command-here: No such file or directory\n")
    }

    /// Empty input runs no command, as parallel --pipe; one line runs one.
    @Test func emptyAndTinyInputs() throws {
        let r = try sh("""
            "$SLUICE" exec -j 2 echo ran < /dev/null; echo "status=$?"
            printf 'a' | "$SLUICE" exec -j 2 wc -c
            printf 'a\\n' | "$SLUICE" exec -j 2 --unordered cat
            """)
        #expect(r.text == "status=0\n1\na\n", "\(r.stderr)")
    }

    /// A stream that pauses: once input has been quiet for --flush-idle, the whole lines
    /// held go out as a block (its command's output written), the partial line kept for
    /// the next block; with --flush-idle 0 nothing goes out until the input ends. The
    /// first line must arrive while the writer still sleeps.
    @Test(arguments: ["", "--unordered"])
    func aQuietStreamSendsItsWholeLines(_ mode: String) throws {
        let r = try sh("""
            for idle in 100ms 0; do
              { printf 'one\\ntw'; sleep 2; printf 'o\\n'; } | "$SLUICE" exec -j 2 --flush-idle $idle \(mode) cat > $T/out &
              sleep 1
              echo "$idle: $(cat $T/out | tr '\\n' ' ')"
              wait
              echo "$idle: $(cat $T/out | tr '\\n' ' ')"
            done
            """, timeout: 30)
        #expect(r.text == "100ms: one \n100ms: one two \n0: \n0: one two \n", "\(r.stderr)")
    }

    /// With a regular file on stdin and no --block, the file is cut evenly into a multiple
    /// of N blocks of at most 8M (so the copies end together); through a pipe, blocks are
    /// 4M. 6,888,896 bytes of seq: 2 blocks with -j 2, 3 with -j 3, 4M and the rest
    /// through a pipe; 17 MiB with -j 2: 4 blocks of about 4.25 MiB. Each block's size within a line and a
    /// 64th of the even share.
    @Test func defaultBlockFollowsARegularFile() throws {
        let r = try sh("""
            seq 1000000 > $T/in
            awk 'BEGIN { for (i = 0; i < 17 * 1024; i++) printf "%01023d\\n", i }' > $T/big
            for j in 2 3; do "$SLUICE" exec -j $j wc -c < $T/in | tr '\\n' ' '; echo; done
            cat $T/in | "$SLUICE" exec -j 2 wc -c | tr '\\n' ' '; echo
            "$SLUICE" exec -j 2 wc -c < $T/big | tr '\\n' ' '; echo
            "$SLUICE" exec -j 2 --block 1M wc -c < $T/in | wc -l
            """, timeout: 60)
        let lines = r.text.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } }
        #expect(lines.count == 5, "\(r.text) \(r.stderr)")
        guard lines.count == 5 else { return }
        for (sizes, total, count) in [(lines[0], 6_888_896, 2), (lines[1], 6_888_896, 3), (lines[3], 17 << 20, 4)] {
            #expect(sizes.count == count && sizes.reduce(0, +) == total, "\(sizes)")
            let share = total / count
            #expect(sizes.allSatisfy { abs($0 - share) <= share / 64 * Int(count) + 1024 }, "\(sizes)")
        }
        #expect(lines[2] == [4_194_301, 2_694_595])
        #expect(lines[4] == [7])
    }

    /// --stats counts blocks and commands; a slow reader keeps memory under the bound the
    /// JSON states, with blocks of a megabyte.
    @Test func statsCountBlocksAndMemoryStaysBounded() throws {
        let r = try sh("""
            seq 1000000 > $T/in
            "$SLUICE" --stats=json exec -j 2 --block 100K cat < $T/in 2> $T/json | (sleep 1; cat) | cmp - $T/in || exit 1
            python3 -c '
            import json, sys
            j = json.load(open(sys.argv[1])); s = j["stages"][1]
            print(s["jobs"], s["blocks"] == s["commands"], s["blocks"], j["peak_rss_bytes"] < j["memory_bound_bytes"])
            ' $T/json
            "$SLUICE" exec -j 1 --block 100K wc -l < $T/in | wc -l
            "$SLUICE" --stats exec -j 2 --block 1M cat < $T/in 2>&1 >/dev/null | grep '^exec:'
            """, timeout: 60)
        // 6888896 bytes of seq cut into 68 blocks of whole lines of at most 100 KiB, as many
        // outputs as one copy of wc makes over the same blocks; 7 of at most 1 MiB.
        #expect(r.text == "2 True 68 True\n68\nexec: 7 blocks, 7 commands, 2 at once\n", "\(r.stderr)")
    }

    /// Arguments are bytes: a pattern that is not UTF-8 reaches every copy as given (sed,
    /// not grep, whose status 1 on a block without a match would fail the run).
    @Test func argumentsAreBytes() throws {
        let r = try sh("""
            printf 'a\\xff\\nb\\nc\\xffd\\n' > $T/in
            "$SLUICE" exec -j 2 --block 1 sed -n $'/\\xff/p' < $T/in | od -An -c | tr -s ' '
            """)
        #expect(r.text == " a 377 \\n c 377 d \\n\n", "\(r.stderr)")
    }
}
