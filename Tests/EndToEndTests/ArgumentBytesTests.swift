import Foundation
import Testing

/// Arguments are bytes: a pattern, a file name or an exec argument reaches its use, and a
/// message, with the bytes the command line gave, 0x80–0xFF included.
@Suite struct ArgumentBytesTests {
    /// Every byte 0x01–0xFF as a grep pattern — alone as the operand (`+` after `--`), in
    /// brackets, with -i, -w, -x, -F; 0x0A splits the pattern in two — against `LC_ALL=C
    /// grep -a` over lines holding every byte. (About 3000 runs: each costs a process.)
    @Test func everyByteAsAGrepPattern() throws {
        let r = try sh(#"""
            renice -n 19 -p $$ > /dev/null   # thousands of processes, beside tests that time
            for i in $(seq 1 255); do
                [ $i -eq 10 ] && continue
                printf -v b "\\x$(printf %02x $i)"
                printf '%s\n' "$b" "x${b}y" "$b$b" "a $b b" "A${b}a"
            done > $T/in
            printf 'plain\nAbc\n' >> $T/in
            check() {
                grep -a "$@" < $T/in > $T/want 2>/dev/null; w=$?
                "$SLUICE" grep "$@" < $T/in > $T/got 2>/dev/null; s=$?
                if [ $w -eq 2 ]; then [ $s -eq 2 ] || echo "byte $i ${*:1:$#-1}: grep refuses, sluice $s"
                elif [ $s -ne 0 ]; then echo "byte $i ${*:1:$#-1}: sluice status $s"
                else cmp -s $T/want $T/got || echo "byte $i ${*:1:$#-1}: output differs"; fi
            }
            n=0
            for i in $(seq 1 255); do
                printf -v b "\\x$(printf %02x $i)"
                # A lone + is sluice's stage separator; after -- it is an operand.
                if [ "$b" = + ]; then check -- "$b"; else check "$b"; fi
                check -e "[$b]"; check -i -e "$b"; check -w -e "$b"; check -x -e "$b"; check -F -e "$b"
                n=$((n + 6))
            done
            echo "checked $n"
            """#, timeout: 300)
        #expect(r.text == "checked 1530\n", "\(r.text)")
    }

    @Test func teeCreatesExactlyTheNameGiven() throws {
        let r = try sh(#"""
            cd $T && echo hi | "$SLUICE" tee $'caf\xe9.log' > /dev/null || echo "status $?"
            ls | od -An -c | tr -s ' '
            cat $'caf\xe9.log'
            """#)
        #expect(r.text == " c a f 351 . l o g \\n\nhi\n", "\(r.text) \(r.stderr)")
    }

    @Test func execPassesArgumentBytes() throws {
        let r = try sh(#""$SLUICE" exec printf '%s' $'\xff\xfe' < /dev/null | od -An -tx1"#)
        #expect(r.text == " ff fe\n", "\(r.text) \(r.stderr)")
        #expect(r.status == 0)
    }

    /// Messages name a file or command with its own bytes: stderr holds `no\xffsuch`,
    /// not U+FFFD.
    @Test func messagesKeepTheBytesOfNames() throws {
        let r = try sh(#"""
            "$SLUICE" grep -f $T/$'no\xffsuch' < /dev/null 2> $T/err; echo "grep=$?"
            grep -c $'/no\xffsuch: No such file or directory$' $T/err
            "$SLUICE" tee $T/$'no\xfedir'/x < /dev/null 2> $T/err; echo "tee=$?"
            grep -c $'tee: '"$T"$'/no\xfedir/x: No such file or directory$' $T/err
            "$SLUICE" exec $'cmd\xfd' < /dev/null 2> $T/err; echo "exec=$?"
            grep -c $'^sluice: exec: cmd\xfd: No such file or directory$' $T/err
            "$SLUICE" head -n $'1\xfc' < /dev/null 2> $T/err; echo "head=$?"
            grep -c $'^sluice: head: -n: invalid number \'1\xfc\'$' $T/err
            """#)
        #expect(r.text == "grep=1\n1\ntee=1\n1\nexec=1\n1\nhead=2\n1\n", "\(r.text)")
    }
}
