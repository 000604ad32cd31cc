import Glibc

/// An errno value from a failed system call, with strerror(3)'s text.
public struct Errno: Error, Equatable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's errno.
    public static var current: Errno { Errno(errno) }

    public static let interrupted = Errno(EINTR)
    public static let wouldBlock = Errno(EAGAIN)
    public static let brokenPipe = Errno(EPIPE)

    /// strerror(3): glibc returns static strings for every known errno.
    public var description: String { String(cString: strerror(rawValue)) }
}
