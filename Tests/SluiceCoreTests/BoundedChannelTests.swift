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
    func makeChannel(hwm: Int, lwm: Int, chunkBytes: Int, startBytes: Int = 0)
        -> (BoundedChannel, ChunkPool, NodeStats, NodeStats) {
        let pool = ChunkPool(chunkBytes: chunkBytes, maxIdleChunks: 16)
        let producer = NodeStats(name: "p"), consumer = NodeStats(name: "c")
        let channel = BoundedChannel(highWaterMark: hwm, lowWaterMark: lwm, chunkBytes: chunkBytes,
                                     startBytes: startBytes, pool: pool, producer: producer, consumer: consumer)
        return (channel, pool, producer, consumer)
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
        #expect(sent.last == .closed)
        #expect(channel.send(filled(pool, 1)) == .closed)
        #expect(channel.receive() == nil)
    }

    @Test func cancelWakesWaitingReceiver() {
        let (channel, _, _, consumer) = makeChannel(hwm: 4, lwm: 2, chunkBytes: 4)
        let got = Counter()
        let receiver = Thread {
            if channel.receive() == nil { got.add(.closed) }
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
        #expect(channel.receive() == nil)
        #expect(!channel.wasAborted)
    }

    @Test func abortedFinishIsSeen() {
        let (channel, _, _, _) = makeChannel(hwm: 100, lwm: 50, chunkBytes: 4)
        channel.finish(aborted: true)
        #expect(channel.receive() == nil)
        #expect(channel.wasAborted)
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
        #expect(BoundedChannel.maxChunks(highWaterMark: 1 << 20, chunkBytes: 128 << 10) == 9)
        #expect(BoundedChannel.maxChunks(highWaterMark: 1, chunkBytes: 128 << 10) == 2)
        #expect(BoundedChannel.maxChunks(highWaterMark: 10, chunkBytes: 4) == 4)
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
