import CZlib
#if canImport(SluiceCore)
import SluiceCore
#endif

/// Slow, obviously right models of what stages do, as oracles for tests and fuzzers.
public enum Reference {
    /// `grep -F` line by line: each line of `text` (the last one given a newline) that
    /// contains one of `patterns` (with -i, -x, -w as GNU grep reads them), or, with
    /// `invert`, that contains none; at most `max` lines.
    public static func grepFixed(_ text: [UInt8], _ patterns: [[UInt8]], invert: Bool = false,
                                 ignoreCase: Bool = false, line: Bool = false, word: Bool = false,
                                 max: Int? = nil) -> [UInt8] {
        var lines = text.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
        if text.last == 0x0A || text.isEmpty { lines.removeLast() }
        let fold = { (b: [UInt8]) in ignoreCase ? b.map(lower) : b }
        var out: [UInt8] = []
        var selected = 0
        for l in lines {
            let t = fold(l)
            let hit = patterns.contains { matches(t, fold($0), line: line, word: word) }
            if hit != invert {
                if let max, selected == max { break }
                out += l + [0x0A]
                selected += 1
            }
        }
        return out
    }

    /// zlib's own decoding of `data` as one or more whole gzip members and nothing else
    /// (no padding, no trailing bytes); nil when zlib does not read it so, or when the
    /// output passes `limit` bytes.
    public static func gunzipMembers(_ data: [UInt8], limit: Int = 64 << 20) -> [UInt8]? {
        if data.isEmpty { return nil }
        var result: [UInt8] = []
        var rest = data[...]
        while !rest.isEmpty {
            var s = z_stream()
            guard sluice_inflateInit2(&s, 31) == Z_OK else { return nil }
            defer { inflateEnd(&s) }
            var input = Array(rest)
            var buffer = [UInt8](repeating: 0, count: 1 << 16)
            var status: Int32 = Z_OK
            let consumed: Int = input.withUnsafeMutableBufferPointer { inp in
                s.next_in = inp.baseAddress
                s.avail_in = uInt(inp.count)
                while status == Z_OK && result.count <= limit {
                    buffer.withUnsafeMutableBufferPointer { b in
                        s.next_out = b.baseAddress
                        s.avail_out = uInt(b.count)
                        status = inflate(&s, Z_NO_FLUSH)
                    }
                    result += buffer.prefix(buffer.count - Int(s.avail_out))
                }
                return inp.count - Int(s.avail_in)
            }
            if status != Z_STREAM_END { return nil }
            rest = rest.dropFirst(consumed)
        }
        return result
    }

    private static func matches(_ t: [UInt8], _ p: [UInt8], line: Bool, word: Bool) -> Bool {
        if line { return t == p }
        if p.isEmpty && !word { return true }
        var i = 0
        while i + p.count <= t.count {
            if Array(t[i..<(i + p.count)]) == p {
                let before = i == 0 || !isWord(t[i - 1])
                let after = i + p.count == t.count || !isWord(t[i + p.count])
                if !word || (before && after) { return true }
            }
            i += 1
        }
        return false
    }

    private static func lower(_ c: UInt8) -> UInt8 { (0x41...0x5A).contains(c) ? c + 0x20 : c }

    private static func isWord(_ c: UInt8) -> Bool {
        (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) || c == 0x5F
    }
}
