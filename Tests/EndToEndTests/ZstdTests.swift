import Testing

/// `zstd` and `unzstd` against the real zstd and pzstd (the same libzstd, 1.5.4 on
/// Debian 12): what they make, sluice reads byte for byte; what they refuse, sluice
/// refuses; what sluice makes, they read.
@Suite struct ZstdRoundTripTests {
    @Test(arguments: Array(1...19))
    func everyLevelDecodesWithZstd(_ level: Int) throws {
        let r = try sh("""
            \(realText("1M"))
            "$SLUICE" zstd -\(level) -p 1 < $T/text > $T/s.zst || exit 10
            zstd -q -t $T/s.zst || exit 11
            zstd -q -dc $T/s.zst | cmp - $T/text || exit 12
            "$SLUICE" unzstd < $T/s.zst | cmp - $T/text || exit 13
            zstd -q -\(level) -c < $T/text > $T/z.zst
            "$SLUICE" unzstd < $T/z.zst | cmp - $T/text || exit 14
            # Compressed size within 1% of zstd's at the same level, from a pipe as here.
            python3 -c 'import sys; a, b = int(sys.argv[1]), int(sys.argv[2]); sys.exit(0 if abs(a - b) <= b / 100 else 17)' \\
                $(stat -c %s $T/s.zst) $(stat -c %s $T/z.zst) || exit 17
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
    }

    /// zstd's own spelling of the range, `--adapt=min=#,max=#`, either part left out: the
    /// level starts at the default (3) moved into the range, as `--stats` says.
    @Test(arguments: [("--adapt=min=5,max=9", 5), ("--adapt=max=2", 2), ("--adapt=min=4", 4), ("--adapt=1:2", 2)])
    func adaptTakesZstdsSpelling(_ flag: String, _ level: Int) throws {
        let r = try sh("""
            \(realText("300K"))
            "$SLUICE" --stats=json zstd -p 1 \(flag) < $T/text 2> $T/err | zstd -dc | cmp - $T/text || exit 10
            grep -o '"level_bytes": {[^}]*}' $T/err
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.text == "\"level_bytes\": {\"\(level)\": 307200}\n", "\(r.text)")
    }

    @Test(arguments: ["--ultra -20", "--ultra -22", "--fast", "--fast=7", "--long", "--long=30 -1", "--no-check",
                      "-3 --check", "-ck", "--adapt", "--adapt=min=2,max=9"])
    func otherSettingsDecodeWithZstd(_ flags: String) throws {
        let r = try sh("""
            \(realText("600K"))
            "$SLUICE" zstd \(flags) < $T/text > $T/s.zst || exit 10
            zstd -q -dc --long=31 $T/s.zst | cmp - $T/text || exit 11
            "$SLUICE" unzstd --long=31 < $T/s.zst | cmp - $T/text || exit 12
            zstd -lv $T/s.zst 2>&1 | grep -q "Check: XXH64" && echo check || true
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect((r.text == "check\n") == !flags.contains("no-check"), "\(r.text)")
    }

    /// On threads, a frame per block after a size frame, as pzstd writes: zstd and pzstd
    /// read it; `-T` is zstd's spelling; the level's bytes in the stats.
    @Test(arguments: ["-p 2", "-T2", "-p 4 --block 64K", "-19 -p 3 --block 1M", "-p 2 --adapt"])
    func threadsWriteWhatPzstdWrites(_ flags: String) throws {
        let r = try sh("""
            \(realText("6M"))
            "$SLUICE" --stats=json zstd \(flags) < $T/text > $T/s.zst 2> $T/stats || exit 10
            zstd -q -dc $T/s.zst | cmp - $T/text || exit 11
            pzstd -q -dc $T/s.zst | cmp - $T/text || exit 12
            "$SLUICE" unzstd < $T/s.zst | cmp - $T/text || exit 13
            zstd -lv $T/s.zst 2>&1 | grep -E '^# (Zstandard|Skippable) Frames' | awk '{print $NF}' | uniq | wc -l
            python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))["stages"][1]; print(sum(s.get("level_bytes", {}).values()))' $T/stats
            """)
        #expect(r.status == 0, "\(r.stderr)")
        // As many skippable frames as frames, and every input byte counted at a level.
        #expect(r.text == "1\n\(6 << 20)\n", "\(r.text) \(r.stderr)")
    }

    @Test(arguments: [0, 1, 2, 3, 131_071, 131_072, 131_073])
    func boundarySizes(_ size: Int) throws {
        let r = try sh("""
            head -c \(size) /dev/urandom > $T/in
            "$SLUICE" zstd < $T/in > $T/in.zst && zstd -q -dc $T/in.zst | cmp - $T/in || exit 1
            zstd -q -c < $T/in | "$SLUICE" unzstd | cmp - $T/in || exit 2
            "$SLUICE" zstd + unzstd < $T/in | cmp - $T/in || exit 3
            "$SLUICE" zstd -p 3 --block 64K < $T/in | pzstd -q -dc | cmp - $T/in || exit 5
            "$SLUICE" --chunk 7 --hwm 64 zstd -1 + unzstd + zstd -19 + zstdcat < $T/in | cmp - $T/in || exit 4
            """)
        #expect(r.status == 0, "\(r.stderr)")
    }
}

@Suite struct UnzstdFormatTests {
    /// Every kind of stream the zstd tools make, decoded byte for byte as `zstd -dc` does.
    @Test(arguments: [
        "zstd -q -c < $T/text",                        // no content size: from a pipe
        "zstd -q -c $T/text",                          // with it: from a file
        "zstd -q -T2 -c < $T/text",                    // multi-job frames
        "zstd -q -T2 --long -c < $T/text",
        "zstd -q --no-check -c $T/text",
        "zstd -q -19 -c $T/text",
        "zstd -q --fast=5 -c $T/text",
        "pzstd -q -p 2 -c < $T/text",                  // a frame per job, each after a skippable one
        "pzstd -q -p 2 -c < $T/text; zstd -q -c < $T/text",
        "zstd -q -c < /dev/null",                      // an empty frame
        "zstd -q -c < /dev/null; zstd -q -c $T/text; zstd -q -c < /dev/null",
        "printf '\\x50\\x2a\\x4d\\x18\\x03\\0\\0\\0abc'; zstd -q -c $T/text; printf '\\x5f\\x2a\\x4d\\x18\\0\\0\\0\\0'",
    ])
    func decodesWhatZstdDecodes(_ make: String) throws {
        let r = try sh("""
            \(realText("3M"))
            { \(make); } > $T/in.zst
            zstd -q -dc < $T/in.zst > $T/want || exit 10
            "$SLUICE" unzstd -p 1 < $T/in.zst > $T/got || exit 11
            cmp $T/want $T/got || exit 12
            "$SLUICE" --chunk 1K zstdcat < $T/in.zst | cmp - $T/want || exit 13
            "$SLUICE" unzstd -p 3 < $T/in.zst | cmp - $T/want || exit 14
            cat $T/in.zst | "$SLUICE" --chunk 7K unzstd -T2 | cmp - $T/want || exit 15
            """)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty, "\(r.stderr)")
    }

    /// What zstd -dc refuses, unzstd refuses (exit 1, a message with the offset), after
    /// writing what zstd writes and more: zstd holds back its last 128 KiB until the
    /// frame's checksum is read; sluice writes all it decoded, as gunzip does before a CRC
    /// mismatch. (gzip data is missing here: zstd -dc reads it, unzstd names gunzip.)
    @Test(arguments: [
        ("head -c 100000 $T/good.zst", "unexpected end of input in frame 1 at byte 100000"),
        ("cat $T/good.zst; head -c 20 $T/good.zst", "unexpected end of input in frame 2 at byte "),
        ("cat $T/good.zst; printf garbage", "trailing garbage at byte "),
        ("cat $T/good.zst; printf '\\0\\0\\0\\0'", "trailing garbage at byte "),
        ("printf 'plain text\\n'", "not in zstd format at byte 0"),
        ("printf ''", "unexpected end of input at byte 0 (empty input)"),
        ("python3 -c 'import sys; d = bytearray(open(sys.argv[1], \"rb\").read()); d[-1] ^= 1; sys.stdout.buffer.write(d)' $T/good.zst",
         "restored data doesn't match checksum in frame 1 at byte "),
        ("python3 -c 'import sys; d = bytearray(open(sys.argv[1], \"rb\").read()); d[300000] ^= 0x55; sys.stdout.buffer.write(d)' $T/good.zst",
         " in frame 1 at byte "),
        // Among frames decoded in parallel: pzstd's, the fourth of them damaged near its end.
        ("pzstd -q -p 2 -c < $T/text4 | python3 -c 'import sys, struct; d = bytearray(sys.stdin.buffer.read()); i = 0\nfor _ in range(3): i += 12 + struct.unpack_from(\"<I\", d, i + 8)[0]\nd[i + 12 + struct.unpack_from(\"<I\", d, i + 8)[0] - 2] ^= 1; sys.stdout.buffer.write(d)'",
         "restored data doesn't match checksum in frame 8 at byte "),
        ("pzstd -q -p 2 -c < $T/text4 | head -c 5000000", "unexpected end of input in frame "),
    ])
    func refusesWhatZstdRefuses(_ make: String, _ message: String) throws {
        let r = try sh("""
            \(realText("3M"))
            zstd -q -1 -c < $T/text > $T/good.zst
            for i in 1 2 3 4 5 6 7 8 9 10; do cat $T/text; done > $T/text4
            { \(make); } > $T/bad.zst
            zstd -q -dc < $T/bad.zst > $T/want 2> /dev/null && { echo "zstd accepted it"; exit 10; }
            "$SLUICE" unzstd -p 3 < $T/bad.zst > $T/got3 2> $T/err3
            "$SLUICE" unzstd -p 1 < $T/bad.zst > $T/got; echo "status $?"
            cmp -s $T/got $T/got3 || echo "-p 3 wrote $(wc -c < $T/got3) bytes, -p 1 $(wc -c < $T/got)"
            "$SLUICE" unzstd -p 1 < $T/bad.zst 2>&1 >/dev/null | cmp -s - $T/err3 || echo "-p 3 said $(cat $T/err3)"
            [ $(wc -c < $T/got) -ge $(wc -c < $T/want) ] && cmp -s -n $(wc -c < $T/want) $T/want $T/got ||
                echo "output differs: $(wc -c < $T/want) from zstd, $(wc -c < $T/got) from sluice"
            """)
        #expect(r.text == "status 1\n", "\(r.stderr)")
        #expect(r.stderr.hasPrefix("sluice: unzstd: "), "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
    }

    @Test func otherFormatsNameTheirStage() throws {
        let r = try sh("""
            seq 10 | gzip | "$SLUICE" unzstd; echo "status $?"
            """)
        #expect(r.text == "status 1\n")
        #expect(r.stderr == "sluice: unzstd: not in zstd format at byte 0 (gzip data: use gunzip)\n")
    }

    @Test func trailingPolicies() throws {
        let r = try sh("""
            seq 1000 > $T/in
            { zstd -q -c $T/in; printf junk; } > $T/in.zst
            "$SLUICE" unzstd --trailing=warn < $T/in.zst | cmp - $T/in && echo "warn: $?"
            "$SLUICE" unzstd --trailing=ignore < $T/in.zst 2>&1 | cmp - $T/in && echo "ignore: $?"
            "$SLUICE" unzstd --trailing=maybe < $T/in.zst; echo "bad: $?"
            """)
        #expect(r.text == "warn: 0\nignore: 0\nbad: 2\n", "\(r.stderr)")
        // The warning once, nothing when ignoring, then the usage error and its usage lines.
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count >= 3, "\(r.stderr)")
        #expect(lines.first?.hasPrefix("sluice: unzstd: warning: trailing garbage at byte ") == true, "\(r.stderr)")
        #expect(lines.dropFirst().first?.hasPrefix("sluice: unzstd: --trailing: unknown policy 'maybe'") == true, "\(r.stderr)")
    }

    /// A frame asking for a 2 GiB window is refused before anything is allocated for it,
    /// naming the flag that allows it; `--long=31` or `--memory 2G` lets it through.
    @Test func largeWindowsNeedTheFlag() throws {
        let r = try sh("""
            # Magic, no content size, window 2^31, one empty last raw block.
            printf '\\x28\\xb5\\x2f\\xfd\\x00\\xa8\\x01\\x00\\x00' > $T/w31.zst
            "$SLUICE" --stats=json unzstd < $T/w31.zst 2> $T/err; echo "default: $?"
            head -n 1 $T/err
            tail -n 1 $T/err | python3 -c 'import json, sys; print("small" if json.load(sys.stdin)["peak_rss_bytes"] < 64 << 20 else "large")'
            "$SLUICE" unzstd --long=31 < $T/w31.zst; echo "long: $?"
            "$SLUICE" unzstd --memory 2G < $T/w31.zst; echo "memory: $?"
            "$SLUICE" unzstd --memory 2G --long=30 < $T/w31.zst 2> /dev/null; echo "last wins: $?"
            # From zstd itself: a long-window stream decodes with the same flag as zstd's.
            seq 300000 | zstd -q --long=30 -c > $T/long.zst
            "$SLUICE" unzstd < $T/long.zst > /dev/null 2> $T/err2; echo "zstd's: $?"
            "$SLUICE" unzstd --long=30 < $T/long.zst | cmp - <(seq 300000) && echo "decoded"
            """)
        #expect(r.text == """
            default: 1
            sluice: unzstd: frame 1 at byte 0 needs a 2 GiB window, over the limit of 128 MiB: --long=31 or --memory 2G allows it
            small
            long: 0
            memory: 0
            last wins: 1
            zstd's: 1
            decoded

            """, "\(r.stderr)")
    }

    @Test(arguments: [
        ("zstd -20", "sluice: zstd: level 20 needs --ultra (levels 20 to 22 take much more memory)"),
        ("zstd --ultra -23", "sluice: zstd: invalid level '-23' (use 1 to 22)"),
        ("zstd --level 0", "sluice: zstd: invalid level '0' (use 1 to 19; 20 to 22 with --ultra)"),
        ("zstd --fast=0", "sluice: zstd: --fast: invalid level '0' (use 1 to 131072: --fast=5)"),
        ("zstd --long=32", "sluice: zstd: --long: invalid window log '32' (use 10 to 31: --long=30)"),
        ("zstd --adapt=3:20", "sluice: zstd: --adapt: invalid levels '3:20' (MIN:MAX, 1 to 19: --adapt=3:19)"),
        ("zstd --adapt=min=3,max=20",
         "sluice: zstd: --adapt: invalid levels 'min=3,max=20' (MIN:MAX, 1 to 19: --adapt=3:19)"),
        ("zstd --adapt=min=3,top=9",
         "sluice: zstd: --adapt: invalid levels 'min=3,top=9' (MIN:MAX, 1 to 19: --adapt=3:19)"),
        ("zstd -d", "sluice: zstd: -d: to decompress, use the unzstd stage"),
        ("unzstd --memory 10", "sluice: unzstd: --memory: size must be at least 1 KiB: '10'"),
        ("unzstd --long=9", "sluice: unzstd: --long: invalid window log '9' (use 10 to 31: --long=30)"),
    ])
    func usageErrors(_ args: String, _ message: String) throws {
        let r = try sh("\"$SLUICE\" \(args) < /dev/null; echo \"status $?\"")
        #expect(r.text == "status 2\n")
        #expect(r.stderr.split(separator: "\n").first.map(String.init) == message, "\(r.stderr)")
    }

    /// A live stream through zstd, another process and unzstd: each line decodes within a
    /// fraction of a second (`--flush-idle`), not when the input ends.
    @Test func flushOnIdleReachesAnotherProcess() throws {
        let r = try sh("""
            \(LiveStreamTests.lineReader)
            mkfifo $T/seen; exec 3<> $T/seen
            { echo "hello line"; read -t 5 -u 3 || echo "not seen within 5 s" >&2; echo "the end"; } \\
                | "$SLUICE" zstd -19 3>&- | cat | "$SLUICE" unzstd 3>&- | python3 $T/reader.py
            """, timeout: 30)
        #expect(r.text == "hello line\nthe end\n")
        #expect(r.stderr == "")
    }
}

/// Every zstd context, window and job buffer is in the bound `--stats=json` states, and
/// the peak RSS stays under it: at the highest levels, on threads, and decoding a window
/// of 2 GiB.
@Suite struct ZstdMemoryTests {
    @Test(arguments: [
        ("16M", "zstd -19 -p 1"),
        ("4M", "zstd --ultra -22 -p 1"),
        ("32M", "zstd -p 4"),
        ("16M", "zstd -19 -p 2"),
        ("16M", "zstd --long=31 -1"),
    ])
    func compressionStaysUnderItsBound(_ size: String, _ stage: String) throws {
        let r = try sh("""
            \(realText(size))
            "$SLUICE" --stats=json \(stage) < $T/text 2>&1 > $T/out.zst
            zstd -q -dc --long=31 $T/out.zst | cmp - $T/text >&2
            """, timeout: 300)
        let report = try statsJSON(r.text)
        let rss = report["peak_rss_bytes"] as? Int ?? 0
        let bound = report["memory_bound_bytes"] as? Int ?? 0
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        #expect(rss > 0 && rssWithin(rss, bound), "\(stage): peak RSS \(rss) over the bound \(bound)")
    }

    /// A 2 GiB window needs `--long=31` and is in the bound; a stream of ordinary frames
    /// takes only its small window, far under the default bound's 128 MiB.
    @Test func decodingStaysUnderItsBound() throws {
        let r = try sh("""
            \(realText("24M"))
            zstd -q -1 --long=31 -c < $T/text > $T/long.zst
            "$SLUICE" --stats=json unzstd --long=31 < $T/long.zst 2>&1 > $T/got
            cmp $T/got $T/text >&2
            zstd -q -c < $T/text | "$SLUICE" --stats=json unzstd 2>&1 > $T/got
            cmp $T/got $T/text >&2
            """, timeout: 300)
        #expect(r.stderr.isEmpty, "\(r.stderr)")
        let reports = r.text.split(separator: "\n").filter { $0.hasPrefix("{") }.compactMap { try? statsJSON(String($0)) }
        try #require(reports.count == 2, "\(r.text)")
        for report in reports {
            let rss = report["peak_rss_bytes"] as? Int ?? 0
            let bound = report["memory_bound_bytes"] as? Int ?? 0
            #expect(rss > 0 && rssWithin(rss, bound), "peak RSS \(rss) over the bound \(bound)")
        }
        #expect(reports[0]["memory_bound_bytes"] as? Int ?? 0 > 2 << 30)
        #expect(rssWithin(reports[1]["peak_rss_bytes"] as? Int ?? 0, 48 << 20), "\(reports[1])")
    }
}
