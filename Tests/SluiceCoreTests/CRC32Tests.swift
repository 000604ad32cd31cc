import CSys
import CZlib
import Testing
@testable import SluiceCore
import SluiceTestSupport

/// sluice's crc32 folds 16-byte blocks with PCLMULQDQ where the CPU has it (VPCLMULQDQ on
/// 512-bit registers from 256 bytes on, where it has that): held to zlib's
/// table-driven crc32 at every length where the fold's edges fall (under 64 bytes it is not
/// used; then whole blocks plus a tail of 0 to 15), at every alignment, from any start value.
@Suite struct CRC32Tests {
    static func zlib(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        UInt32(CZlib.crc32(uLong(crc), bytes.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(bytes.count)))
    }

    @Test func matchesZlibAtEveryLengthAndAlignment() {
        let bytes = pseudoRandomBytes(3_000 + 16, seed: 7)
        bytes.withUnsafeBytes { all in
            for offset in 0..<16 {
                for count in 0...3_000 {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)])
                    let start = UInt32(truncatingIfNeeded: count &* 2_654_435_761)
                    #expect(crc32(start, slice) == Self.zlib(start, slice), "offset \(offset), \(count) bytes")
                    if crc32(start, slice) != Self.zlib(start, slice) { return }
                }
            }
        }
    }

    /// `crc32` takes the 512-bit fold from 256 bytes on where the CPU has VPCLMULQDQ, so the
    /// 128-bit fold is held to zlib here directly, at the lengths it no longer sees there.
    @Test func bothFoldsMatchZlib() throws {
        try #require(sluice_crc32_has_clmul() != 0, "no PCLMULQDQ: crc32 is zlib's")
        let bytes = pseudoRandomBytes(3_000 + 16, seed: 13)
        bytes.withUnsafeBytes { all in
            for offset in [0, 1, 7, 8, 15] {
                for count in stride(from: 64, through: 3_000, by: 16) {
                    let slice = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + count)])
                    let start = UInt32(truncatingIfNeeded: count &* 2_654_435_761)
                    let p = slice.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    let want = Self.zlib(start, slice)
                    #expect(~sluice_crc32_fold(p, count, ~start) == want, "128-bit, offset \(offset), \(count) bytes")
                    if count >= 256 && sluice_crc32_has_vpclmul() != 0 {
                        #expect(~sluice_crc32_fold_wide(p, count, ~start) == want, "512-bit, offset \(offset), \(count) bytes")
                    }
                }
            }
        }
    }

    @Test func matchesZlibOnLargeBuffersAndInPieces() {
        let bytes = pseudoRandomBytes(1 << 20, seed: 11)
        bytes.withUnsafeBytes { all in
            #expect(crc32(0, all) == Self.zlib(0, all))
            // Fed in uneven pieces, as the checker thread feeds chunks.
            var running: UInt32 = 0, at = 0, step = 1
            while at < all.count {
                let end = min(all.count, at + step)
                running = crc32(running, UnsafeRawBufferPointer(rebasing: all[at..<end]))
                at = end
                step = step * 3 + 1
            }
            #expect(running == Self.zlib(0, all))
        }
        #expect(crc32(0, UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
        // The standard check value of CRC-32: "123456789" -> 0xCBF43926.
        let check = Array("123456789123456789123456789123456789123456789123456789123456789123456789".utf8)
        check.withUnsafeBytes { #expect(crc32(0, $0) == Self.zlib(0, $0)) }
    }
}
