import Glibc

/// The spill policy (`--spill DIR`): overflow to a file, read back in order.
extension BoundedChannel {
    /// Spilled bytes in all, and the largest backlog on disk; nil without a spill file.
    public var spillCounts: (spilled: Int, peak: Int)? {
        lock.lock()
        defer { lock.unlock() }
        return spill.map { ($0.spilledBytes, $0.peakBacklogBytes) }
    }

    /// The bytes on disk now, waiting to be read back; nil without a spill file.
    public var spillBacklogBytes: Int? {
        lock.lock()
        defer { lock.unlock() }
        return spill?.backlogBytes
    }

    /// Why reading the spill back failed, if it did: the run's error, for the pipeline
    /// to report under the producer's name.
    public var spillFailure: SluiceError? {
        lock.lock()
        defer { lock.unlock() }
        return spill?.failure
    }

    /// Under the lock, which it releases. While memory is below its high-water mark and
    /// nothing is on disk, a chunk is queued in memory. Otherwise it is appended to the
    /// spill file — once anything is on disk, everything newer goes there too, so order
    /// holds — unless the backlog would pass its limit: then the sender waits. A failed
    /// write (a full disk) stops spilling for good: warned once, and the buffer blocks.
    func sendSpilling(_ chunk: Chunk, waiter: NodeStats?) -> SendResult {
        let n = chunk.count
        var warning: String?
        defer { if let warning { onSpillWarning?(warning) } }
        while true {
            if let reason = cancel {
                lock.unlock()
                pool.recycle(chunk)
                return .closed(reason)
            }
            let state = spill!
            let isMemoryFull = marks.isFull(bytes: bufferedBytes, chunks: queued)
            if state.backlogBytes == 0 && (!isMemoryFull || state.isBroken || n > state.maxBytes) {
                return queue(chunk, waiter: waiter)
            }
            if state.isBroken || state.backlogBytes + n > state.maxBytes {
                waitForRoom(waiter)
                continue
            }
            let offset = state.writeOffset
            lock.unlock()
            do throws(Errno) {
                try state.file.append(chunk.bytes, at: offset)
            } catch {
                lock.lock()
                spill!.isBroken = true
                warning = "cannot spill to \(state.file.directory): \(error); blocking instead"
                continue
            }
            lock.lock()
            spill!.writeOffset = offset + n
            spill!.backlogBytes += n
            spill!.spilledBytes += n
            spill!.peakBacklogBytes = max(spill!.peakBacklogBytes, spill!.backlogBytes)
            if isReceiverWaiting { notEmpty.signal() }
            lock.unlock()
            pool.recycle(chunk)
            return .sent
        }
    }

    /// Under the lock: waits once on `notFull`, the time charged as blocked.
    private func waitForRoom(_ waiter: NodeStats?) {
        let since = waiter?.beginWait(.blocked)
        isSenderWaiting = true
        notFull.wait(lock)
        isSenderWaiting = false
        if let since { waiter?.endWait(.blocked, since: since) }
    }

    /// Under the lock, which it releases, with memory empty and a backlog on disk: the
    /// oldest chunk's worth of it, read back. A failed read ends the stream: the
    /// receiver gets the failure, the sender a closed channel.
    func readBack(_ state: SpillState) -> Received {
        let n = min(state.backlogBytes, chunkBytes), offset = state.readOffset
        lock.unlock()
        let chunk = pool.take()
        var failure: Errno?
        do throws(Errno) {
            let got = try state.file.read(into: UnsafeMutableRawBufferPointer(start: chunk.base, count: n), at: offset)
            if got < n { failure = Errno(EIO) }
        } catch {
            failure = error
        }
        lock.lock()
        if let failure {
            let error = SluiceError.runtime("reading back its spill file in \(state.file.directory): \(failure)")
            spill!.failure = error
            lock.unlock()
            pool.recycle(chunk)
            close(reason: StreamCancel.downstreamFailed(error))
            return .ended(.upstreamFailed(error))
        }
        chunk.count = n
        spill!.readOffset = offset + n
        spill!.backlogBytes -= n
        if isSenderWaiting { notFull.signal() }
        lock.unlock()
        state.file.release(upTo: offset + n)
        return .chunk(chunk)
    }
}

/// The spill policy's state, kept by the channel under its lock.
struct SpillState {
    let file: SpillFile
    /// `--spill-max`: the most backlog on disk; past it the sender waits.
    let maxBytes: Int
    /// Where the next append goes; written only by the sender.
    var writeOffset = 0
    /// Where the next read back starts; written only by the receiver.
    var readOffset = 0
    /// Bytes written and not yet read back: `[readOffset, readOffset + backlogBytes)`.
    var backlogBytes = 0
    var spilledBytes = 0
    var peakBacklogBytes = 0
    /// A write failed: no more spilling; the buffer blocks as an ordinary one.
    var isBroken = false
    /// A read back failed: the stream ended with this error.
    var failure: SluiceError?
}
