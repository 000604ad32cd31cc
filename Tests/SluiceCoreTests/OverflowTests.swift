import Testing
@testable import SluiceCore

/// The drop policies' mechanics, asked directly: no channel, no thread.
@Suite struct LineShedderTests {
    func admit(_ s: inout LineShedder, _ text: String, isFull: Bool, buffered: Int = 0,
               lowWaterMark: Int = 4) -> LineShedder.Admission {
        Array(text.utf8).withUnsafeBytes {
            s.admit($0, isFull: isFull, bufferedBytes: buffered, lowWaterMark: lowWaterMark)
        }
    }

    @Test func dropNewestKeepsWhileThereIsRoom() {
        var s = LineShedder(dropsOldest: false)
        #expect(admit(&s, "aaaa\nbb", isFull: false) == .keep(0..<7))
        #expect(s.producer == .inKeptLine)
        #expect(admit(&s, "b\n", isFull: false) == .keep(0..<2))
        #expect(s.producer == .atLineStart)
        #expect(s.droppedRecords == 0 && s.droppedBytes == 0)
    }

    @Test func dropNewestDropsWholeLinesAcrossChunks() {
        var s = LineShedder(dropsOldest: false)
        #expect(admit(&s, "cc\ndd", isFull: true) == .discard)
        #expect(s.producer == .inDroppedLine)
        #expect(s.droppedRecords == 1 && s.droppedBytes == 5)
        // Room again, but the line whose start was dropped is dropped to its end.
        #expect(admit(&s, "dd\neeee\n", isFull: false) == .keep(3..<8))
        #expect(s.droppedRecords == 2 && s.droppedBytes == 8)
        // A chunk all inside a dropped line is dropped whole.
        #expect(admit(&s, "ff", isFull: true) == .discard)
        #expect(admit(&s, "ffff", isFull: false) == .discard)
        #expect(s.droppedBytes == 14)
    }

    @Test func dropNewestCompletesAKeptLineFirst() {
        var s = LineShedder(dropsOldest: false)
        _ = admit(&s, "aaaaaaaa", isFull: false)
        // Full, with a kept line open: its end is kept, what follows dropped.
        #expect(admit(&s, "aa\nbb\n", isFull: true) == .keep(0..<3))
        #expect(s.droppedRecords == 1 && s.droppedBytes == 3)
        _ = admit(&s, "cccc", isFull: false)
        // A kept line that does not end in this chunk waits for room, whole.
        #expect(admit(&s, "cccc", isFull: true) == .waitForRoom)
        #expect(s.producer == .inKeptLine)
    }

    @Test func aDroppedLastLineCountsWhenTheStreamEnds() {
        var s = LineShedder(dropsOldest: false)
        #expect(admit(&s, "tail without newline", isFull: true) == .discard)
        #expect(s.droppedRecords == 0)
        s.streamEnded()
        #expect(s.droppedRecords == 1 && s.droppedBytes == 20)
        var kept = LineShedder(dropsOldest: false)
        _ = admit(&kept, "kept", isFull: false)
        kept.streamEnded()
        #expect(kept.droppedRecords == 0)
    }

    @Test func dropOldestMakesRoomDownToTheLowWaterMark() {
        var s = LineShedder(dropsOldest: true)
        #expect(admit(&s, "aaaa\n", isFull: false, buffered: 3) == .keep(0..<5))
        #expect(admit(&s, "dddd\n", isFull: true, buffered: 13, lowWaterMark: 6) == .makeRoom(7))
        #expect(admit(&s, "ee", isFull: true, buffered: 13, lowWaterMark: 6) == .makeRoom(7))
        #expect(s.producer == .inKeptLine)
    }

    @Test func dropOldestChoosesWholeLinesFromTheFront() {
        let pool = ChunkPool(chunkBytes: 4, maxIdleChunks: 8)
        let queue = QueuedBytes(["aaaa", "\nbbb", "b\ncc", "\n"].map { text in
            let chunk = pool.take()
            _ = Array(text.utf8).withUnsafeBytes { chunk.append($0) }
            return chunk
        })
        var s = LineShedder(dropsOldest: true)
        #expect(s.oldestLines(in: queue, toFree: 7) == 0..<10)  // "aaaa\nbbbb\n": reaching 7 takes both
        #expect(s.droppedRecords == 2 && s.droppedBytes == 10)
        #expect(s.oldestLines(in: queue, toFree: 1) == 0..<5)
        // The receiver is inside the first line: its end is kept, the drop starts after.
        s.isReceiverAtLineStart = false
        #expect(s.oldestLines(in: queue, toFree: 1) == 5..<10)
        // Asked for more than there is: every whole line but the receiver's.
        #expect(s.oldestLines(in: queue, toFree: 100) == 5..<13)
    }
}

/// The spill policy's mechanics, asked directly: no channel, no file, no thread.
@Suite struct SpillBacklogTests {
    @Test func memoryFirstThenDiskInOrder() {
        var b = SpillBacklog(maxBytes: 100)
        #expect(b.admit(10, isMemoryFull: false) == .memory)
        #expect(b.admit(10, isMemoryFull: true) == .disk(at: 0))
        b.appended(10, at: 0)
        // Once anything is on disk, newer bytes follow it there, room in memory or not.
        #expect(b.admit(20, isMemoryFull: false) == .disk(at: 10))
        b.appended(20, at: 10)
        #expect(b.backlogBytes == 30 && b.spilledBytes == 30 && b.peakBacklogBytes == 30)
        #expect(b.nextRead(chunkBytes: 16)! == (0, 16))
        b.readBack(16, from: 0)
        #expect(b.nextRead(chunkBytes: 16)! == (16, 14))
        b.readBack(14, from: 16)
        #expect(b.nextRead(chunkBytes: 16) == nil)
        #expect(b.backlogBytes == 0 && b.peakBacklogBytes == 30)
        #expect(b.admit(5, isMemoryFull: false) == .memory)
    }

    @Test func theSenderWaitsAtTheDiskLimit() {
        var b = SpillBacklog(maxBytes: 25)
        b.appended(20, at: 0)
        #expect(b.admit(10, isMemoryFull: true) == .wait)
        #expect(b.admit(5, isMemoryFull: true) == .disk(at: 20))
        // A chunk larger than the whole limit goes to memory once the disk is drained.
        b.readBack(20, from: 0)
        #expect(b.admit(30, isMemoryFull: true) == .memory)
    }

    @Test func aBrokenSpillBlocksAsAnOrdinaryBuffer() {
        var b = SpillBacklog(maxBytes: 100)
        b.appended(10, at: 0)
        b.broke()
        #expect(b.admit(10, isMemoryFull: false) == .wait)   // what is on disk goes first
        b.readBack(10, from: 0)
        #expect(b.admit(10, isMemoryFull: true) == .memory)  // then memory, which blocks
    }

    @Test func aCancelledBacklogIsNotReadBack() {
        var b = SpillBacklog(maxBytes: 100)
        b.appended(10, at: 0)
        b.discard()
        #expect(b.nextRead(chunkBytes: 64) == nil)
    }
}

/// One overflow value from the command line to the plan: a stage's own options over the
/// global ones over the defaults, each checked once.
@Suite struct OverflowOptionsTests {
    func plans(_ words: [String]) throws -> (GlobalOptions, [StagePlan]) {
        guard case .run(let g, let stages) = try CommandParser.parse(words) else { throw SluiceError.usage("no run") }
        let context = StageContext(chunkBytes: g.chunkBytes, maxLineBytes: g.maxLineBytes, diagnostics: Diagnostics())
        return (g, try StageRegistry.plans(for: stages, globals: g, context: context))
    }

    @Test func theGlobalPolicyIsEveryBuffersDefault() throws {
        let (g, p) = try plans(["--when-full=drop-oldest", "cat", "+", "grep", "--when-full", "block", "x", "+", "gzip"])
        #expect(g.inputBuffer.overflow == .dropOldest)
        // gzip's output is not lines: a global drop policy leaves it whole.
        #expect(p.map(\.buffer.overflow) == [.dropOldest, .block, .block])
    }

    @Test func spillCarriesItsDirectoryAndLimit() throws {
        let (g, p) = try plans(["--spill", "/var/tmp", "cat", "+", "cat", "--spill-max", "4M", "+", "cat", "--spill", "/d"])
        #expect(g.inputBuffer.overflow == .spill(directory: "/var/tmp", maxBytes: Overflow.defaultSpillMaxBytes))
        #expect(p.map(\.buffer.overflow) == [
            .spill(directory: "/var/tmp", maxBytes: 1 << 30), .spill(directory: "/var/tmp", maxBytes: 4 << 20),
            .spill(directory: "/d", maxBytes: 1 << 30),
        ])
    }

    @Test(arguments: [
        (["--when-full=spill"], "--when-full: 'spill' is not a policy: to spill to disk, use --spill DIR (use block, drop-newest or drop-oldest)"),
        (["cat", "--when-full=drop"], "cat: --when-full: unknown policy 'drop' (use block, drop-newest or drop-oldest)"),
        (["gzip", "--when-full=drop-newest"],
         "gzip: --when-full=drop-newest: the output is compressed bytes, not lines, and dropping any would corrupt it"),
        (["--spill", "/tmp", "cat", "--when-full=drop-oldest"],
         "cat: --spill and --when-full=drop-oldest do not go together: spill keeps every byte"),
        (["--when-full=drop-newest", "--spill", "/tmp"],
         "--spill and --when-full=drop-newest do not go together: spill keeps every byte"),
        (["--hwm", "1K", "--lwm", "1K"], "low-water mark 1 KiB must be below the high-water mark 1 KiB"),
    ])
    func conflictsAreUsageErrors(_ words: [String], _ message: String) {
        #expect { _ = try plans(words) } throws: { error in
            guard case SluiceError.usage(let text, _) = error else { return false }
            return text == message
        }
    }
}
