import Testing
@testable import SluiceCore
import SluiceTestSupport

/// `gunzip -p` decodes BGZF members in batches (`ParallelInflater.Job`): how a batch is
/// packed, and the stage at a batch's edges (damage inside one, a batch cut by the end
/// of input or by a member that is not BGZF), always against one thread.
@Suite struct BGZFBatchTests {
    /// 1 and 7: a job's own output buffer; 65536: four one-block chunks per job; 131072
    /// (the default): two chunks of two blocks each. Chunk size 1 costs some 8 µs per
    /// output byte in a debug build, so it runs only where at most three blocks come out.
    static let sizes = [1, 7, 65536, 131072]
    static func sizes(blocksOut: Int) -> [Int] { blocksOut <= 3 ? sizes : Array(sizes.dropFirst()) }
    static let blockBytes = BGZF.blockInputBytes
    /// Five full blocks of text and a short one: at these chunk sizes a job takes four
    /// full blocks, so the batches are [1-4] [5, 6, end of file].
    static let payload = Array(GzipFixture.text(9000).prefix(5 * blockBytes + 5000))
    static let members = BGZFFixture.members(BGZFFixture.file(payload, blockBytes: blockBytes))

    /// Offset of member `k` (1-based) in `members`.
    static func start(_ k: Int) -> Int { members.prefix(k - 1).reduce(0) { $0 + $1.count } }

    /// The first `k` members' output.
    static func output(_ k: Int) -> [UInt8] { Array(payload.prefix(k * blockBytes)) }

    /// Runs the stage with one thread and with two at every chunk size in `sizes`: every
    /// run must give the same output and the same end; returns that end and output.
    func decode(_ data: [UInt8], sizes: [Int] = sizes, sourceLocation: SourceLocation = #_sourceLocation) -> (StageEnd, [UInt8]) {
        let reference = StageHarness.run(try! GunzipStage(), input: data, chunkSize: 4096)
        for threads in [1, 2] {
            for (size, r) in StageHarness.runAtAllSizes(data, sizes: sizes, { try! GunzipStage(threads: threads) }) {
                #expect(r.end == reference.end, "\(threads) threads, chunk \(size): \(r.end)", sourceLocation: sourceLocation)
                expectBytes(r.output, reference.output, "\(threads) threads, chunk \(size)", sourceLocation: sourceLocation)
            }
        }
        return (reference.end, reference.output)
    }

    /// `got == want`, told by the first byte that differs: Swift Testing would diff the
    /// two arrays, which takes minutes at these sizes.
    func expectBytes(_ got: [UInt8], _ want: [UInt8], _ what: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation) {
        let isSame = got == want
        let at = zip(got, want).enumerated().first { $1.0 != $1.1 }?.offset ?? min(got.count, want.count)
        #expect(isSame, "\(what): \(got.count) bytes, want \(want.count), first difference at \(at)",
                sourceLocation: sourceLocation)
    }

    // MARK: Packing

    /// Members added to a fresh job until it says it is full; returns how many it took.
    func fill(_ job: ParallelInflater.Job, with member: [UInt8]) -> Int {
        var count = 0
        while true {
            job.beginMember(number: count + 1, start: count * member.count)
            member.withUnsafeBytes { job.append($0) }
            count += 1
            if job.acceptCollected() { return count }
        }
    }

    /// Four at the sizes the tests run at (and two with 100000-byte chunks: two chunks
    /// of one block each).
    @Test(arguments: [(1, 4), (7, 4), (65536, 4), (100_000, 2), (131072, 4), (262144, 4), (1 << 20, 4)])
    func aJobTakesFullBlocksWhileThereIsRoom(_ chunkBytes: Int, _ count: Int) {
        let job = ParallelInflater.Job(layout: .init(chunkBytes: chunkBytes))
        #expect(fill(job, with: Self.members[0]) == count)
        let layout = job.layout
        for (i, member) in job.members.enumerated() {
            #expect(member.outputCount == Self.blockBytes && member.outputEnd <= layout.regionBytes)
            #expect(member.number == i + 1 && member.inputOffset == i * Self.members[0].count)
            if i > 0, member.region == job.members[i - 1].region {
                #expect(member.outputOffset == job.members[i - 1].outputEnd)
            } else if i > 0 {
                #expect(member.region == job.members[i - 1].region + 1 && member.outputOffset == 0)
            }
        }
    }

    @Test func incompressibleBlocksAreTwoToAJob() {
        let member = BGZFFixture.member(pseudoRandomBytes(Self.blockBytes))
        #expect(member.count > Self.blockBytes)
        #expect(fill(ParallelInflater.Job(layout: .init(chunkBytes: 131072)), with: member) == 2)
    }

    @Test func emptyMembersFillTheTable() {
        let job = ParallelInflater.Job(layout: .init(chunkBytes: 131072))
        #expect(fill(job, with: BGZFFixture.endOfFile) == ParallelInflater.maxMembersPerJob)
    }

    /// The formula the man page states: 3N jobs of 128 KiB in, max(1, 256 KiB / chunk)
    /// chunks (or 256 KiB of its own) out and 8 KiB of table, and 48 KiB of zlib a thread.
    @Test func heldBytesIsTheStatedFormula() {
        let k = 1 << 10
        #expect(ParallelInflater.heldBytes(threads: 2, chunkBytes: 128 * k)
                == 3 * 2 * (128 * k + 2 * (128 * k + 192) + 8 * k) + 2 * 48 * k)
        #expect(ParallelInflater.heldBytes(threads: 3, chunkBytes: 64 * k)
                == 3 * 3 * (128 * k + 4 * (64 * k + 192) + 8 * k) + 3 * 48 * k)
        for chunk in [7, 1 << 20] {
            #expect(ParallelInflater.heldBytes(threads: 2, chunkBytes: chunk)
                    == 3 * 2 * (128 * k + 256 * k + 8 * k) + 2 * 48 * k)
        }
    }

    // MARK: The stage at a batch's edges

    /// The second batch is cut by the end of input.
    @Test func wholeFile() {
        let (end, output) = decode(Self.members.flatMap { $0 })
        #expect(end == .finished)
        expectBytes(output, Self.payload)
    }

    /// A damaged member first, inside, last in a batch, or first in the next: the error
    /// names it; the members before it are written (all of a member whose CRC or length
    /// is wrong), nothing after it.
    @Test(arguments: [1, 2, 4, 5, 6], ["crc", "length", "body", "header"])
    func damagedMemberInABatch(_ k: Int, _ damage: String) {
        var members = Self.members
        let n = members[k - 1].count, start = Self.start(k)
        switch damage {
        case "crc": members[k - 1][n - 8] ^= 0xff
        case "length": members[k - 1][n - 4] ^= 0x01
        case "body": for i in 20..<min(40, n - 8) { members[k - 1][i] = 0xff }
        default: members[k - 1][2] = 7
        }
        let (end, output) = decode(members.flatMap { $0 }, sizes: Self.sizes(blocksOut: k))
        guard case .failed(let message) = end else {
            Issue.record("member \(k), \(damage): ended \(end)")
            return
        }
        switch damage {
        case "crc":
            #expect(message.hasPrefix("CRC mismatch in member \(k) at byte \(start + n - 8) "), "\(message)")
            expectBytes(output, Self.output(k))
        case "length":
            #expect(message.hasPrefix("length mismatch in member \(k) at byte \(start + n - 4) "), "\(message)")
            expectBytes(output, Self.output(k))
        case "body":
            // zlib's own reason, at the offset where zlib, given the whole body, stops.
            let (reason, used) = GzipFixture.inflateError(Array(members[k - 1][18..<(n - 8)]))
            #expect(message == "\(reason) in member \(k) at byte \(start + 18 + used)")
            #expect(Bool(output.starts(with: Self.output(k - 1)) && Self.payload.starts(with: output)))
        default:
            #expect(message == "unknown compression method 7 in member \(k) at byte \(start + 2)")
            expectBytes(output, Self.output(k - 1))
        }
    }

    /// A member whose data holds a byte more than its trailer says, with the CRC of the
    /// bytes the trailer counts: a worker, whose inflate has room past ISIZE, must not
    /// vouch for it (the CRC alone would pass it); read sequentially, the CRC over all
    /// its bytes names it.
    @Test(arguments: [2, 4])
    func aMemberLongerThanItsTrailerSays(_ k: Int) {
        var members = Self.members
        let block = Array(Self.payload[((k - 1) * Self.blockBytes)..<(k * Self.blockBytes)])
        var long = BGZFFixture.member(block + [0x0A])
        let crc = block.withUnsafeBytes { crc32(0, $0) }
        for i in 0..<4 {
            long[long.count - 8 + i] = UInt8(truncatingIfNeeded: crc >> (8 * i))
            long[long.count - 4 + i] = UInt8(truncatingIfNeeded: UInt32(block.count) >> (8 * i))
        }
        members[k - 1] = long
        let (end, output) = decode(members.flatMap { $0 }, sizes: Self.sizes(blocksOut: k))
        #expect(end.message?.hasPrefix("CRC mismatch in member \(k) ") == true, "\(end)")
        expectBytes(output, Self.output(k) + [0x0A])
    }

    /// The end of input after some members, with or without the end-of-file member: a
    /// batch cut short is a whole stream.
    @Test(arguments: [(1, true), (3, false), (4, true), (4, false), (5, false), (6, false)])
    func batchCutByEndOfInput(_ count: Int, _ endOfFile: Bool) {
        let data = Self.members.prefix(count).flatMap { $0 } + (endOfFile ? BGZFFixture.endOfFile : [])
        let (end, output) = decode(data, sizes: Self.sizes(blocksOut: count))
        #expect(end == .finished)
        expectBytes(output, Self.output(count))
    }

    /// Input cut inside a member of a batch (its header, its data, its trailer) names that
    /// member and the cut; cut between two members, it is a whole stream.
    @Test(arguments: [(2, 10), (2, -1), (3, 200), (4, -5), (5, 17), (6, 100), (6, -8)])
    func truncatedInABatch(_ k: Int, _ into: Int) {
        let n = Self.members[k - 1].count
        let cut = Self.start(k) + (into >= 0 ? into : n + into)
        let (end, output) = decode(Array(Self.members.flatMap { $0 }.prefix(cut)), sizes: Self.sizes(blocksOut: k))
        #expect(end == .failed("unexpected end of input in member \(k) at byte \(cut)"))
        #expect(Bool(output.starts(with: Self.output(k - 1)) && Self.payload.starts(with: output)))
    }

    /// Plain gzip members (no size) after part of a batch, after a full batch, and a
    /// damaged one: the BGZF members before each are written, then the plain one is read
    /// sequentially, and what follows goes back to the threads.
    @Test func plainMembersAfterBGZFMembers() {
        let plain = GzipFixture.text(700), m = Self.members
        // Three members then a plain one; four more (a full batch), another plain one.
        let data = m[0..<3].flatMap { $0 } + GzipFixture.deflate(plain) + m[1..<5].flatMap { $0 }
            + GzipFixture.deflate(plain) + m[5...].flatMap { $0 }
        let want = Self.output(3) + plain + Array(Self.payload[Self.blockBytes..<(5 * Self.blockBytes)]) + plain
            + Array(Self.payload[(5 * Self.blockBytes)...])
        let (end, output) = decode(data, sizes: Self.sizes(blocksOut: 9))
        #expect(end == .finished)
        expectBytes(output, want)

        var bad = GzipFixture.deflate(plain)
        bad[bad.count - 6] ^= 0x10
        let badAt = Self.start(4) + bad.count - 8
        let (badEnd, badOutput) = decode(m[0..<3].flatMap { $0 } + bad + m[3...].flatMap { $0 })
        #expect(badEnd.message?.hasPrefix("CRC mismatch in member 4 at byte \(badAt) ") == true, "\(badEnd)")
        expectBytes(badOutput, Self.output(3) + plain)
    }
}
