/// The three kinds of node a pipeline runs, each on its own thread: the reader, a stage,
/// the writer (the essay in Pipeline.swift).
extension Pipeline {

    /// stdin → channel 0, chunk by chunk; closes the channel with why it stopped.
    func runReader() {
        let stats = nodes[0]
        let channel = channels[0]
        stats.begin()
        var end = StreamEnd.endOfInput
        while true {
            let chunk = pool.take()
            let n: Int
            do throws(Errno) {
                n = try input.read(into: chunk.freeSpace)
            } catch {
                pool.recycle(chunk)
                let failure = SluiceError.runtime("stdin: \(error)")
                outcome.record(failure)
                end = .upstreamFailed(failure)
                break
            }
            if n == 0 {
                pool.recycle(chunk)
                break
            }
            chunk.count = n
            stats.bytesIn.add(n, ordering: .relaxed)
            if case .closed(let reason) = channel.send(chunk, waiter: stats) {
                if drainsInput && reason == .cancelled { end = drain(stats) }
                break
            }
            stats.bytesOut.add(n, ordering: .relaxed)
        }
        channel.close(reason: end)
        stats.end()
        lock.withLock { isReaderDone = true }
    }

    /// `--drain`: reads stdin to its end into one scratch chunk, counting the bytes in
    /// but passing none on; how it ended, for the channel's close.
    private func drain(_ stats: NodeStats) -> StreamEnd {
        let scratch = pool.take()
        defer { pool.recycle(scratch) }
        while true {
            do throws(Errno) {
                let n = try input.read(into: scratch.freeSpace)
                if n == 0 { return .endOfInput }
                stats.bytesIn.add(n, ordering: .relaxed)
            } catch {
                let failure = SluiceError.runtime("stdin: \(error)")
                outcome.record(failure)
                return .upstreamFailed(failure)
            }
        }
    }

    func runStage(_ stage: inout any Stage, name: String, node: NodeStats,
                          input: BoundedChannel, output: BoundedChannel, isFirst: Bool) {
        node.begin()
        let end = StageLoop.run(&stage, input: input, output: output, pool: pool, stats: node)
        if case .failed(let message) = end {
            outcome.record(.runtime("\(name): \(message)"))
        }
        if isFirst { lock.withLock { firstStageEnd = end } }
        if let verdict = stage.verdict { outcome.record(verdict) }
        node.end()
    }

    /// The last channel → stdout; a failed write closes the channel (and so every
    /// channel above) with the failure.
    func runWriter() {
        let stats = nodes[nodes.count - 1]
        let channel = channels[channels.count - 1]
        stats.begin()
        var cancel = StreamCancel.cancelled
        while case .chunk(let chunk) = channel.receive(waiter: stats) {
            stats.bytesIn.add(chunk.count, ordering: .relaxed)
            do throws(Errno) {
                try output.writeAll(chunk.bytes)
            } catch {
                let failure: SluiceError = error == .brokenPipe ? .brokenPipe : .runtime("stdout: \(error)")
                outcome.record(failure)
                cancel = .downstreamFailed(failure)
                pool.recycle(chunk)
                break
            }
            stats.bytesOut.add(chunk.count, ordering: .relaxed)
            pool.recycle(chunk)
        }
        channel.close(reason: cancel)
        stats.end()
        lock.withLock {
            isWriterDone = true
            done.broadcast()
        }
    }
}
