/// Every failure sluice reports, printed in one place (`main`).
public enum SluiceError: Error, Equatable, Sendable {
    /// A bad command line: the message, then the short synopsis (of `stage`, when the
    /// error is in a stage's arguments); exit status 2.
    case usage(String, stage: String? = nil)
    /// A failure while running: `sluice: MESSAGE`; exit status 1.
    case runtime(String)
    /// Standard output was closed by its reader: no message, death by SIGPIPE (141).
    case brokenPipe

    /// The text after `sluice: `, or nil for the quiet broken pipe.
    public var message: String? {
        switch self {
        case .usage(let m, _), .runtime(let m): return m
        case .brokenPipe: return nil
        }
    }
}

/// What a stage throws. Stages never print and never exit: the pipeline prefixes the
/// stage name, so `.failed("unexpected end of input at byte 10")` from gunzip is shown
/// as `sluice: gunzip: unexpected end of input at byte 10`.
public enum StageError: Error, Equatable, Sendable {
    /// The consumer below closed its end: not an error, the stage just stops.
    case downstreamClosed
    /// The stage failed; the message reads as the tail of `sluice: STAGE: ...`.
    case failed(String)
}

extension StageError {
    /// The message as printed after `sluice: STAGE: `.
    public var message: String {
        switch self {
        case .downstreamClosed: return "output closed"
        case .failed(let m): return m
        }
    }
}
