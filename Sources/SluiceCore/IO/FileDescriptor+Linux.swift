import CSys
import Glibc

extension FileDescriptor {
    /// ioctl(FIONREAD): the bytes a pipe holds unread, asked at either end; 0 on error.
    public var unreadBytes: Int { max(Int(sluice_pipe_unread(rawValue)), 0) }

    /// fcntl(F_GETPIPE_SZ): the pipe's capacity in bytes, or nil when not a pipe.
    public var pipeCapacity: Int? {
        let r = sluice_fcntl_int(rawValue, SLUICE_F_GETPIPE_SZ, 0)
        return r >= 0 ? Int(r) : nil
    }

    /// fcntl(F_SETPIPE_SZ) when the descriptor is a pipe smaller than `bytes`. Failure
    /// (EPERM past /proc/sys/fs/pipe-max-size, EBUSY, a non-pipe) is not an error: the
    /// pipe stays as it was, or takes the largest power-of-two fraction of `bytes` the
    /// kernel grants. Never shrinks a pipe. Returns the capacity after.
    @discardableResult
    public func enlargePipe(to bytes: Int) -> Int? {
        guard bytes > 0, isPipe, let current = pipeCapacity else { return pipeCapacity }
        var request = bytes
        while request > current {
            if sluice_fcntl_int(rawValue, SLUICE_F_SETPIPE_SZ, Int32(clamping: request)) >= 0 { break }
            request /= 2
        }
        return pipeCapacity
    }
}
