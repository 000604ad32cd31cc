import CSys
import Glibc

/// Zero-copy pass-through with splice(2), for `sluice` with no stage: the kernel moves
/// pages from one pipe to the other (or between a file and a pipe) without the copies
/// to and from user space that a chunk costs.
public enum Splice {
    public enum Result: Equatable {
        /// End of input reached; this many bytes moved.
        case finished(Int)
        /// splice(2) does not work for these descriptors (EINVAL: neither side a pipe, an
        /// O_APPEND file, a device without splice support) and nothing has moved yet:
        /// fall back to the chunk path.
        case unsupported
        /// A read error (on stdin) or write error (on stdout), after `moved` bytes.
        case readFailed(Errno, moved: Int)
        case writeFailed(Errno, moved: Int)
    }

    /// Moves everything from `input` to `output`. Retries EINTR; on EAGAIN (a
    /// non-blocking descriptor from the parent) waits in poll(2) for the side that is
    /// not ready.
    public static func copy(from input: FileDescriptor, to output: FileDescriptor) -> Result {
        // 1 MiB per call: the enlarged pipe's capacity; larger asks gain nothing.
        let request = 1 << 20
        var moved = 0
        while true {
            let n = sluice_splice(input.rawValue, output.rawValue, request,
                                  UInt32(SLUICE_SPLICE_F_MOVE | SLUICE_SPLICE_F_MORE))
            if n > 0 {
                moved += n
                continue
            }
            if n == 0 { return .finished(moved) }
            let e = Errno.current
            switch e.rawValue {
            case EINTR:
                continue
            case EAGAIN:
                // Which side is not ready is unknown: wait for either to become ready,
                // then retry; poll returns at once for the side that already is.
                var fds = [pollfd(fd: input.rawValue, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: output.rawValue, events: Int16(POLLOUT), revents: 0)]
                if poll(&fds, 2, -1) > 0 && (fds[0].revents != 0) != (fds[1].revents != 0) {
                    // One side ready: wait for the other.
                    var other = fds[fds[0].revents != 0 ? 1 : 0]
                    other.revents = 0
                    _ = poll(&other, 1, -1)
                }
                continue
            case EINVAL, ENOSYS:
                if moved == 0 { return .unsupported }
                return .writeFailed(e, moved: moved)
            default:
                // splice reports both sides' errors through one errno: tell them apart by
                // the ones only a write can give.
                let writeSide: Set<Int32> = [EPIPE, ENOSPC, EDQUOT, EFBIG]
                return writeSide.contains(e.rawValue) ? .writeFailed(e, moved: moved)
                    : .readFailed(e, moved: moved)
            }
        }
    }
}
