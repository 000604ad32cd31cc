"""Differential test of sluice's grep against GNU grep (LC_ALL=C grep -a).

Usage: grep-differential.py SLUICE SEED ITERATIONS
Runs random patterns, selection flags (-F -E -G -i -v -x -w -m) and output options
(-c -q -n -b -o -z, -A -B -C -NUM, --no-group-separator, --line-buffered) over a text
of awkward lines (CRLF, NUL, bytes over 0x7f, regex metacharacters, words joined by
dashes, no final newline; with -z, NUL-ended records holding newlines). Each case runs
at every chunk size, 1, 2, 3, 7, 4096 and 128K, so that context groups, -m's trailing
context and -o's parts straddle chunk edges, and must print what GNU grep prints; with
-q the exit status must be GNU grep's too. Prints every difference; exits 1 on any.

Cases drawn with a purpose, beside the random ones: escaped ordinary letters under -i
(`a\\x`), several fixed strings under -o -w (GNU grep's fixed-string matcher finds parts
differently from its regex matcher), -m with context, and GNU grep's "yesno" table of
-C, -v, -o and -m together.

Patterns without a literal, which sluice runs through its lazy DFA, drawn as trees:
bracket expressions with classes and ranges, `.`, `\\w \\W \\s \\S`, intervals, groups,
alternations and anchors, in both dialects, under -i -v -w -x, several -e and -z.

Known differences, left out of the random patterns: a repetition applied to a GNU
anchor inside a BRE (`\\<*`, `\\b\\b**`), and patterns whose unbalanced parentheses
pair up with -w/-x's wrapping across several -e patterns; with -z, a BRE's `^^` (the
rewriting for record edges makes the second `^` an anchor, GNU grep a literal); GNU grep's DFA and GNU regex
disagree there themselves. With -m 0 GNU grep exits before it reads its patterns, so an
invalid one is no error there; those cases compare output only.
"""
import os, random, re, subprocess, sys

# The sanitizers' options, which `make test-sanitize` sets, reach the sluice under test.
SLUICE_ENV = {"LC_ALL": "C", **{k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")}}

B = sys.argv[1]
random.seed(int(sys.argv[2]))
ITERATIONS = int(sys.argv[3])
CHUNKS = ["1", "2", "3", "7", "4096", "128K"]

LINES = [b"", b"a", b"abc", b"ABC", b"a b c", b"foo bar", b"foobar", b"bar_foo", b"x\r", b"\x00nul\x00",
         b"int main(void)", b"static int x;", b"aaa", b"a.c", b"a*c", b"a+b", b"(x)", b"[y]", b"{1}", b"a{1",
         b"-", b"  ", b"\tword\t", b"caf\xc3\xa9", b"\xff\xfe", b"ab ab", b"AbC aBc", b"\\", b"^$",
         b"word-word", b"x|y", b"ab-c", b"foo-foo bar", b"axc AXC", b"q\\z"]
TOKENS = ["a", "b", "c", "A", "foo", "bar", ".", "*", "+", "?", "|", "^", "$", "(", ")", "[a-c]", "[^a]",
          "\\.", "\\*", "x", " ", "{1}", "{1,2}", "\\w", "\\b", "\\<", "\\>", "_", "int", "\\(", "\\)", "\\|",
          "\\+", "[[:alpha:]]", "\\1", "{", "}", "[A-Z]", "[[:upper:]]", "[[:lower:]]", "[^A-Z]", "B",
          "\\x", "\\q", "\\Q", "\\z", "\\a", "-"]
# Atoms without a literal (as an ERE; `basic` rewrites the operators for a BRE).
DFA_ATOMS = ["[a-c]", "[^a]", "[[:alpha:]]", "[[:digit:]]", "[[:space:]]", "[[:upper:]]", "[[:lower:]]",
             "[[:punct:]]", "[A-Z]", "[a-z0-9_]", ".", "\\w", "\\W", "\\s", "\\S", "[]a]", "[^]a]", "[a-]",
             "[.a.]", "[=b=]", "[0-9]", "[^[:alnum:]]", "[[:xdigit:]]", "[_-a]", "[^\\n]", "a", "b", "o", "_", " ", "^", "$"]
DFA_QUANTIFIERS = ["", "", "", "", "*", "+", "?", "{2}", "{1,3}", "{,2}", "{2,}", "{0}", "{0,1}", "{1}{2}", "*+"]
DFA_LINES = [b"Foo_12 bar", b"aeiou", b"queue", b"ABC_9", b"x1y2", b"  indented", b"tab\there", b"a]b",
             b"foo1 bar2", b"UPPER lower", b"__init__", b"0x1F", b"a-b_c", b"oooo", b"b=a", b"]", b"a$b c^d", b"$", b"^^"]
FIXED = ["a", "b", "c", "A", "foo", "bar", " ", ".", "*", "x", "ab", "", "-", "-c", "b-", "o-f"]


def text(records):
    """A random text; with records, NUL-ended records that may hold newlines."""
    if records:
        parts = [b"\n".join(random.choice(LINES) for _ in range(random.choice([1, 1, 2, 3]))) for _ in range(120)]
        return b"\0".join(parts) + random.choice([b"", b"\0", b"\0last"])
    return b"\n".join(random.choice(LINES) for _ in range(300)) + random.choice([b"", b"\n", b"\nlast"])


def patterns(mode):
    count = random.choice([1, 1, 1, 2, 3])
    if mode == "-F":
        return ["".join(random.choice(FIXED) for _ in range(random.randint(0, 3))) for _ in range(count)]
    return ["".join(random.choice(TOKENS) for _ in range(random.randint(1, 4))) for _ in range(count)]


def dfa_expression(depth):
    """A random ERE without required literals."""
    pieces = []
    for _ in range(random.randint(1, 3)):
        if depth > 0 and random.random() < 0.3:
            alts = [dfa_expression(depth - 1) for _ in range(random.randint(1, 3))]
            atom = "(" + "|".join(alts) + ")"
        else:
            atom = random.choice(DFA_ATOMS)
        pieces.append(atom + random.choice(DFA_QUANTIFIERS))
    return "".join(pieces)


def basic(ere):
    """An ERE from dfa_expression as the BRE that means the same."""
    out, i = [], 0
    while i < len(ere):
        c = ere[i]
        if c == "[":
            j = ere.index("]", i + 2 if ere[i + 1:i + 3] in ("]a", "^]") or ere[i + 1] == "]" else i + 1)
            if ere.startswith("[[:", i) or ere.startswith("[^[:", i) or ere.startswith("[[.", i) or ere.startswith("[[=", i):
                j = ere.index("]]", i) + 1
            out.append(ere[i:j + 1])
            i = j + 1
            continue
        if c == "\\":
            out.append(ere[i:i + 2])
            i += 2
            continue
        out.append("\\" + c if c in "+?{}()|" else c)
        i += 1
    return "".join(out)


def dfa_case():
    flags = [f for f in ["-i", "-v", "-x", "-w", "-z"] if random.random() < 0.2]
    # Not -o: GNU grep finds parts with GNU regex, exponential on some of these trees.
    flags += [f for f in ["-c", "-n"] if random.random() < 0.1]
    mode = random.choice(["-E", "-G"])
    args = [mode] + flags
    for _ in range(random.choice([1, 1, 1, 2, 3])):
        p = dfa_expression(random.choice([0, 1, 1, 2]))
        if random.random() < 0.2:
            p = "^" + p
        if random.random() < 0.2:
            p += "$"
        args += ["-e", basic(p) if mode == "-G" else p]
    if mode == "-G" and "-z" in flags and any("^^" in a for a in args):
        return None
    return args


def dfa_text(records):
    lines = LINES + DFA_LINES
    if records:
        return b"\0".join(b"\n".join(random.choice(lines) for _ in range(random.choice([1, 2]))) for _ in range(150))
    return b"\n".join(random.choice(lines) for _ in range(300)) + random.choice([b"", b"\n"])


def output_options():
    opts = []
    for flag, p in [("-c", 0.1), ("-q", 0.07), ("-n", 0.25), ("-b", 0.2), ("-o", 0.25), ("-z", 0.12),
                    ("--line-buffered", 0.04)]:
        if random.random() < p:
            opts.append(flag)
    if random.random() < 0.35:
        for _ in range(random.choice([1, 1, 2])):
            n = str(random.choice([0, 1, 1, 2, 3]))
            opts += random.choice([["-A", n], ["-B", n], ["-C", n], ["-" + n]])
        if random.random() < 0.15:
            opts.append("--no-group-separator")
    return opts


def random_case():
    mode = random.choice(["-F", "-E", "-G"])
    flags = [f for f in ["-i", "-v", "-x", "-w"] if random.random() < 0.3]
    pats = patterns(mode)
    if mode == "-G" and any(re.search(r"\\[<>bB`'](\*|\\[+?{])", p) for p in pats):
        return None
    if ("-w" in flags or "-x" in flags) and len(pats) > 1 and any(p.count("(") != p.count(")") for p in pats):
        return None
    args = [mode] + flags + output_options()
    for p in pats:
        args += ["-e", p]
    if random.random() < 0.15:
        args += ["-m", str(random.randint(0, 5))]
    return args


# GNU grep's tests/yesno: -C, -v, -o and -m together, on lines whose offsets are easy.
YESNO = b"".join(b"[%c%02d %s]\n" % (65 + i, i + 1, b"yes" if i in (2, 3, 4, 7, 8, 12, 13) else b"no ")
                 for i in range(14))
YESNO_CASES = [[], ["-o"], ["-C", "1"], ["-C", "1", "-o"], ["-C", "1", "-o", "--no-group-separator"],
               ["-C", "4", "-1"], ["-C", "1", "--no-group-separator"], ["-m", "4"], ["-m", "4", "-o"],
               ["-m", "4", "-C", "1"], ["-m", "4", "-C", "1", "-o"], ["-m", "5", "-C", "1"], ["-m", "6", "-C", "1"],
               ["-m", "6", "-C", "1", "-o"], ["-v"], ["-v", "-o"], ["-v", "-C", "1"], ["-v", "-C", "1", "-o"],
               ["-4", "-1"], ["-4", "-v", "-1"], ["-m", "1", "-v", "-C", "1"], ["-m", "2", "-v", "-C", "1"],
               ["-m", "3", "-v", "-C", "1", "-o"], ["-c", "-v", "-m", "3"], ["-q", "-v"], ["-A", "0"],
               ["-B", "2", "-m", "1"], ["-A", "3", "-m", "2"], ["-z", "-C", "1"]]


def fixed_cases():
    cases = [(["-F", "-n", "-b"] + c + ["-e", "yes"], YESNO) for c in YESNO_CASES]
    data = b"ab-c ab abc -c\nxab a ab\nfoo-foo foo\n\nab\n"
    for flags in [["-o", "-w"], ["-o", "-w", "-i"], ["-o", "-x", "-w"], ["-o", "-b", "-w"], ["-c", "-w"]]:
        for pats in [["ab", "-c"], ["ab"], ["ab", "ab"], ["AB", "-C"], ["foo-", "foo"], [""], ["", "ab"]]:
            for mode in ["-F", "-G", "-E"]:
                args = [mode] + flags
                for p in pats:
                    args += ["-e", p]
                cases.append((args, data))
    for p in ["a\\x", "\\q", "A\\X", "[\\x]", "\\\\x", "a\\w", "\\bx"]:
        for flags in [["-i"], ["-i", "-o"], ["-i", "-w"], ["-i", "-c"], []]:
            cases.append((["-G"] + flags + ["-e", p], b"axc\nAXC\nqz\nQ\n\\x\nx y\n"))
    z = b"a\nb\0c\nd\0ab\0"
    for p in ["^[a-b]*$", "a[a-b]*$", "^[a-b]*b", "^[ab]*$", "a.b", "a[^x]b", "^b", "b$", "^c"]:
        cases.append((["-z", "-e", p], z))
        cases.append((["-z", "-o", "-n", "-e", p], z))
    return cases


def run(args, data):
    g = subprocess.run(["grep", "-a"] + args, input=data, capture_output=True, env={"LC_ALL": "C"})
    differences = []
    for chunk in CHUNKS:
        s = subprocess.run([B, "--chunk", chunk, "grep"] + args, input=data, capture_output=True,
                           env=SLUICE_ENV)
        gerr, serr = g.returncode == 2, s.returncode != 0 and not ("-q" in args and s.returncode == 1)
        if "-m" in args and args[args.index("-m") + 1] == "0" and serr:
            continue
        if "-q" in args and not gerr and g.returncode != s.returncode:
            differences.append("chunk %s: exit status %d, grep's %d" % (chunk, s.returncode, g.returncode))
        elif gerr != serr:
            differences.append("chunk %s: grep rc %d %r, sluice rc %d %r"
                               % (chunk, g.returncode, g.stderr[:80], s.returncode, s.stderr[:100]))
        elif not gerr and g.stdout != s.stdout:
            differences.append("chunk %s: output differs: %r / %r" % (chunk, g.stdout[:120], s.stdout[:120]))
    return differences


mismatches = 0
cases = fixed_cases()
for _ in range(ITERATIONS):
    args = random_case()
    if args is not None:
        cases.append((args, text("-z" in args)))
for _ in range(ITERATIONS):
    args = dfa_case()
    if args is not None:
        cases.append((args, dfa_text("-z" in args)))
for args, data in cases:
    for difference in run(args, data):
        mismatches += 1
        print("MISMATCH", args, difference)
print("done, %d cases, mismatches: %d" % (len(cases), mismatches))
sys.exit(1 if mismatches else 0)
