import Foundation
import Testing

/// BGZF both ways against htslib's own tools (`bgzip`, `htsfile`, from tabix), and
/// parallel gunzip through the built binary.
@Suite(.tags(.threads)) struct BGZFThreadTests {
    @Test func roundTripsWithHtslib() throws {
        let r = try sh("""
            \(realText("3M"))
            "$SLUICE" gzip --bgzf < $T/text > $T/s.gz || exit 10
            htsfile $T/s.gz | grep -q BGZF || { htsfile $T/s.gz; exit 11; }
            bgzip -d < $T/s.gz | cmp - $T/text || exit 12
            gzip -dc $T/s.gz | cmp - $T/text || exit 13
            for p in 1 2 3; do "$SLUICE" gunzip -p $p < $T/s.gz | cmp - $T/text || exit 14; done
            # Independent blocks at one level: the thread count does not change a byte.
            "$SLUICE" gzip --bgzf -p 1 < $T/text | cmp - $T/s.gz || exit 15
            "$SLUICE" gzip --bgzf -9 -p 3 < $T/text | bgzip -d | cmp - $T/text || exit 16
            bgzip -c $T/text > $T/b.gz; bgzip -@2 -l 1 -c $T/text > $T/b1.gz
            for p in 1 2; do
                "$SLUICE" gunzip -p $p < $T/b.gz | cmp - $T/text || exit 17
                "$SLUICE" zcat -p $p < $T/b1.gz | cmp - $T/text || exit 18
            done
            : | "$SLUICE" gzip --bgzf | cmp - <(: | bgzip) || exit 19
            """, timeout: 300)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
    }

    /// `bgzip -r` indexes sluice's BGZF, also at the end of a chain, and reads any range
    /// back through the index.
    @Test func bgzipIndexesTheOutput() throws {
        let r = try sh("""
            \(realText("2M"))
            "$SLUICE" gunzip + cat + gzip --bgzf -p 2 < <(gzip -c $T/text) > $T/s.gz || exit 10
            bgzip -r $T/s.gz && [ -s $T/s.gz.gzi ] || exit 11
            for at in 0 65279 65280 1000000 2000000; do
                bgzip -b $at -s 5000 $T/s.gz | cmp - <(tail -c +$((at + 1)) $T/text | head -c 5000) || { echo "at $at"; exit 12; }
            done
            """, timeout: 300)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
    }

    /// A member with a bad CRC in the middle of a BGZF file: the error names it and its
    /// trailer's offset; the output is exactly the members before it and itself.
    @Test(arguments: ["1", "7", "64K"])
    func damagedMemberInTheMiddle(_ chunk: String) throws {
        let r = try sh("""
            \(realText("400K"))
            bgzip -c $T/text > $T/b.gz
            python3 - $T/b.gz $T/bad.gz <<'PY' > $T/where
            import sys
            d = bytearray(open(sys.argv[1], 'rb').read())
            i = 0
            for k in range(3):
                i += (d[i + 16] | d[i + 17] << 8) + 1
            end = i + (d[i + 16] | d[i + 17] << 8) + 1
            d[end - 8] ^= 0xff
            open(sys.argv[2], 'wb').write(d)
            print(end - 8)
            PY
            for p in 1 2; do
                "$SLUICE" --chunk \(chunk) gunzip -p $p < $T/bad.gz > $T/out 2> $T/err; echo "status=$?"
                head -c $((4 * 65280)) $T/text | cmp -s - $T/out && echo "four members"
                grep -q "^sluice: gunzip: CRC mismatch in member 4 at byte $(cat $T/where) (stored 0x" $T/err && echo named
            done
            """, timeout: 300)
        #expect(r.text == String(repeating: "status=1\nfour members\nnamed\n", count: 2), "\(r.stderr)")
    }

    /// Threads take four bgzip blocks at a time: a damaged member second or sixth (inside
    /// a batch, with good members on both sides in the same batch) gives exactly what one
    /// thread gives: stdout, stderr and status, which names that member.
    @Test(arguments: ["1", "7", "64K", "128K"])
    func damagedMemberInsideABatch(_ chunk: String) throws {
        let r = try sh("""
            \(realText("450K"))
            bgzip -c $T/text > $T/b.gz
            python3 - $T/b.gz $T/bad <<'PY'
            import sys
            d = bytes(open(sys.argv[1], 'rb').read())
            starts, i = [], 0
            while i < len(d):
                starts.append(i)
                i += (d[i + 16] | d[i + 17] << 8) + 1
            for k, how in ((2, 'crc'), (6, 'body')):
                b = bytearray(d)
                s, e = starts[k - 1], starts[k]
                if how == 'crc':
                    b[e - 8] ^= 0xff
                else:
                    b[s + 40:s + 60] = b'\\xff' * 20
                open('%s%d.gz' % (sys.argv[2], k), 'wb').write(b)
            PY
            for k in 2 6; do
                "$SLUICE" --chunk \(chunk) gunzip -p 1 < $T/bad$k.gz > $T/want 2> $T/want.err; w=$?
                "$SLUICE" --chunk \(chunk) gunzip -p 2 < $T/bad$k.gz > $T/got 2> $T/got.err; g=$?
                [ $w = 1 ] && [ $g = 1 ] && cmp -s $T/want $T/got && cmp -s $T/want.err $T/got.err \\
                    || { echo "member $k: status $w/$g"; cat $T/want.err $T/got.err; exit 1; }
                grep -q "^sluice: gunzip: .* in member $k at byte [0-9]*" $T/got.err || { cat $T/got.err; exit 2; }
                head -c $(( (k - 1) * 65280 )) $T/text | cmp -s - <(head -c $(( (k - 1) * 65280 )) $T/got) \\
                    || { echo "member $k: the members before it"; exit 3; }
            done
            """, timeout: 300)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
    }

    /// Cut anywhere: the message is the sequential one; at a member's end it is a whole
    /// stream, with or without the EOF member.
    @Test(arguments: ["1", "7", "64K"])
    func truncated(_ chunk: String) throws {
        let r = try sh("""
            \(realText("200K"))
            bgzip -c $T/text > $T/b.gz
            n=$(stat -c %s $T/b.gz)
            first=$(( $(od -An -tu2 -j16 -N2 $T/b.gz) + 1 ))
            for cut in 10 17 18 100 $first $((first + 1)) $((first + 18)) $((n - 28)) $((n - 1)); do
                head -c $cut $T/b.gz > $T/cut.gz
                "$SLUICE" --chunk \(chunk) gunzip -p 1 < $T/cut.gz > $T/want 2> $T/want.err; w=$?
                "$SLUICE" --chunk \(chunk) gunzip -p 2 < $T/cut.gz > $T/got 2> $T/got.err; g=$?
                [ $w = $g ] && cmp -s $T/want $T/got && cmp -s $T/want.err $T/got.err || { echo "cut $cut differs"; exit 1; }
                cmp -s $T/got <(head -c $(stat -c %s $T/got) $T/text) || { echo "cut $cut: not a prefix"; exit 2; }
                case $cut in $first|$((n - 28))) [ $g = 0 ] || { echo "cut $cut: status $g"; exit 3; };;
                    *) grep -q "^sluice: gunzip: unexpected end of input in member [0-9]* at byte $cut$" $T/got.err \\
                        || { echo "cut $cut: $(cat $T/got.err)"; exit 4; };;
                esac
            done
            """, timeout: 300)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
    }

    @Test(arguments: ["1", "7", "64K"])
    func mixedWithPlainMembers(_ chunk: String) throws {
        let r = try sh("""
            seq 1 30000 > $T/a; seq 30001 50000 > $T/b
            { bgzip -c $T/a; gzip -c $T/b; "$SLUICE" gzip --bgzf < $T/a | head -c -28; pigz -c $T/b; bgzip -c $T/b; } > $T/all.gz
            cat $T/a $T/b $T/a $T/b $T/b > $T/want
            "$SLUICE" --chunk \(chunk) gunzip -p 2 < $T/all.gz | cmp - $T/want || exit 1
            { cat $T/all.gz; printf 'junk'; } | "$SLUICE" --chunk \(chunk) gunzip -p 2 --trailing=warn 2> $T/err | cmp - $T/want || exit 2
            grep -q "^sluice: gunzip: warning: trailing garbage at byte $(stat -c %s $T/all.gz) ignored$" $T/err || exit 3
            """, timeout: 300)
        #expect(r.status == 0, "\(r.text) \(r.stderr)")
    }

    /// Into a slow reader, memory stays under the stated bound with two threads, and
    /// under 24 MiB at the defaults; with eight threads on 256 MiB, whose jobs hold 48
    /// chunks, the pool keeps those for reuse (it once freed and allocated them all run
    /// long, and malloc's arenas took 34 MiB against a bound of 19).
    @Test func memoryStaysBounded() throws {
        let r = try sh("""
            \(realText("16M"))
            bgzip -@2 -c $T/text > $T/b.gz
            "$SLUICE" --stats=json gunzip -p 2 < $T/b.gz 2> $T/p2 | pv -q -L 8M | cmp - $T/text || exit 1
            "$SLUICE" --stats=json gunzip < $T/b.gz 2> $T/def | cmp - $T/text || exit 2
            for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat $T/b.gz; done \
                | "$SLUICE" --stats=json gunzip -p 8 2> $T/p8 | cksum > $T/p8.sum
            for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16; do cat $T/text; done | cksum | cmp - $T/p8.sum || exit 3
            python3 -c 'import json, sys
            for f in sys.argv[1:]:
                d = json.load(open(f)); print(d["peak_rss_bytes"], d["memory_bound_bytes"])' $T/p2 $T/def $T/p8
            """, timeout: 120)
        let rows = r.text.split(separator: "\n").map { $0.split(separator: " ").compactMap { Int($0) } }
        #expect(rows.count == 3 && rows.allSatisfy { $0.count == 2 }, "\(r.text) \(r.stderr)")
        guard rows.count == 3, rows.allSatisfy({ $0.count == 2 }) else { return }
        #expect(rssWithin(rows[0][0], rows[0][1]), "-p 2: peak RSS \(rows[0][0]) over the bound \(rows[0][1])")
        #expect(rssWithin(rows[1][0], 24 << 20), "defaults: peak RSS \(rows[1][0])")
        #expect(rssWithin(rows[2][0], rows[2][1]), "-p 8: peak RSS \(rows[2][0]) over the bound \(rows[2][1])")
    }

    /// A live stream: gzip --bgzf sends a short member when its input pauses, and
    /// gunzip -p 2 writes each member it has decoded while its own input pauses.
    @Test(arguments: ["gzip --bgzf + gunzip -p 2", "gzip --bgzf -p 1 | \"$SLUICE\" gunzip -p 2"])
    func aLineIsVisibleWithinASecond(_ stages: String) throws {
        let r = try sh("""
            { echo "hello line"; sleep 2; echo "the end"; } | "$SLUICE" \(stages) > $T/out &
            sleep 1
            cat $T/out
            wait
            echo "--"
            cat $T/out
            """, timeout: 30)
        #expect(r.text == "hello line\n--\nhello line\nthe end\n", "\(r.stderr)")
    }

    @Test func usage() throws {
        let r = try sh("""
            "$SLUICE" gunzip -p 0 < /dev/null; echo "s=$?"
            "$SLUICE" gzip --bgzf --block 64K < /dev/null; echo "s=$?"
            """)
        #expect(r.text == "s=2\ns=2\n")
        #expect(r.stderr.contains("sluice: gunzip: -p: invalid number of threads '0' (use 1 to 256)"))
        #expect(r.stderr.contains("sluice: gzip: --block: BGZF blocks are 65280 bytes of input; --block does not apply with --bgzf"))
    }
}
