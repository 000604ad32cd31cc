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

/// How many times `byte` occurs in `bytes`; a plain loop the compiler vectorises.
@inline(__always) func count(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int {
    var n = 0
    for b in bytes { n &+= b == byte ? 1 : 0 }
    return n
}
