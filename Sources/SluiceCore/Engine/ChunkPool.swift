import Glibc

/// Recycles chunks of one capacity so that, once the pipeline is running, no chunk is
/// allocated per read. The pool does not bound memory itself: the channels do, since a
/// chunk is either queued in a channel (counted there) or held by one thread (at most
/// two per thread: the input it works on and the output it fills). The pool keeps up to
/// `maxIdleChunks` idle chunks and frees the rest, so memory a large `buffer` stage took
/// while it filled is given back as it drains.
public final class ChunkPool: @unchecked Sendable {
    /// Capacity of every chunk handed out.
    public let chunkBytes: Int
    /// Most idle chunks kept for reuse; beyond it, recycled chunks are freed.
    public let maxIdleChunks: Int

    private let lock = Lock()
    /// Idle chunks, protected by `lock`; never more than `maxIdleChunks`.
    private var idle: [Chunk]
    /// Chunks allocated so far and not freed, protected by `lock` (for tests and stats).
    private var liveChunks = 0
    private var peakLiveChunks = 0

    public init(chunkBytes: Int, maxIdleChunks: Int) {
        self.chunkBytes = chunkBytes
        self.maxIdleChunks = max(0, maxIdleChunks)
        idle = []  // grows with use: the cap may be far beyond what a run ever holds
    }

    /// An empty chunk, reused when one is idle, else newly allocated.
    public func take() -> Chunk {
        lock.lock()
        if let chunk = idle.popLast() {
            lock.unlock()
            return chunk
        }
        liveChunks += 1
        peakLiveChunks = max(peakLiveChunks, liveChunks)
        lock.unlock()
        return Chunk(capacity: chunkBytes)
    }

    /// Gives a chunk back. The caller must hold no other reference to it.
    public func recycle(_ chunk: Chunk) {
        chunk.reset()
        lock.lock()
        if idle.count < maxIdleChunks {
            idle.append(chunk)
            lock.unlock()
            return
        }
        liveChunks -= 1
        lock.unlock()
        // `chunk` is released here, outside the lock, and freed.
    }

    /// The most chunks that were ever allocated at once.
    public var peakChunks: Int {
        lock.lock()
        defer { lock.unlock() }
        return peakLiveChunks
    }
}
