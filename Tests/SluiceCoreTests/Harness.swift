import Glibc
@testable import SluiceCore
import SluiceTestSupport

/// The chunk sizes every stage case runs at: boundaries break stream code.
let chunkSizes = StageHarness.chunkSizes

extension Array where Element == UInt8 {
    init(_ s: String) { self = Array(s.utf8) }
}

/// Deterministic pseudo-random bytes (xorshift), so failures are reproducible.
func pseudoRandomBytes(_ count: Int, seed: UInt64 = 0x9E3779B97F4A7C15) -> [UInt8] {
    var x = seed
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out[i] = UInt8(truncatingIfNeeded: x)
    }
    return out
}
