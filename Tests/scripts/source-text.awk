# Deterministic C-like source text, for tests that need text which compresses and greps
# like real code (the C headers under /usr/include, which a fresh machine lacks or holds
# too few of): includes, #if/#endif, comments, static int and void functions with
# printk calls, a closing brace alone on a line. gzip -6 shrinks it 3.5 times (headers: 5).
#
#     awk -v size=3M -f source-text.awk | head -c 3M     # at least SIZE bytes (K, M: 1024s)
#
# Same bytes under mawk and gawk: a Park-Miller generator (16807 * x < 2^53, exact in
# an awk double) instead of rand(), whose sequence differs between awks.

function rnd(n) { seed = (seed * 16807) % 2147483647; return int(seed / 2147483647 * n) }
function word() { return words[rnd(nwords) + 1] }
function type() { return types[rnd(ntypes) + 1] }
function name() { return rnd(3) ? word() "_" word() : word() "_" word() "_" word() }
function hex() { return sprintf("0x%x", rnd(65536)) }
function sentence(  s, i, n) {
    n = 3 + rnd(9); s = word()
    for (i = 1; i < n; i++) s = s " " word()
    return s
}
function emit(line) { print line; written += length(line) + 1 }

function guard(  g) {
    g = "_" toupper(name()) "_H"
    emit("#ifndef " g); emit("#define " g " 1"); emit("")
    return g
}
function includes(  i, n) {
    n = 1 + rnd(4)
    for (i = 0; i < n; i++)
        emit(rnd(2) ? "#include <" dirs[rnd(ndirs) + 1] word() ".h>" : "#include \"" name() ".h\"")
    emit("")
}
function comment(  w) {
    if (rnd(2)) { emit("/* " sentence() ".  */"); return }
    emit("/* " toupper(substr(w = word(), 1, 1)) substr(w, 2) " " sentence() ".")
    emit("   " sentence() ", " sentence() ".  */")
}
function defines(  i, n) {
    n = 1 + rnd(5)
    for (i = 0; i < n; i++) emit("#define " toupper(name()) "\t" (rnd(2) ? rnd(4096) : hex()))
    emit("")
}
function declaration() {
    emit("extern " type() " " name() " (" type() " __" word() ", " type() " *__" word() ") __THROW;")
}
function structure(  i, n, s) {
    s = name(); n = 2 + rnd(6)
    emit("struct " s); emit("{")
    for (i = 0; i < n; i++) emit("  " type() " " word() ";" (rnd(3) ? "" : "\t/* " sentence() ".  */"))
    emit("};"); emit("")
}
function statement(depth,  pad, r) {
    pad = substr("\t\t\t\t", 1, depth); r = rnd(8)
    if (r == 0) emit(pad "printk(KERN_" levels[rnd(nlevels) + 1] " \"" sentence() ": %d\\n\", " word() ");")
    else if (r == 1) emit(pad word() " = " word() "->" word() " & " hex() ";")
    else if (r == 2) emit(pad "if (" word() " < " rnd(1000) ")")
    else if (r == 3) emit(pad "ret = " name() "(" word() ", " word() ");")
    else if (r == 4) emit(pad "for (i = 0; i < " toupper(name()) "; i++)")
    else if (r == 5) emit(pad "return " (rnd(2) ? "ret" : "-E" toupper(word())) ";")
    else if (r == 6) emit(pad word() "->" word() "[i] = " rnd(256) ";")
    else emit(pad "int " word() ";")
}
function function_(  i, n) {
    emit((rnd(2) ? "static int " : "static void ") name() "(struct " word() " *" word() ", " type() " " word() ")")
    emit("{")
    n = 2 + rnd(10)
    for (i = 0; i < n; i++) statement(1 + rnd(2))
    emit("}"); emit("")
}
function conditional() {
    emit("#if defined __" toupper(word()) "__ && __" toupper(word()) "__ >= " rnd(10))
    declaration()
    if (rnd(2)) { emit("#else"); declaration() }
    emit("#endif")
}

BEGIN {
    seed = 20240613
    nwords = split("buffer queue device entry count flags state index length offset table node list " \
        "lock page cache block inode sector frame packet header value signal thread mutex timer " \
        "socket address stream file handle mode size limit range region vector bitmap context " \
        "request reply status error result data info config param option driver module kernel " \
        "user group owner name path link mount audio video previous sequence queueing iov iouring " \
        "x y n len ptr buf ctx dev fd pid uid gid err tmp cnt idx max min", words, " ")
    ntypes = split("int void char long short unsigned size_t ssize_t off_t uint8_t uint16_t uint32_t " \
        "uint64_t int32_t int64_t bool double float pid_t uid_t", types, " ")
    ndirs = split("sys/ bits/ linux/ asm/ net/ netinet/ arpa/ ", dirs, " ")
    nlevels = split("INFO ERR WARNING DEBUG NOTICE", levels, " ")
    limit = size + 0
    if (size ~ /[Kk]/) limit *= 1024
    if (size ~ /[Mm]/) limit *= 1048576
    while (written < limit) {
        g = guard(); includes(); comment()
        for (k = 2 + rnd(6); k > 0; k--) {
            r = rnd(6)
            if (r == 0) defines(); else if (r == 1) structure(); else if (r == 2) conditional()
            else if (r == 3) comment(); else function_()
        }
        emit("#endif /* " g " */"); emit("")
    }
}
