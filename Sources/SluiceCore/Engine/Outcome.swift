/// The first failure of a run, and what its testing stages found; shared by every node.
public final class Outcome: @unchecked Sendable {
    /// Protects `failure` and `verdict`.
    private let lock = Lock()
    /// The first failure recorded; later ones are dropped.
    private var failure: SluiceError?
    /// `.noneSelected` once any stage found nothing, else `.selected` once one found
    /// something; nil while no stage gave a verdict.
    private var combinedVerdict: Verdict?

    public init() {}

    public func record(_ error: SluiceError) {
        lock.lock()
        if failure == nil { failure = error }
        lock.unlock()
    }

    public var first: SluiceError? {
        lock.lock()
        defer { lock.unlock() }
        return failure
    }

    public func record(_ verdict: Verdict) {
        lock.withLock {
            if combinedVerdict != .noneSelected { combinedVerdict = verdict }
        }
    }

    /// The verdict of the run: nothing selected if any testing stage selected nothing.
    public var verdict: Verdict? { lock.withLock { combinedVerdict } }
}
