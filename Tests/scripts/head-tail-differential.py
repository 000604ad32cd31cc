"""Differential test of sluice's head and tail against coreutils.

Usage: head-tail-differential.py SLUICE SEED ITERATIONS
Random inputs (empty, only newlines, binary, long lines, no final newline) and counts
(0, 1, ..., with - for head and + for tail) at chunk sizes 1 to 128K; prints every
difference and exits 1 if there is one.
"""
import random, subprocess, sys
B = sys.argv[1]
random.seed(int(sys.argv[2]))
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
    n = random.choice([0, 1, 2, 3, 5, 10, 100, 1000, 70000])
    sign = random.choice(["", "", "-" if tool == "head" else "+"])
    args = [opt, sign + str(n)]
    chunk = random.choice(["1", "2", "3", "7", "4096", "65536", "128K"])
    g = subprocess.run([tool] + args, input=data, capture_output=True)
    s = subprocess.run([B, "--chunk", chunk, tool] + args, input=data, capture_output=True)
    if g.stdout != s.stdout or s.returncode != 0:
        mism += 1
        print("MISMATCH", tool, args, "chunk", chunk, kind, len(data), len(g.stdout), len(s.stdout), s.returncode, s.stderr[:100])
print("mismatches", mism)
sys.exit(1 if mism else 0)
