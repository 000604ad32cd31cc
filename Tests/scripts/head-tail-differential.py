"""Differential test of sluice's head and tail against coreutils.

Usage: head-tail-differential.py SLUICE SEED ITERATIONS
Random inputs (empty, only newlines, binary, long lines, no final newline) and counts
(0, 1, ..., near and past 2^63 and 2^64; with -, + or -+ for head, + - or -+ for tail)
at chunk sizes 1 to 128K, through a pipe; for head, also from a regular file, where the
offset it leaves stdin at must be coreutils' too (but for one deliberate difference,
below). Prints every difference and exits 1
if there is one.

A count past 2^64-1 is compared with the tool given 2^64-1, which current coreutils
takes it to mean (the installed 9.1 refuses it); where 9.1 refuses a count its offset
arithmetic cannot hold (head -c -N past 2^63-1), with 2^63-1, the same on these inputs.
A refusal by coreutils is a mismatch too: the oracle must have said something.
"""
import os, random, subprocess, sys, tempfile
B = sys.argv[1]
random.seed(int(sys.argv[2]))
HUGE = [2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1, 2**64, 2**64 + 7, 10**30]
U64 = 2**64 - 1
FILE = os.path.join(tempfile.mkdtemp(), "in")

def oracle_args(tool, opt, sign, n):
    """The count as coreutils 9.1 takes it to mean what sluice does with n."""
    if tool == "head" and opt == "-c" and sign.startswith("-"):
        n = min(n, 2**63 - 1)   # 9.1: "Value too large" past off_t
    return [opt, sign + str(min(n, U64))]

def offset_after(argv, data):
    """Where argv leaves a regular-file stdin holding data."""
    with open(FILE, "wb") as f: f.write(data)
    fd = os.open(FILE, os.O_RDONLY)
    try:
        subprocess.run(argv, stdin=fd, capture_output=True)
        return os.lseek(fd, 0, os.SEEK_CUR)
    finally:
        os.close(fd)

mism = 0
for it in range(int(sys.argv[3])):
    kind = random.choice(["lines", "bytes", "empty", "nl", "long"])
    if kind == "lines":
        data = b"".join(random.choice([b"", b"a", b"bb", b"ccc\r", b"x"*random.randint(0,300)]) + b"\n" for _ in range(random.randint(0, 400)))
        if random.random() < 0.5: data += b"partial"
    elif kind == "bytes": data = bytes(random.getrandbits(8) for _ in range(random.randint(0, 3000)))
    elif kind == "empty": data = b""
    elif kind == "nl": data = b"\n" * random.randint(0, 50)
    else: data = (b"y" * random.randint(0, 200000) + b"\n") * random.randint(0, 3)
    tool = random.choice(["head", "tail"])
    opt = random.choice(["-n", "-c"])
    n = random.choice([0, 1, 2, 3, 5, 10, 100, 1000, 70000] + HUGE)
    sign = random.choice(["", "", "-" if tool == "head" else "+", "+" if tool == "head" else "-", "-+"])
    args = [opt, sign + str(n)]
    chunk = random.choice(["1", "2", "3", "7", "4096", "65536", "128K"])
    g = subprocess.run([tool] + oracle_args(tool, opt, sign, n), input=data, capture_output=True)
    s = subprocess.run([B, "--chunk", chunk, tool] + args, input=data, capture_output=True)
    if g.returncode != 0 or g.stdout != s.stdout or s.returncode != 0:
        mism += 1
        print("MISMATCH", tool, args, "chunk", chunk, kind, len(data), len(g.stdout), len(s.stdout), s.returncode, s.stderr[:100])
    # The offset idiom, { head ... > out; cat; } < file, but for a head -n -N that
    # outputs nothing: coreutils then leaves the offset after the last 8 KiB block it
    # read backwards (BUFSIZ), sluice where it started (the man page's COMPATIBILITY).
    if tool == "head" and not (opt == "-n" and sign.startswith("-") and not g.stdout):
        want = offset_after([tool] + oracle_args(tool, opt, sign, n), data)
        got = offset_after([B, "--chunk", chunk, tool] + args, data)
        if want != got:
            mism += 1
            print("OFFSET MISMATCH", tool, args, "chunk", chunk, kind, len(data), "coreutils", want, "sluice", got)
print("mismatches", mism)
sys.exit(1 if mism else 0)
