/// The drop policies (`--when-full=drop-newest|drop-oldest`): whole lines only, counted.
/// What to keep is the `LineShedder`'s answer; this file only carries it out.
extension BoundedChannel {
    /// Under the lock, which it releases. The sender waits only at the chunk cap, or to
    /// complete a line begun before the buffer filled.
    func sendDropping(_ chunk: Chunk, waiter: NodeStats?) -> SendResult {
        let bytes = chunk.bytes
        if cancel != nil || bytes.isEmpty { return queue(chunk, waiter: waiter) }
        let isFull = marks.isFull(bytes: bufferedBytes, chunks: queued)
        switch shedder.admit(bytes, isFull: isFull, bufferedBytes: bufferedBytes, lowWaterMark: marks.lowWaterMark) {
        case .waitForRoom:
            return queue(chunk, waiter: waiter)
        case .discard:
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        case .makeRoom(let bytes):
            dropOldestLines(toFree: bytes)
            return queue(chunk, waiter: waiter, waitsWhenFull: false)
        case .keep(let range):
            chunk.start += range.lowerBound
            chunk.count = range.count
            return queue(chunk, waiter: waiter, waitsWhenFull: false)
        }
    }

    /// Under the lock: drops the oldest whole lines queued until `bytes` are freed or no
    /// whole line is left to drop (`LineShedder.oldestLines`). Rare (only when full), so
    /// it may copy the queue's chunk references into an array.
    private func dropOldestLines(toFree bytes: Int) {
        var chunks: [Chunk] = []
        for i in 0..<queued { chunks.append(ring[(head + i) % slots].take()!) }
        var flat = QueuedBytes(chunks)
        let range = shedder.oldestLines(in: flat, toFree: bytes)
        if !range.isEmpty {
            flat.remove(range, recycleInto: pool)
            bufferedBytes -= range.count
        }
        head = 0
        queued = flat.chunks.count
        for (i, chunk) in flat.chunks.enumerated() { ring[i] = chunk }
    }
}
