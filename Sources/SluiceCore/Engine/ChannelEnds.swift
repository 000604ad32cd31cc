// What the two ends of a `BoundedChannel` tell each other: why a stream ended (down),
// why the receiver stopped (up), and what a send or a receive came to.

/// Why a stream ended, as its receiver learns it: the reason travels with the sender's
/// close (Go's `io.Pipe.CloseWithError`), so nobody reconstructs it from flags.
public enum StreamEnd: Sendable, Equatable {
    /// The sender sent everything: the stream is whole.
    case endOfInput
    /// The sender stopped because something upstream failed: what arrived is good, but
    /// the stream is incomplete, so it must not be finished as if it were whole (gzip
    /// writes no trailer for half an input).
    case upstreamFailed(SluiceError)
}

/// Why the receiver stopped, as its sender learns it.
public enum StreamCancel: Sendable, Equatable {
    /// Nothing more is wanted (`head` has its lines), or a consumer below went away
    /// quietly: the sender stops without error.
    case cancelled
    /// The receiver failed: the sender stops; the failure is reported once, elsewhere.
    case downstreamFailed(SluiceError)
}

/// The result of `BoundedChannel.send`.
public enum SendResult: Sendable, Equatable {
    /// The chunk is queued; the channel owns it now.
    case sent
    /// The receiver closed; the chunk went back to the pool and the sender should stop.
    case closed(StreamCancel)
}

/// The result of `BoundedChannel.receive`.
public enum Received {
    /// The next chunk; the receiver owns it now.
    case chunk(Chunk)
    /// The sender closed and everything it sent was taken.
    case ended(StreamEnd)
    /// This side was closed (by this receiver, or by the cascade from a consumer below).
    case cancelled(StreamCancel)
    /// Nothing arrived before the deadline the receiver gave.
    case timedOut

    /// The chunk, if one was received.
    public var chunk: Chunk? {
        if case .chunk(let c) = self { return c }
        return nil
    }
}
