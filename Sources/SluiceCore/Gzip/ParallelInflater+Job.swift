import Glibc

extension ParallelInflater {
    /// One member of a job: where its bytes are in the job's input, and where its output
    /// goes.
    struct Member {
        /// The member's 1-based number in the stream, and the offset of its first byte.
        var number: Int
        var start: Int
        /// Its compressed bytes: `inputCount` of them at `inputOffset` in the job's input.
        var inputOffset: Int
        var inputCount: Int
        /// Its output, as long as its trailer's ISIZE says: `outputCount` bytes at
        /// `outputOffset` in the job's output region `region`.
        var region: Int
        var outputOffset: Int
        var outputCount: Int
        /// The CRC-32 its trailer gives.
        var storedCRC: UInt32

        var outputEnd: Int { outputOffset + outputCount }
    }

    /// Where a job's output goes: `regionCount` regions of `regionBytes` each, a member's
    /// output whole in one of them. With `isChunks`, a region is a chunk from the pool,
    /// forwarded as it is; else the job has one region, a buffer of its own, copied out.
    struct OutputLayout: Equatable {
        var regionBytes: Int
        var regionCount: Int
        var isChunks: Bool

        /// For a pool of `chunkBytes` chunks.
        init(chunkBytes: Int) {
            isChunks = ParallelInflater.decodesIntoChunks(chunkBytes)
            regionBytes = isChunks ? chunkBytes : ParallelInflater.jobOutputBytes
            regionCount = isChunks ? max(1, ParallelInflater.jobOutputBytes / chunkBytes) : 1
        }
    }

    /// A job: a batch of consecutive whole members, decoded by one worker in one go, so
    /// that the dispatcher and the workers hand over once per batch, not once per member.
    ///
    /// The dispatcher fills it: each member's bytes are collected at the end of `input`;
    /// once whole, and eligible, the member joins the batch (`acceptCollected`), its output
    /// placed after the one before it. The batch is submitted when it has no room left
    /// for another member of the largest size (64 KiB in, 64 KiB out), or when the
    /// dispatcher must write everything out (input pauses, a member that is not eligible,
    /// the end); never while a member is half collected, so that a worker never sees the
    /// dispatcher write into a job it owns.
    final class Job: PoolJob {
        /// The batch's members' bytes, then those of the member being collected: `inputCount`
        /// bytes of `jobInputBytes`.
        let input: UnsafeMutableRawPointer
        private(set) var inputCount = 0
        /// The batch, in stream order; at most `maxMembersPerJob`, their bytes contiguous
        /// from the start of `input`.
        private(set) var members: [Member] = []
        /// The member being collected starts at `collectingOffset` in `input` (the end of the
        /// batch's last member), and is member `collectingNumber` at stream offset
        /// `collectingStart`.
        private var collectingOffset = 0
        private var collectingNumber = 0
        private var collectingStart = 0
        /// The worker vouches for `members[..<cleanCount]`: it stops at the first member
        /// that is not exactly one good member.
        var cleanCount = 0
        let layout: OutputLayout
        /// With chunk output: each region's chunk, taken from the pool by the worker on
        /// first use and by the dispatcher to forward it.
        var chunks: [Chunk?]
        /// Without: the one region, `layout.regionBytes`.
        let ownOutput: UnsafeMutableRawPointer?
        /// Never set: a member the worker cannot vouch for is read sequentially, which
        /// names the error.
        var failure: String? { nil }

        init(layout: OutputLayout) {
            self.layout = layout
            input = .allocate(byteCount: ParallelInflater.jobInputBytes, alignment: 64)
            chunks = Array(repeating: nil, count: layout.isChunks ? layout.regionCount : 0)
            ownOutput = layout.isChunks ? nil : .allocate(byteCount: layout.regionBytes, alignment: 64)
            members.reserveCapacity(ParallelInflater.maxMembersPerJob)
        }

        deinit {
            input.deallocate()
            ownOutput?.deallocate()
        }

        // MARK: Filling (the dispatcher)

        /// Bytes of the member being collected have been appended.
        var isCollecting: Bool { inputCount > collectingOffset }

        /// The member being collected, so far.
        var collected: UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: input + collectingOffset, count: inputCount - collectingOffset)
        }

        /// The collected member's trailer (it must be whole).
        var collectedLength: UInt32 { UInt32(littleEndianAt: input + inputCount - 4) }
        var collectedCRC: UInt32 { UInt32(littleEndianAt: input + inputCount - 8) }

        /// Starts collecting member `number`, which begins at stream offset `start`.
        func beginMember(number: Int, start: Int) {
            (collectingNumber, collectingStart) = (number, start)
        }

        /// Appends bytes of the member being collected (never more than `memberBytes` in all:
        /// `hasRoom` held when it began).
        func append(_ bytes: UnsafeRawBufferPointer) {
            memcpy(input + inputCount, bytes.baseAddress!, bytes.count)
            inputCount += bytes.count
        }

        /// The collected member, whole, with at most `memberBytes` of output, joins the batch.
        /// Returns true when the batch has no room for another member: submit it.
        func acceptCollected() -> Bool {
            let length = Int(collectedLength)
            var (region, offset) = members.last.map { ($0.region, $0.outputEnd) } ?? (0, 0)
            if offset + length > layout.regionBytes { (region, offset) = (region + 1, 0) }
            members.append(Member(number: collectingNumber, start: collectingStart, inputOffset: collectingOffset,
                                  inputCount: inputCount - collectingOffset, region: region, outputOffset: offset,
                                  outputCount: length, storedCRC: collectedCRC))
            collectingOffset = inputCount
            return !hasRoom
        }

        /// Room for one more member of any eligible size, in and out.
        var hasRoom: Bool {
            guard members.count < ParallelInflater.maxMembersPerJob,
                  ParallelInflater.jobInputBytes - inputCount >= ParallelInflater.memberBytes else { return false }
            guard let last = members.last else { return true }
            return last.outputEnd + ParallelInflater.memberBytes <= layout.regionBytes
                || last.region + 1 < layout.regionCount
        }

        /// Where the sequential decoder starts when it takes over at `members[index]` (at
        /// `members.count`: the member being collected), and the bytes it reads from there.
        func restart(at index: Int) -> (number: Int, start: Int, bytes: UnsafeRawBufferPointer) {
            let (number, start, offset) = index < members.count
                ? (members[index].number, members[index].start, members[index].inputOffset)
                : (collectingNumber, collectingStart, collectingOffset)
            return (number, start, UnsafeRawBufferPointer(start: input + offset, count: inputCount - offset))
        }

        /// Empties the job for the next batch (its chunks stay, for reuse).
        func reset() {
            inputCount = 0
            members.removeAll(keepingCapacity: true)
            collectingOffset = 0
            cleanCount = 0
        }

        // MARK: Output

        /// Where region `region` starts: its chunk (taken from `pool` if it has none yet), or
        /// the job's own buffer.
        func outputBase(region: Int, from pool: ChunkPool?) -> UnsafeMutableRawPointer {
            guard let pool else { return ownOutput! }
            if let chunk = chunks[region] { return chunk.base }
            let chunk = pool.take()
            chunks[region] = chunk
            return chunk.base
        }

        /// How many regions the clean members' output touches.
        var cleanRegionCount: Int { cleanCount == 0 ? 0 : members[cleanCount - 1].region + 1 }

        /// Bytes of region `region` that the clean members fill, from its start.
        func cleanBytes(inRegion region: Int) -> Int {
            var end = 0
            for member in members.prefix(cleanCount) where member.region == region { end = member.outputEnd }
            return end
        }
    }
}
