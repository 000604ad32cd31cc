import Glibc

/// The drop policies (`--when-full=drop-newest|drop-oldest`): whole lines only, counted.
extension BoundedChannel {
    /// Under the lock, which it releases. The sender never waits. While the buffer is
    /// full, drop-newest drops the incoming lines whole: a line already begun is first
    /// completed, and a line begun while dropping is dropped to its end, in whichever
    /// chunk that comes. drop-oldest drops the oldest whole lines queued to make room.
    func sendDropping(_ chunk: Chunk, waiter: NodeStats?) -> SendResult {
        let bytes = chunk.bytes
        let isFull = marks.isFull(bytes: bufferedBytes, chunks: queued)
        if cancel != nil || bytes.isEmpty { return queue(chunk, waiter: waiter) }
        if marks.whenFull == .dropOldest {
            if isFull { dropOldestLines(toFree: bufferedBytes - marks.lowWaterMark) }
            lines.producer = bytes.last == 0x0A ? .atLineStart : .inKeptLine
            return queue(chunk, waiter: waiter, waitsWhenFull: false)
        }
        // Bytes before keepFrom end a dropped line; [keepFrom, lineStart) end a kept one.
        var keepFrom = 0, lineStart = 0
        switch lines.producer {
        case .inDroppedLine:
            guard let end = firstLineEnd(bytes) else {
                lines.countDropped(bytes, 0..<bytes.count)
                lock.unlock()
                pool.recycle(chunk)
                return .sent
            }
            lines.countDropped(bytes, 0..<end)
            keepFrom = end
            lineStart = end
        case .inKeptLine:
            // A line begun before the buffer filled is completed; with no end in this
            // chunk, it waits for room rather than grow the buffer without bound.
            guard let end = firstLineEnd(bytes) else { return queue(chunk, waiter: waiter) }
            lineStart = end
        case .atLineStart:
            break
        }
        var keepTo = bytes.count
        if isFull {
            lines.countDropped(bytes, lineStart..<bytes.count)
            keepTo = lineStart
        }
        lines.producer = bytes.last == 0x0A ? .atLineStart : isFull ? .inDroppedLine : .inKeptLine
        if keepTo <= keepFrom {
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        }
        chunk.start += keepFrom
        chunk.count = keepTo - keepFrom
        return queue(chunk, waiter: waiter, waitsWhenFull: false)
    }

    /// Under the lock: drops the oldest whole lines queued until `bytes` are freed or no
    /// whole line is left to drop. The line the receiver is in the middle of (its start
    /// already delivered) is kept; so is the line the producer is in the middle of. Rare
    /// (only when full), so it may copy the queue's chunk references into an array.
    private func dropOldestLines(toFree bytes: Int) {
        var chunks: [Chunk] = []
        for i in 0..<queued { chunks.append(ring[(head + i) % slots].take()!) }
        var flat = QueuedBytes(chunks)
        let from = lines.isReceiverAtLineStart ? 0 : (flat.lineEnd(atOrAfter: 0) ?? flat.count)
        let wanted = min(flat.count, from + max(1, bytes))
        let to = flat.lineEnd(atOrAfter: wanted - 1) ?? flat.lastLineEnd(from: from) ?? from
        if to > from {
            lines.countDropped(flat, from..<to)
            flat.remove(from..<to, recycleInto: pool)
            bufferedBytes -= to - from
        }
        head = 0
        queued = flat.chunks.count
        for (i, chunk) in flat.chunks.enumerated() { ring[i] = chunk }
    }
}
