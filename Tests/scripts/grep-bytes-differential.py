"""Differential test of sluice's grep against GNU grep for what arrives as bytes: patterns with
bytes 0x80-0xFF on the command line, and the offset -m leaves a regular-file stdin at.

Usage: grep-differential.py SLUICE SEED ITERATIONS
Runs random patterns and flag combinations over a file of awkward lines (CRLF, NUL,
bytes over 0x7f, regex metacharacters, no final newline) at chunk sizes 1, 7 and 128K,
and prints every case where output or failure differs. Exits 1 on any difference.
Patterns hold random bytes 0x80-0xFF, alone and in brackets, and reach grep on the
command line as bytes: after -e, or as the operand. With -m NUM, the input is also a
regular file, and when NUM lines were selected the offset grep leaves it at must be GNU
grep's: just after the last selected line.

Known differences, left out of the random patterns: a repetition applied to a GNU
anchor inside a BRE (`\<*`, `\b\b**`), and patterns whose unbalanced parentheses
pair up with -w/-x's wrapping across several -e patterns; GNU grep's DFA and GNU regex
disagree there themselves.
"""
import os, random, re, subprocess, sys, tempfile

# The sanitizers' options, which `make test-sanitize` sets, reach the sluice under test.
SLUICE_ENV = {"LC_ALL": "C", **{k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")}}
B = sys.argv[1]
random.seed(int(sys.argv[2]))
ITERATIONS = int(sys.argv[3])
lines = [b"", b"a", b"abc", b"ABC", b"a b c", b"foo bar", b"foobar", b"bar_foo", b"x\r", b"\x00nul\x00", b"int main(void)", b"static int x;", b"aaa", b"a.c", b"a*c", b"a+b", b"(x)", b"[y]", b"{1}", b"a{1", b"-", b"  ", b"\tword\t", b"caf\xc3\xa9", b"\xff\xfe", b"ab ab", b"AbC aBc", b"\\", b"^$", b"word-word", b"x|y"]
lines += [bytes(random.choice([random.randint(0x80, 0xFF), random.randint(0x20, 0x7E)]) for _ in range(random.randint(1, 6))) for _ in range(20)]
data = b"\n".join(random.choice(lines) for _ in range(300)) + random.choice([b"", b"\n", b"\nlast"])
FILE = os.path.join(tempfile.mkdtemp(), "in")
with open(FILE, "wb") as f: f.write(data)

def high():
    """A random byte 0x80-0xFF, alone or in brackets (a set or a range)."""
    b = lambda: bytes([random.randint(0x80, 0xFF)])
    return random.choice([b(), b(), b"[" + b() + b() + b"]", b"[^" + b() + b"]", b"[\x80-" + b() + b"]"])

def offset_after(argv):
    """Where argv leaves a regular-file stdin holding data."""
    fd = os.open(FILE, os.O_RDONLY)
    try:
        subprocess.run(argv, stdin=fd, capture_output=True, env=SLUICE_ENV)
        return os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)

toks = ["a", "b", "c", "A", "foo", "bar", ".", "*", "+", "?", "|", "^", "$", "(", ")", "[a-c]", "[^a]", "\\.", "\\*", "x", " ", "{1}", "{1,2}", "\\w", "\\b", "\\<", "\\>", "_", "int", "\\(", "\\)", "\\|", "\\+", "[[:alpha:]]", "\\1", "{", "}", "[A-Z]", "[[:upper:]]", "[[:lower:]]", "[^A-Z]", "B"]
mism = 0
for it in range(ITERATIONS):
    mode = random.choice(["-F", "-E", "-G"])
    flags = [f for f in ["-i", "-v", "-x", "-w"] if random.random() < 0.3]
    npat = random.choice([1, 1, 1, 2])
    pats = []
    for _ in range(npat):
        if mode == "-F":
            p = b"".join(random.choice([b"a", b"b", b"c", b"A", b"foo", b"bar", b" ", b".", b"*", b"x", b"ab", b"", bytes([random.randint(0x80, 0xFF)])]) for _ in range(random.randint(0, 3)))
        else:
            p = b"".join(high() if random.random() < 0.15 else random.choice(toks).encode() for _ in range(random.randint(1, 4)))
        pats.append(p)
    if mode == "-G" and any(re.search(rb"\\[<>bB`'](\*|\\[+?{])", p) for p in pats):
        continue
    if ("-w" in flags or "-x" in flags) and len(pats) > 1 and any(p.count(b"(") != p.count(b")") for p in pats):
        continue
    args = [mode] + flags
    if len(pats) == 1 and not pats[0].startswith(b"-") and pats[0] != b"+" and random.random() < 0.5:
        args += [pats[0]]   # the operand (a lone + is sluice's stage separator)
    else:
        for p in pats: args += ["-e", p]
    if random.random() < 0.2: args += ["-m", str(random.randint(0, 5))]
    chunk = random.choice(["1", "7", "128K"])
    g = subprocess.run(["grep", "-a"] + args, input=data, capture_output=True, env={"LC_ALL": "C"})
    s = subprocess.run([B, "--chunk", chunk, "grep"] + args, input=data, capture_output=True, env=SLUICE_ENV)
    gerr = g.returncode == 2
    serr = s.returncode != 0
    if "-m" in args and args[args.index("-m")+1] == "0": continue
    if gerr != serr or (not gerr and g.stdout != s.stdout):
        mism += 1
        print("MISMATCH", args, "chunk", chunk, "grep rc", g.returncode, g.stderr[:80], "sluice rc", s.returncode, s.stderr[:100], len(g.stdout), len(s.stdout))
    elif "-m" in args and not gerr and g.stdout.count(b"\n") == int(args[args.index("-m") + 1]):
        # GNU grep promises the offset only when NUM lines were selected (it may not
        # read at all when nothing can be: -v '').
        want, got = offset_after(["grep", "-a"] + args), offset_after([B, "--chunk", chunk, "grep"] + args)
        if want != got:
            mism += 1
            print("OFFSET MISMATCH", args, "chunk", chunk, "grep", want, "sluice", got)
print("done, mismatches:", mism)
sys.exit(1 if mism else 0)
