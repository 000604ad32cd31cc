import Glibc
import Testing
@testable import SluiceCore

/// Waits up to 10 s for `condition`: generous, because a busy machine must not fail a test.
func eventually(_ condition: () -> Bool) -> Bool {
    for _ in 0..<10_000 {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// Counts what a thread did, shared with the test's thread.
final class Counter: @unchecked Sendable {
    private let lock = Lock()
    private var value = 0
    private var results: [SendResult] = []
    var count: Int { lock.withLock { value } }
    var last: SendResult? { lock.withLock { results.last } }
    func add(_ r: SendResult) { lock.withLock { value += 1; results.append(r) } }
}

@Suite struct BoundedChannelTests {
    /// A channel whose sends and receives go through `send`/`receive` below, which
    /// charge the waits to `producer` and `consumer` as the nodes do.
    func makeChannel(hwm: Int, lwm: Int, chunkBytes: Int, startBytes: Int = 0)
        -> (Wrapped, ChunkPool, NodeStats, NodeStats) {
        let pool = ChunkPool(chunkBytes: chunkBytes, maxIdleChunks: 16)
        let producer = NodeStats(name: "p"), consumer = NodeStats(name: "c")
        let marks = WaterMarks(highWaterMark: hwm, lowWaterMark: lwm, chunkBytes: chunkBytes, startBytes: startBytes)
        let channel = Wrapped(BoundedChannel(marks, pool: pool), producer: producer, consumer: consumer)
        return (channel, pool, producer, consumer)
    }

    /// The channel with the waits charged to a producer and a consumer, and a receive
    /// that reads as an optional chunk.
    struct Wrapped: @unchecked Sendable {
        let channel: BoundedChannel
        let producer: NodeStats, consumer: NodeStats
        init(_ channel: BoundedChannel, producer: NodeStats, consumer: NodeStats) {
            self.channel = channel
            self.producer = producer
            self.consumer = consumer
        }
        func send(_ chunk: Chunk) -> SendResult { channel.send(chunk, waiter: producer) }
        func receive() -> Chunk? { channel.receive(waiter: consumer).chunk }
        var currentBufferedBytes: Int { channel.currentBufferedBytes }
        var peakBytes: Int { channel.peakBytes }
        var maxChunks: Int { channel.maxChunks }
        var hasInputReady: Bool { channel.hasInputReady }
        func finish() { channel.close(reason: .endOfInput) }
        func cancel() { channel.close(reason: .cancelled) }
    }

    func filled(_ pool: ChunkPool, _ n: Int) -> Chunk {
        let chunk = pool.take()
        chunk.count = n
        return chunk
    }

    @Test func blocksAtHighWaterMarkAndResumesAtLowWaterMark() {
        let (channel, pool, producer, _) = makeChannel(hwm: 10, lwm: 4, chunkBytes: 4)
        let sent = Counter()
        let sender = Thread {
            for _ in 0..<6 { sent.add(channel.send(self.filled(pool, 4))) }
        }
        // 4 + 4 + 4 = 12 >= 10: the fourth send must wait.
        #expect(eventually { sent.count == 3 && producer.state == .blocked })
        #expect(channel.currentBufferedBytes == 12)
        _ = channel.receive()                  // 8 queued: still above the low-water mark
        usleep(50_000)
        #expect(sent.count == 3)
        _ = channel.receive()                  // 4 queued: at the low-water mark, resume
        #expect(eventually { sent.count >= 4 })
        for _ in 0..<4 { _ = channel.receive() }  // six in all
        sender.join()
        #expect(channel.peakBytes == 12)
        #expect(producer.blockedNanos.load(ordering: .relaxed) > 0)
    }

    @Test func cancelWakesBlockedSender() {
        let (channel, pool, producer, _) = makeChannel(hwm: 4, lwm: 2, chunkBytes: 4)
        let sent = Counter()
        let sender = Thread {
            for _ in 0..<3 { sent.add(channel.send(self.filled(pool, 4))) }
        }
        #expect(eventually { producer.state == .blocked })
        channel.cancel()
        sender.join()
        #expect(sent.last == .closed(.cancelled))
        #expect(channel.send(filled(pool, 1)) == .closed(.cancelled))
        #expect(channel.receive() == nil)
    }

    @Test func cancelWakesWaitingReceiver() {
        let (channel, _, _, consumer) = makeChannel(hwm: 4, lwm: 2, chunkBytes: 4)
        let got = Counter()
        let receiver = Thread {
            if channel.receive() == nil { got.add(.closed(.cancelled)) }
        }
        #expect(eventually { consumer.state == .starved })
        channel.cancel()
        receiver.join()
        #expect(got.count == 1)
    }

    @Test func finishDrainsThenEnds() {
        let (channel, pool, _, _) = makeChannel(hwm: 100, lwm: 50, chunkBytes: 4)
        #expect(channel.send(filled(pool, 3)) == .sent)
        #expect(channel.send(filled(pool, 4)) == .sent)
        channel.finish()
        #expect(channel.receive()?.count == 3)
        #expect(channel.receive()?.count == 4)
        guard case .ended(.endOfInput) = channel.channel.receive() else {
            Issue.record("a finished channel ends with .endOfInput")
            return
        }
    }

    /// The reason each side closes with is what the other side receives.
    @Test func closeReasonsTravel() {
        let (channel, pool, _, _) = makeChannel(hwm: 100, lwm: 50, chunkBytes: 4)
        let failure = SluiceError.runtime("stdin: Input/output error")
        #expect(channel.send(filled(pool, 3)) == .sent)
        channel.channel.close(reason: .upstreamFailed(failure))
        #expect(channel.receive()?.count == 3)  // what was queued is still delivered
        guard case .ended(.upstreamFailed(failure)) = channel.channel.receive() else {
            Issue.record("the sender's reason reaches the receiver")
            return
        }
        let (up, upPool, _, _) = makeChannel(hwm: 100, lwm: 50, chunkBytes: 4)
        let (down, _, _, _) = makeChannel(hwm: 100, lwm: 50, chunkBytes: 4)
        down.channel.upstream = up.channel
        down.channel.close(reason: .downstreamFailed(.brokenPipe))
        // The cascade carries the same reason to the channel above.
        #expect(up.send(filled(upPool, 1)) == .closed(.downstreamFailed(.brokenPipe)))
        guard case .cancelled(.downstreamFailed(.brokenPipe)) = up.channel.receive() else {
            Issue.record("a cancelled channel tells its receiver why")
            return
        }
    }

    /// A large high-water mark costs nothing until chunks queue up: the queue grows past
    /// its first slots as needed, keeps order across growth, and stops at the cap.
    @Test func queueGrowsOnDemandUpToTheCap() {
        let (channel, pool, producer, _) = makeChannel(hwm: 1 << 40, lwm: 1 << 39, chunkBytes: 4)
        #expect(channel.maxChunks > 1 << 37)
        for i in 0..<40 {
            let chunk = pool.take()
            _ = [UInt8](repeating: UInt8(i), count: 4).withUnsafeBytes { chunk.append($0) }
            #expect(channel.send(chunk) == .sent)
            if i == 1 { _ = channel.receive() }  // wrap the ring before it grows
        }
        #expect(producer.state != .blocked)
        var got: [UInt8] = []
        for _ in 0..<39 {
            guard let chunk = channel.receive() else { break }
            got.append(chunk.bytes.first!)
        }
        #expect(got == (1..<40).map(UInt8.init))

        let (small, smallPool, smallProducer, _) = makeChannel(hwm: 40, lwm: 20, chunkBytes: 4)
        #expect(small.maxChunks == 11)
        let sent = Counter()
        let sender = Thread { for _ in 0..<12 { sent.add(small.send(self.filled(smallPool, 4))) } }
        #expect(eventually { sent.count == 10 && smallProducer.state == .blocked })
        small.cancel()
        sender.join()
    }

    @Test func chunksAreBoundedByCount() {
        // hwm 100 with 10-byte chunks: at most ceil(100/10) + 1 = 11 chunks, even when
        // they hold 6 bytes each (too many to share a chunk), 66 bytes in all.
        let (channel, pool, producer, _) = makeChannel(hwm: 100, lwm: 50, chunkBytes: 10)
        #expect(channel.maxChunks == 11)
        let sent = Counter()
        let sender = Thread {
            for _ in 0..<12 { sent.add(channel.send(self.filled(pool, 6))) }
        }
        #expect(eventually { sent.count == 11 && producer.state == .blocked })
        #expect(channel.currentBufferedBytes == 66)
        for _ in 0..<3 { _ = channel.receive() }  // 48 bytes: at most the low-water mark
        #expect(eventually { sent.count == 12 })
        sender.join()
    }

    @Test func smallChunksShareTheLastOne() {
        let (channel, pool, _, _) = makeChannel(hwm: 100, lwm: 50, chunkBytes: 8)
        for i in 0..<10 {
            let chunk = pool.take()
            _ = [UInt8(i)].withUnsafeBytes { chunk.append($0) }
            #expect(channel.send(chunk) == .sent)
        }
        channel.finish()
        var got: [[UInt8]] = []
        while let c = channel.receive() { got.append(Array(c.bytes)) }
        #expect(got == [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9]])
    }

    @Test func emptyChunkIsNotQueued() {
        let (channel, pool, _, _) = makeChannel(hwm: 8, lwm: 4, chunkBytes: 4)
        #expect(channel.send(filled(pool, 0)) == .sent)
        #expect(!channel.hasInputReady)
    }

    @Test func startThresholdHoldsReceiverBack() {
        let (channel, pool, _, _) = makeChannel(hwm: 64, lwm: 32, chunkBytes: 4, startBytes: 12)
        _ = channel.send(filled(pool, 4))
        _ = channel.send(filled(pool, 4))
        #expect(!channel.hasInputReady)
        _ = channel.send(filled(pool, 4))
        #expect(channel.hasInputReady)
        for _ in 0..<3 { #expect(channel.receive()?.count == 4) }
        // Empty again: the gate is re-armed.
        _ = channel.send(filled(pool, 4))
        #expect(!channel.hasInputReady)
        channel.finish()
        #expect(channel.receive()?.count == 4)
        #expect(channel.receive() == nil)
    }

    @Test func maxChunksFormula() {
        #expect(WaterMarks.maxChunks(highWaterMark: 1 << 20, chunkBytes: 128 << 10) == 9)
        #expect(WaterMarks.maxChunks(highWaterMark: 1, chunkBytes: 128 << 10) == 2)
        #expect(WaterMarks.maxChunks(highWaterMark: 10, chunkBytes: 4) == 4)
    }
}

/// The policy alone, without threads: the questions the channel asks it.
@Suite struct WaterMarksTests {
    @Test func hysteresisBetweenTheMarks() {
        let m = WaterMarks(highWaterMark: 10, lowWaterMark: 4, chunkBytes: 4)
        #expect(!m.isFull(bytes: 9, chunks: 3))
        #expect(m.isFull(bytes: 10, chunks: 3))
        // A blocked sender waits through the band between the marks.
        #expect(!m.mayResume(bytes: 8, chunks: 2))
        #expect(!m.mayResume(bytes: 5, chunks: 2))
        #expect(m.mayResume(bytes: 4, chunks: 1))
    }

    @Test func chunkCapCountsAsFull() {
        let m = WaterMarks(highWaterMark: 100, lowWaterMark: 50, chunkBytes: 10)
        #expect(m.maxChunks == 11)
        #expect(m.isFull(bytes: 11, chunks: 11))
        #expect(!m.mayResume(bytes: 0, chunks: 11))
        #expect(m.mayResume(bytes: 50, chunks: 10))
    }

    @Test func startGateOpensAtThresholdAndRearmsWhenEmpty() {
        var m = WaterMarks(highWaterMark: 64, lowWaterMark: 32, chunkBytes: 4, startBytes: 12)
        #expect(m.isGated)
        let ok1 = m.mayTake(bytes: 8, chunks: 2, isSenderDone: false); #expect(!ok1)
        let ok2 = m.mayTake(bytes: 8, chunks: 2, isSenderDone: true); #expect(ok2)  // the end opens it
        m.didTake(chunksLeft: 0)
        #expect(m.isGated)
        let ok3 = m.mayTake(bytes: 12, chunks: 3, isSenderDone: false); #expect(ok3)
        #expect(!m.isGated)
        m.didTake(chunksLeft: 2)
        let ok4 = m.mayTake(bytes: 8, chunks: 2, isSenderDone: false); #expect(ok4)  // open until empty
        let ok5 = m.mayTake(bytes: 0, chunks: 0, isSenderDone: false); #expect(!ok5)
    }

    @Test func noGateWithoutStartThreshold() {
        var m = WaterMarks(highWaterMark: 8, lowWaterMark: 0, chunkBytes: 4)
        #expect(!m.isGated)
        let ok6 = m.mayTake(bytes: 1, chunks: 1, isSenderDone: false); #expect(ok6)
        m.didTake(chunksLeft: 0)
        #expect(!m.isGated)
    }
}

@Suite struct ChunkPoolTests {
    @Test func reusesAndCapsIdle() {
        let pool = ChunkPool(chunkBytes: 16, maxIdleChunks: 2)
        let a = pool.take(), b = pool.take(), c = pool.take()
        #expect(pool.peakChunks == 3)
        a.count = 5
        pool.recycle(a)
        pool.recycle(b)
        pool.recycle(c)                 // over the idle cap: freed
        let d = pool.take()
        #expect(d.count == 0 && d.start == 0)
        _ = pool.take()
        #expect(pool.peakChunks == 3)  // both came from the idle list
    }
}

/// A dropping channel, driven from one thread: it never blocks, drops whole lines only,
/// and counts exactly what it dropped.
@Suite struct DroppingChannelTests {
    func channel(_ policy: Overflow, hwm: Int = 8, chunkBytes: Int = 64) throws -> (BoundedChannel, ChunkPool) {
        let pool = ChunkPool(chunkBytes: chunkBytes, maxIdleChunks: 16)
        let marks = WaterMarks(highWaterMark: hwm, lowWaterMark: hwm / 2, chunkBytes: chunkBytes)
        return (try BoundedChannel(marks, pool: pool, overflow: policy), pool)
    }

    func send(_ c: BoundedChannel, _ pool: ChunkPool, _ text: String) {
        let chunk = pool.take()
        _ = Array(text.utf8).withUnsafeBytes { chunk.append($0) }
        #expect(c.send(chunk) == .sent)
    }

    func drain(_ c: BoundedChannel) -> String {
        var out = ""
        while case .chunk(let chunk) = c.receive(deadlineNanos: 0) { out += String(decoding: chunk.bytes, as: UTF8.self) }
        return out
    }

    @Test func dropNewestKeepsWhatFitsAndDropsWholeLines() throws {
        let (c, pool) = try channel(.dropNewest)
        send(c, pool, "aaaa\nbbbb\n")       // 10 bytes: now full
        send(c, pool, "cc\ndd")             // dropped: a line and the start of another
        send(c, pool, "dd\neeee\n")         // the end of the dropped line is dropped too
        #expect(drain(c) == "aaaa\nbbbb\n")
        send(c, pool, "ff\n")               // room again: kept
        #expect(drain(c) == "ff\n")
        #expect(c.dropped.records == 3 && c.dropped.bytes == 5 + 8)
    }

    @Test func dropNewestCompletesALineBegunBeforeTheBufferFilled() throws {
        let (c, pool) = try channel(.dropNewest)
        send(c, pool, "aaaaaaaa")           // 8 bytes of an unfinished line: full
        send(c, pool, "aa\nbb\n")           // its end is kept; the next line dropped
        #expect(drain(c) == "aaaaaaaaaa\n")
        #expect(c.dropped.records == 1 && c.dropped.bytes == 3)
    }

    /// At the high-water mark the oldest whole lines go, down to the low-water mark.
    @Test func dropOldestMakesRoomForTheNewest() throws {
        let (c, pool) = try channel(.dropOldest, hwm: 12)
        send(c, pool, "aaaa\nbbbb\ncc\n")  // 13 bytes: full
        send(c, pool, "dddd\n")             // lines go from the front to get under 6
        #expect(drain(c) == "cc\ndddd\n")
        #expect(c.dropped.records == 2 && c.dropped.bytes == 10)
    }

    @Test func dropOldestKeepsTheLineTheReceiverIsIn() throws {
        let (c, pool) = try channel(.dropOldest, hwm: 12, chunkBytes: 4)
        send(c, pool, "aaaa")                // the receiver takes the start of a line
        #expect(drain(c) == "aaaa")
        send(c, pool, "a\nbb"); send(c, pool, "b\ncc"); send(c, pool, "c\ndd")  // full
        send(c, pool, "d\n")                // drops "bbb\nccc\n", never the end of "aaaaa\n"
        #expect(drain(c) == "a\n" + "dd" + "d\n")
        #expect(c.dropped.records == 2 && c.dropped.bytes == 8)
    }

    @Test func aLastLineDroppedWithoutNewlineCountsAtTheEnd() throws {
        let (c, pool) = try channel(.dropNewest)
        send(c, pool, "aaaa\nbbbb\n")
        send(c, pool, "tail without newline")
        c.close(reason: .endOfInput)
        #expect(c.dropped.records == 1 && c.dropped.bytes == 20)
    }
}
