import CSys
import Glibc

// Where a line begins and ends around an offset in a buffer of lines: grep finds a
// match first and then its line; head and tail count lines with them. A line ends with
// its `separator`: "\n", or NUL for `grep -z`'s records.

/// Start of the line holding `hit`: just after the previous separator, not before `floor`.
@inline(__always) func lineStart(_ base: UnsafeRawPointer, _ hit: Int, floor: Int, separator: UInt8 = 0x0A) -> Int {
    guard hit > floor, let nl = memrchr(base + floor, Int32(separator), hit - floor) else { return floor }
    return base.distance(to: UnsafeRawPointer(nl)) + 1
}

/// End of the line starting at or holding `from`: just past its separator.
@inline(__always) func lineEnd(_ base: UnsafeRawPointer, _ count: Int, _ from: Int, separator: UInt8 = 0x0A) -> Int {
    guard let nl = memchr(base + from, Int32(separator), count - from) else { return count }
    return base.distance(to: UnsafeRawPointer(nl)) + 1
}

// The one newline search: every stage and buffer that looks for a line's end asks these.

/// Just past the first `separator` in `bytes` at or after `from`; nil if there is none.
@inline(__always) func firstLineEnd(_ bytes: UnsafeRawBufferPointer, from: Int = 0, separator: UInt8 = 0x0A) -> Int? {
    guard let base = bytes.baseAddress, from < bytes.count,
          let nl = memchr(base + from, Int32(separator), bytes.count - from) else { return nil }
    return base.distance(to: UnsafeRawPointer(nl)) + 1
}

/// Just past the last `separator` in `bytes` at or after `from`; nil if there is none.
@inline(__always) func lastLineEnd(_ bytes: UnsafeRawBufferPointer, from: Int = 0, separator: UInt8 = 0x0A) -> Int? {
    guard let base = bytes.baseAddress, from < bytes.count,
          let nl = memrchr(base + from, Int32(separator), bytes.count - from) else { return nil }
    return base.distance(to: UnsafeRawPointer(nl)) + 1
}

/// Over `chunks` seen as one run of bytes: just past the first newline at or after
/// offset `from`; nil if there is none.
func firstLineEndAcross(_ chunks: [Chunk], from: Int) -> Int? {
    var position = 0
    for chunk in chunks {
        defer { position += chunk.count }
        guard position + chunk.count > from else { continue }
        if let end = firstLineEnd(chunk.bytes, from: max(0, from - position)) { return position + end }
    }
    return nil
}

/// Over `chunks` seen as one run of bytes: just past the last newline in `from ..< upTo`;
/// nil if there is none.
func lastLineEndAcross(_ chunks: [Chunk], from: Int = 0, upTo limit: Int) -> Int? {
    var starts: [Int] = []
    var position = 0
    for chunk in chunks {
        starts.append(position)
        position += chunk.count
    }
    for (i, chunk) in chunks.enumerated().reversed() where starts[i] < limit && starts[i] + chunk.count > from {
        let bytes = UnsafeRawBufferPointer(rebasing: chunk.bytes[..<min(chunk.count, limit - starts[i])])
        if let end = lastLineEnd(bytes, from: max(0, from - starts[i])) { return starts[i] + end }
    }
    return nil
}

/// How many times `byte` occurs in `bytes`: SSE2 in C (`CSys/count.h`), where the plain
/// Swift loop was measured at a sixth of the speed.
@inline(__always) func count(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    return sluice_count_byte(base.assumingMemoryBound(to: UInt8.self), bytes.count, byte)
}
