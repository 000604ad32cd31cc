import Glibc
@testable import SluiceCore
import SluiceTestSupport

/// The chunk sizes every stage case runs at: boundaries break stream code.
let chunkSizes = StageHarness.chunkSizes

extension Array where Element == UInt8 {
    init(_ s: String) { self = Array(s.utf8) }
}
