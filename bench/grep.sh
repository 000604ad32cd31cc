#!/usr/bin/env bash
# grep, head and tail stages beside GNU grep, ripgrep and coreutils on 256 MiB of real
# text (Linux C sources), output to a file (GNU grep stops early into /dev/null), and
# the card's pipeline against the shell pipeline of pigz and grep.
# Usage: bench/grep.sh   (RUNS=N, SIZE=64M for a quicker run, WORD=... the rare word)
source "$(dirname "$0")/lib.sh"
need grep rg pigz
export LC_ALL=C
T=$(corpus_text)
BYTES=$(stat -c %s "$T")
WORD="${WORD:-zstd_compress}"
OUT="$CORPUS_DIR/grep.out"
cat "$T" > /dev/null

compare() {  # compare LABEL SLUICE-ARGS REFERENCE-COMMAND...
    local label="$1" args="$2"; shift 2
    local base
    base=$(median_seconds "$1 < $T > $OUT")
    row "$1" "$BYTES" "$base"
    for other in "${@:2}"; do row "$other" "$BYTES" "$(median_seconds "$other < $T > $OUT")" "$base"; done
    row "sluice $args" "$BYTES" "$(median_seconds "$SLUICE $args < $T > $OUT")" "$base"
}

echo "grep on $(basename "$T") ($BYTES bytes), stdin from the file, median of $RUNS, MB/s of input:"
compare "rare word" "grep -F $WORD" "grep -F $WORD" "rg -F $WORD"
compare "invert, common letter" "grep -v -F e" "grep -v -F e" "rg -v -F e"
compare "regex with a literal" "grep -E 'static (int|void) [a-z_]+\\('" \
    "grep -E 'static (int|void) [a-z_]+\\('" "rg 'static (int|void) [a-z_]+\\('"
compare "ignore case" "grep -i -F $WORD" "grep -i -F $WORD" "rg -i -F $WORD"
compare "whole words" "grep -w int" "grep -w int"
compare "regex, ignore case" "grep -i -E 'static (int|void) [a-z_]+\\('" "grep -i -E 'static (int|void) [a-z_]+\\('"
# No literal worth searching for: the lazy DFA runs over the whole buffer.
compare "regex without a literal" "grep -E '[aeiou]{3}'" "grep -E '[aeiou]{3}'" "rg '[aeiou]{3}'"
compare "classes, only a common literal" "grep -E '[A-Z][a-z]+_[0-9]+'" \
    "grep -E '[A-Z][a-z]+_[0-9]+'" "rg '[A-Z][a-z]+_[0-9]+'"
compare "alternation, then a class" "grep -E '(foo|bar)[0-9]'" "grep -E '(foo|bar)[0-9]'" "rg '(foo|bar)[0-9]'"
compare "inverted, ignore case, no literal" "grep -v -i -E '[aeiou]{3}'" "grep -v -i -E '[aeiou]{3}'" \
    "rg -v -i '[aeiou]{3}'"
TEN="mutex_lock|spin_unlock|kmalloc|printk|dev_err|memcpy|kfree|list_add|schedule|jiffies"
compare "alternation of 10 words" "grep -E '$TEN'" "grep -E '$TEN'" "rg '$TEN'"
# 1,000 identifiers of middling frequency from the corpus itself, made once.
WORDS="$CORPUS_DIR/words-1000.txt"
[ -s "$WORDS" ] || head -c 32M "$T" | tr -cs 'A-Za-z0-9_' '\n' | awk 'length >= 6' | sort | uniq -c \
    | sort -k1,1nr -k2,2 | sed -n '3001,4000p' | awk '{print $2}' > "$WORDS"
compare "1,000 fixed words" "grep -F -f $WORDS" "grep -F -f $WORDS" "rg -F -f $WORDS"
# On a regular file both start near the end; through a pipe both must read everything.
compare "tail on the file" "tail -n 1000" "tail -n 1000"
row "cat F | tail -n 1000" "$BYTES" "$(median_seconds "cat $T | tail -n 1000 > $OUT")"
row "cat F | sluice tail -n 1000" "$BYTES" "$(median_seconds "cat $T | $SLUICE tail -n 1000 > $OUT")"
compare "head" "head -n 1000000" "head -n 1000000"

GZ="$T.gz"
[ -s "$GZ" ] || gzip -6 -c "$T" > "$GZ"
echo "the card's pipeline on $(basename "$GZ"), median of $RUNS, MB/s of uncompressed text:"
base=$(median_seconds "pigz -dc < $GZ | grep -F $WORD | pigz > $OUT")
row "pigz -dc | grep -F $WORD | pigz" "$BYTES" "$base"
row "sluice gunzip + grep -F $WORD + gzip" "$BYTES" "$(median_seconds "$SLUICE gunzip + grep -F $WORD + gzip < $GZ > $OUT")" "$base"
