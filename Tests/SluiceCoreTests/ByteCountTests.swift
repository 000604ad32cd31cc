import Testing
@testable import SluiceCore

/// `count(of:in:)`, the SSE2 byte count of `CSys/count.h`, against the plain loop: every
/// length to 600 (the 64-byte steps and the tail) at every alignment of a 16-byte load,
/// and past 255 steps, where its byte counters are summed and cleared.
@Suite struct ByteCountTests {
    static func plain(_ byte: UInt8, _ bytes: ArraySlice<UInt8>) -> Int { bytes.reduce(0) { $0 + ($1 == byte ? 1 : 0) } }

    @Test func agreesWithThePlainLoopAtEveryLengthAndAlignment() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let bytes: [UInt8] = (0..<700).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 59) | 0x08  // 0x08...0x1F: about 1 in 24 is 0x0A
        }
        bytes.withUnsafeBytes { all in
            for offset in 0..<16 {
                for length in 0...(600 - offset) {
                    let got = count(of: 0x0A, in: UnsafeRawBufferPointer(rebasing: all[offset..<(offset + length)]))
                    let want = Self.plain(0x0A, bytes[offset..<(offset + length)])
                    if got != want { Issue.record("offset \(offset) length \(length): \(got), not \(want)") }
                }
            }
        }
    }

    @Test func countsEveryByteOfALongRunOfHits() {
        // 64 × 255 bytes is one round of counters; every byte a hit fills them to 255.
        for length in [64 * 255 - 1, 64 * 255, 64 * 255 + 1, 64 * 600 + 13] {
            let bytes = [UInt8](repeating: 0x0A, count: length)
            #expect(bytes.withUnsafeBytes { count(of: 0x0A, in: $0) } == length)
            #expect(bytes.withUnsafeBytes { count(of: 0x0B, in: $0) } == 0)
        }
        #expect(count(of: 0x0A, in: UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }
}
