import Testing
@testable import SluiceCore

/// `exec -j`'s block cutter on its own: the blocks hold the stream's bytes in order, cut
/// after a newline, in no more chunks than `memoryBound` counts, however the chunks came.
@Suite struct BlockCutterTests {
    static let chunkBytes = 1024

    /// Lines of varied length, `count` bytes in all, the last ending with a newline.
    static func text(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var line = 0
        while bytes.count < count {
            let length = 1 + (line * 37) % 90
            bytes += Array(repeating: UInt8(ascii: "a") + UInt8(line % 26), count: length) + [0x0A]
            line += 1
        }
        bytes.removeLast(bytes.count - count)
        bytes[bytes.count - 1] = 0x0A
        return bytes
    }

    /// Feeds `input` in pieces of `piece` bytes, each in a chunk of its own (as reads of a
    /// pipe come), placed `skew` bytes into the chunk; returns the blocks cut.
    static func cut(_ input: [UInt8], blockBytes: Int, piece: Int, skew: Int = 0) throws -> [Block] {
        let pool = ChunkPool(chunkBytes: chunkBytes, maxIdleChunks: 1 << 20)
        var cutter = BlockCutter(blockBytes: blockBytes, maxLineBytes: blockBytes, pool: pool)
        var blocks: [Block] = []
        var at = 0
        while at < input.count {
            let chunk = pool.take()
            chunk.start = skew
            let n = min(piece, input.count - at)
            input[at..<(at + n)].withUnsafeBytes { _ = chunk.append($0) }
            at += n
            cutter.add(chunk)
            while let block = try cutter.nextBlock() { blocks.append(block) }
        }
        if let last = cutter.finish() { blocks.append(last) }
        return blocks
    }

    @Test(arguments: [(1, 0), (7, 0), (300, 5), (1000, 24), (1024, 0), (1500, 0)])
    func blocksArePackedWhateverSizeTheChunksCameIn(piece: Int, skew: Int) throws {
        let input = Self.text(50_000)
        let blockBytes = 4096
        let blocks = try Self.cut(input, blockBytes: blockBytes, piece: min(piece, Self.chunkBytes - skew), skew: skew)
        var joined: [UInt8] = []
        var offset = 0
        let mostChunks = BlockCutter.memoryBound(blockBytes: blockBytes, maxLineBytes: blockBytes, chunkBytes: Self.chunkBytes)
            / (Self.chunkBytes + Chunk.overheadBytes)
        for block in blocks {
            #expect(block.offset == offset)
            #expect(block.byteCount <= blockBytes || block === blocks.last)
            #expect(block.chunks.count <= mostChunks, "a block of \(block.byteCount) bytes in \(block.chunks.count) chunks")
            let bytes = block.chunks.flatMap { Array($0.bytes) }
            #expect(bytes.count == block.byteCount)
            #expect(bytes.last == 0x0A)
            joined += bytes
            offset += block.byteCount
        }
        #expect(joined == input)
    }
}
