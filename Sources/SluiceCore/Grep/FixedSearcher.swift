import Glibc

/// Finds a fixed byte string in a buffer, fast: the "packed pair" method ripgrep and
/// others use. Two bytes of the needle that are rare in text (by `byteRank`) are looked
/// for at their offsets, eight positions at a time in a 64-bit word; only positions
/// where both agree are checked in full. This runs at memory speed whatever the needle, where
/// glibc's memmem slows to about 1 GB/s for short needles. A one-byte needle is memchr.
struct FixedSearcher {
    let needle: [UInt8]
    /// Offsets in the needle of the rarer (`first`) and the other chosen byte.
    private let first: Int
    private let second: Int

    init(_ needle: [UInt8]) {
        self.needle = needle
        guard needle.count >= 2 else {
            first = 0
            second = 0
            return
        }
        let byRarity = needle.indices.sorted { (byteRank[Int(needle[$0])], $0) < (byteRank[Int(needle[$1])], $1) }
        let a = byRarity[0]
        let b = byRarity.dropFirst().first { needle[$0] != needle[a] } ?? byRarity[1]
        first = min(a, b)
        second = max(a, b)
    }

    /// The offset of the first occurrence starting in `[from, end - needle.count]`, or nil.
    func find(in haystack: UnsafeRawPointer, from: Int, end: Int) -> Int? {
        let m = needle.count
        if m == 0 { return from <= end ? from : nil }
        if end - from < m { return nil }
        if m == 1 {
            guard let hit = memchr(haystack + from, Int32(needle[0]), end - from) else { return nil }
            return haystack.distance(to: UnsafeRawPointer(hit))
        }
        return needle.withUnsafeBytes { n in pairSearch(haystack, from: from, end: end, n.baseAddress!) }
    }

    /// The pair scan, eight positions per step in a 64-bit word (SWAR): a byte of
    /// `word ^ repeated(b)` is zero where the byte equals b, and `(x - 0x01..) & ~x & 0x80..`
    /// marks the lowest zero byte of x exactly (higher marks may be false alarms from a
    /// borrow). Each marked position, lowest first, is checked in full with memcmp, so
    /// the first occurrence is found. (Swift's SIMD vector types measured 6 times slower
    /// here than this.)
    ///
    /// Unsafe on purpose, the hot loop of every literal search: raw loads and wrapping
    /// arithmetic, no bounds or overflow checks. Safe because the caller guarantees
    /// `0 <= from <= end <= ` the haystack's length, `first < second < m`, and
    /// `end - from >= m`, so no offset below can overflow and every load ends by `end`.
    private func pairSearch(_ h: UnsafeRawPointer, from: Int, end: Int, _ n: UnsafeRawPointer) -> Int? {
        let m = needle.count
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let c1 = n.load(fromByteOffset: first, as: UInt8.self)
        let b1 = UInt64(c1) &* ones
        let b2 = UInt64(n.load(fromByteOffset: second, as: UInt8.self)) &* ones
        let p1 = h + first, p2 = h + second
        var pos = from
        // Both 8-byte loads stay inside the buffer while pos <= last.
        let last = end &- second &- 8
        while pos <= last {
            // Two words a step, one branch for both, while nothing is marked.
            if pos &+ 8 <= last {
                let x1 = p1.loadUnaligned(fromByteOffset: pos, as: UInt64.self) ^ b1
                let x2 = p2.loadUnaligned(fromByteOffset: pos, as: UInt64.self) ^ b2
                let y1 = p1.loadUnaligned(fromByteOffset: pos &+ 8, as: UInt64.self) ^ b1
                let y2 = p2.loadUnaligned(fromByteOffset: pos &+ 8, as: UInt64.self) ^ b2
                let mx = ((x1 &- ones) & ~x1) & ((x2 &- ones) & ~x2) & highs
                let my = ((y1 &- ones) & ~y1) & ((y2 &- ones) & ~y2) & highs
                if mx | my == 0 {
                    pos &+= 16
                    continue
                }
            }
            // One word, each marked position checked in full, lowest first.
            let x1 = p1.loadUnaligned(fromByteOffset: pos, as: UInt64.self) ^ b1
            let x2 = p2.loadUnaligned(fromByteOffset: pos, as: UInt64.self) ^ b2
            var marks = ((x1 &- ones) & ~x1) & ((x2 &- ones) & ~x2) & highs
            while marks != 0 {
                let at = pos &+ (marks.trailingZeroBitCount &>> 3)
                if at &+ m <= end && memcmp(h + at, n, m) == 0 { return at }
                marks &= marks &- 1
            }
            pos &+= 8
        }
        while pos &+ m <= end {
            if p1.load(fromByteOffset: pos, as: UInt8.self) == c1 && memcmp(h + pos, n, m) == 0 { return pos }
            pos &+= 1
        }
        return nil
    }
}

/// How common each byte is in text and source code, 0 the rarest to 255 the most
/// common: measured on 64 MiB of Linux C sources and the licence and copyright texts of
/// a Debian system (space, 'e', 't', '_', 'i' most common; control bytes rarest).
let byteRank: [UInt8] = [
        0,   1,   2,   3,   4,   5,   6,   7,   8, 247, 249,   9, 146, 140,  10,  11,
        12,  13,  14,  15,  16,  17,  18,  19,  20,  21,  22,  23,  24,  25,  26,  27,
        255, 170, 203, 198, 161, 171, 181, 167, 231, 232, 230, 173, 234, 211, 216, 229,
        238, 215, 208, 200, 202, 186, 196, 184, 192, 180, 187, 225, 183, 209, 194, 162,
        165, 222, 193, 221, 207, 227, 199, 195, 189, 224, 164, 179, 213, 214, 210, 212,
        217, 169, 220, 223, 218, 197, 185, 178, 188, 177, 168, 175, 204, 174, 160, 252,
        159, 245, 226, 243, 242, 254, 237, 228, 233, 251, 166, 205, 241, 236, 246, 244,
        240, 182, 248, 250, 253, 239, 219, 201, 235, 206, 176, 191, 172, 190, 163,  28,
        154, 106, 120, 122, 115, 116, 123,  98, 129,  29,  77,  70,  85, 117,  86,  93,
        99,  78,  82, 107, 144,  90,  88,  30, 138, 152,  71, 100, 135, 131,  79, 114,
        148, 142, 103, 109, 145, 108,  97, 132, 112, 157,  87, 113,  80, 143, 136,  94,
        124, 149, 125, 141, 126, 137, 153,  91, 118,  81, 111, 133, 147, 134, 119, 104,
        31,  32, 158, 156, 139, 151,  95,  33,  83,  96,  34,  72,  35,  36, 130,  89,
        150, 128,  37,  38,  39,  40,  41, 110, 101, 102,  42,  43,  44,  45,  46,  47,
        127, 121, 155,  48,  73,  92,  74,  75,  76,  84,  49,  50,  51,  52,  53, 105,
        54,  55,  56,  57,  58,  59,  60,  61,  62,  63,  64,  65,  66,  67,  68,  69,
]

/// Folds `count` bytes at `p` to ASCII lower case, in place. Written as a plain loop,
/// which the compiler vectorises (about 12 GB/s here; Swift's SIMD types were far slower).
func foldInPlace(_ p: UnsafeMutableRawPointer, _ count: Int) {
    let bytes = p.assumingMemoryBound(to: UInt8.self)
    for i in 0..<count {
        let c = bytes[i]
        bytes[i] = c &- 0x41 < 26 ? c | 0x20 : c
    }
}
