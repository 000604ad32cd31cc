import CSys
import Glibc

// Where a line begins and ends around an offset in a buffer of lines: grep finds a
// match first and then its line; head and tail count lines with them.

/// Start of the line holding `hit`: just after the previous newline, not before `floor`.
@inline(__always) func lineStart(_ base: UnsafeRawPointer, _ hit: Int, floor: Int) -> Int {
    guard hit > floor, let nl = memrchr(base + floor, 0x0A, hit - floor) else { return floor }
    return base.distance(to: UnsafeRawPointer(nl)) + 1
}

/// End of the line starting at or holding `from`: just past its newline.
@inline(__always) func lineEnd(_ base: UnsafeRawPointer, _ count: Int, _ from: Int) -> Int {
    guard let nl = memchr(base + from, 0x0A, count - from) else { return count }
    return base.distance(to: UnsafeRawPointer(nl)) + 1
}
