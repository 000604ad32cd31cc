import Glibc

/// The spill policy (`--spill DIR`): overflow to a file, read back in order. Where each
/// chunk goes is the `SpillBacklog`'s answer; this file does the I/O, off the lock.
extension BoundedChannel {
    /// Spilled bytes in all, and the largest backlog on disk; nil without a spill file.
    public var spillCounts: (spilled: Int, peak: Int)? {
        lock.lock()
        defer { lock.unlock() }
        return spillFile == nil ? nil : (spill.spilledBytes, spill.peakBacklogBytes)
    }

    /// The bytes on disk now, waiting to be read back; nil without a spill file.
    public var spillBacklogBytes: Int? {
        lock.lock()
        defer { lock.unlock() }
        return spillFile == nil ? nil : spill.backlogBytes
    }

    /// Why reading the spill back failed, if it did: the run's error, for the pipeline
    /// to report under the producer's name.
    public var spillFailure: SluiceError? {
        lock.lock()
        defer { lock.unlock() }
        return readBackFailure
    }

    /// Under the lock, which it releases. A failed write (a full disk) stops spilling for
    /// good: warned once, and the buffer blocks.
    func sendSpilling(_ chunk: Chunk, waiter: NodeStats?) -> SendResult {
        let n = chunk.count, file = spillFile!
        var warning: String?
        defer { if let warning { onSpillWarning?(warning) } }
        while true {
            if let reason = cancel {
                lock.unlock()
                pool.recycle(chunk)
                return .closed(reason)
            }
            switch spill.admit(n, isMemoryFull: marks.isFull(bytes: bufferedBytes, chunks: queued)) {
            case .memory:
                return queue(chunk, waiter: waiter)
            case .wait:
                waitForRoom(waiter)
            case .disk(let offset):
                lock.unlock()
                do throws(Errno) {
                    try file.append(chunk.bytes, at: offset)
                } catch {
                    lock.lock()
                    spill.broke()
                    warning = "cannot spill to \(file.directory): \(error); blocking instead"
                    continue
                }
                lock.lock()
                spill.appended(n, at: offset)
                if isReceiverWaiting { notEmpty.signal() }
                lock.unlock()
                pool.recycle(chunk)
                return .sent
            }
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

    /// Under the lock, which it releases, with memory empty and a backlog on disk: `read`
    /// (`SpillBacklog.nextRead`), read back. A failed read ends the stream: the receiver
    /// gets the failure, the sender a closed channel.
    func readBack(_ read: (offset: Int, count: Int)) -> Received {
        let (offset, n) = read, file = spillFile!
        lock.unlock()
        let chunk = pool.take()
        var failure: Errno?
        do throws(Errno) {
            let got = try file.read(into: UnsafeMutableRawBufferPointer(start: chunk.base, count: n), at: offset)
            if got < n { failure = Errno(EIO) }
        } catch {
            failure = error
        }
        lock.lock()
        if let failure {
            let error = SluiceError.runtime("reading back its spill file in \(file.directory): \(failure)")
            readBackFailure = error
            lock.unlock()
            pool.recycle(chunk)
            close(reason: StreamCancel.downstreamFailed(error))
            return .ended(.upstreamFailed(error))
        }
        chunk.count = n
        spill.readBack(n, from: offset)
        if isSenderWaiting { notFull.signal() }
        lock.unlock()
        file.release(upTo: offset + n)
        return .chunk(chunk)
    }
}
