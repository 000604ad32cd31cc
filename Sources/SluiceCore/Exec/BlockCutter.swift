import CSys
import Glibc

/// Whole lines of the stream for one command of `exec -j`: the chunks that hold them, in
/// order, and where in the stream the first of them starts.
///
/// Ownership: the dispatcher's while it is being cut, then the worker's that runs it,
/// which recycles each chunk once written to the command. `sequence` and `offset` never
/// change after the cut.
final class Block {
    /// The block's bytes, in order; every chunk but the last ends inside or at the end
    /// of a line, the last one ends with a newline (or is the end of the stream).
    var chunks: [Chunk] = []
    /// Sum of the chunks' `count`.
    var byteCount = 0
    /// Offset in the stream (exec's input) of the block's first byte, for messages.
    let offset: Int

    init(offset: Int) { self.offset = offset }

    func append(_ chunk: Chunk) {
        chunks.append(chunk)
        byteCount += chunk.count
    }

    /// Returns every chunk to `pool`.
    func recycle(to pool: ChunkPool) {
        for chunk in chunks { pool.recycle(chunk) }
        chunks.removeAll()
        byteCount = 0
    }
}

/// Cuts the stream into line-aligned blocks as GNU parallel's `--pipe --block SIZE` does: a
/// block is the longest run of whole lines that fits in `blockBytes`; a line longer than
/// that is a block of its own, up to `maxLineBytes` (a longer one is an error, as in the
/// line stages). Zero copy for full chunks: those that came in are the block's; the part
/// of a chunk past a cut is copied into a new chunk for the next block, and chunks that
/// come in part full are packed (`add`).
///
/// Memory: the block being filled holds at most `max(blockBytes, maxLineBytes)` bytes and
/// the chunk just added, in full chunks but for its last (`add` packs them):
/// `memoryBound`, which is also the most any block cut from it takes.
struct BlockCutter {
    let blockBytes: Int
    let maxLineBytes: Int
    let pool: ChunkPool
    /// The block being filled: whole lines and at most one partial line at its end.
    private var filling = Block(offset: 0)
    /// True when `filling` has no newline in its first `blockBytes` bytes (its first line
    /// is longer): it then ends at the first newline past them.
    private var isOverlong = false
    /// While `isOverlong`: bytes of `filling` already searched for a newline.
    private var searchedBytes = 0

    init(blockBytes: Int, maxLineBytes: Int, pool: ChunkPool) {
        self.blockBytes = blockBytes
        self.maxLineBytes = maxLineBytes
        self.pool = pool
    }

    /// The most bytes of chunks the block being filled (or any block cut) takes.
    static func memoryBound(blockBytes: Int, maxLineBytes: Int, chunkBytes: Int) -> Int {
        let chunks = (max(blockBytes, maxLineBytes) + chunkBytes - 1) / chunkBytes + 3
        return Saturating.product(chunks, chunkBytes + Chunk.overheadBytes)
    }

    /// Takes `chunk`: the cutter owns it now. Follow with `nextBlock` until it returns
    /// nil, so that the cutter holds at most one block and a chunk.
    ///
    /// Chunks come as read(2) gave them: from a pipe, a few KiB in a chunk of the pool's
    /// capacity. Kept so, a 4 MiB block was 301 chunks, 37 MiB, where `memoryBound` counts
    /// 35 (`exec -j 2` went over its bound in test-stress). So the block is packed: the
    /// last chunk, if not full, is topped up from the new one, and what is left of that
    /// moves to its chunk's start, so every chunk of a block but its last is full. A copy
    /// only of chunks that come in part full; a file's full chunks still go in as they are.
    mutating func add(_ chunk: Chunk) {
        if let last = filling.chunks.last, !last.isFull, chunk.count > 0 {
            let taken = last.append(chunk.bytes)
            filling.byteCount += taken
            chunk.start += taken
            chunk.count -= taken
        }
        if chunk.count == 0 {
            pool.recycle(chunk)
            return
        }
        if chunk.start > 0 {
            memmove(chunk.base, chunk.base + chunk.start, chunk.count)
            chunk.start = 0
        }
        filling.append(chunk)
    }

    /// The next complete block, if the bytes added hold one. Throws for a line longer
    /// than `maxLineBytes`.
    mutating func nextBlock() throws(StageError) -> Block? {
        guard filling.byteCount > blockBytes else { return nil }
        guard let end = blockEnd() else {
            if filling.byteCount > maxLineBytes {
                throw .failed("line longer than \(Sizes.human(maxLineBytes)) at byte \(filling.offset) "
                    + "(raise --max-line)")
            }
            return nil
        }
        return cut(at: end)
    }

    /// Input went quiet: the whole lines held, as a block (nil if there are none), the
    /// partial line after them kept for the next. Also ends an overlong line's block, if
    /// its end has come.
    mutating func cutWholeLines() -> Block? {
        guard filling.byteCount > 0, let end = lastLineEndAcross(filling.chunks, upTo: filling.byteCount) else { return nil }
        return cut(at: end)
    }

    /// End of input: the last block, nil if nothing is left.
    mutating func finish() -> Block? {
        guard filling.byteCount > 0 else { return nil }
        let last = filling
        filling = Block(offset: last.offset + last.byteCount)
        return last
    }

    /// Gives back the chunks of the block being filled (the run ended early).
    mutating func discard() {
        filling.recycle(to: pool)
    }

    /// Where the block being filled ends (the offset in it just past a newline), if it
    /// can be told yet: after the last newline within `blockBytes`, else after the first
    /// newline past them.
    private mutating func blockEnd() -> Int? {
        if !isOverlong {
            if let end = lastLineEndAcross(filling.chunks, upTo: blockBytes) { return end }
            isOverlong = true
            searchedBytes = blockBytes
        }
        let end = firstLineEndAcross(filling.chunks, from: searchedBytes)
        searchedBytes = filling.byteCount
        return end
    }

    /// Ends the block being filled after its first `end` bytes; what follows starts the
    /// next one (the rest of a chunk cut in two copied into a chunk of its own).
    private mutating func cut(at end: Int) -> Block {
        let block = filling
        let next = Block(offset: block.offset + end)
        var position = 0
        var kept: [Chunk] = []
        for chunk in block.chunks {
            let count = chunk.count
            defer { position += count }
            if position >= end {
                next.append(chunk)
            } else if position + count <= end {
                kept.append(chunk)
            } else {
                let keep = end - position
                let rest = pool.take()
                rest.append(UnsafeRawBufferPointer(start: chunk.base + chunk.start + keep, count: count - keep))
                chunk.count = keep
                kept.append(chunk)
                next.append(rest)
            }
        }
        block.chunks = kept
        block.byteCount = end
        filling = next
        isOverlong = false
        searchedBytes = 0
        return block
    }
}
