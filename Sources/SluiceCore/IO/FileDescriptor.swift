import CSys
import Glibc

/// A thin typed wrapper over a file descriptor. Each method names its C call and its
/// retry policy; none of them owns or closes the descriptor unless asked to.
public struct FileDescriptor: Sendable, Equatable {
    public let rawValue: Int32

    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    public static let standardInput = FileDescriptor(0)
    public static let standardOutput = FileDescriptor(1)
    public static let standardError = FileDescriptor(2)

    /// read(2); 0 means end of file. Retries EINTR; waits in poll(2) on EAGAIN, so a
    /// non-blocking descriptor handed over by a parent behaves like a blocking one.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        while true {
            do throws(Errno) {
                return try valueOrErrno { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
            } catch where error == .wouldBlock {
                try wait(for: Int16(POLLIN))
            }
        }
    }

    /// pread(2) at `offset`, until `buffer` is full or end of file; returns the bytes
    /// read. Retries EINTR.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try valueOrErrno {
                pread(rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// pwrite(2) of every byte of `bytes` at `offset`: short writes looped, EINTR retried.
    public func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
        var done = 0
        while done < bytes.count {
            done += try valueOrErrno {
                pwrite(rawValue, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            }
        }
    }

    /// lseek(2) to SEEK_CUR: the current offset.
    public func currentOffset() throws(Errno) -> Int {
        Int(try valueOrErrno(retryOnInterrupt: false) { lseek(rawValue, 0, SEEK_CUR) })
    }

    /// lseek(2) to SEEK_SET `offset`.
    public func seek(to offset: Int) throws(Errno) {
        _ = try valueOrErrno(retryOnInterrupt: false) { lseek(rawValue, off_t(offset), SEEK_SET) }
    }

    /// pipe2(2) with O_CLOEXEC: a new pipe's read and write ends.
    public static func makePipe() throws(Errno) -> (read: FileDescriptor, write: FileDescriptor) {
        var ends: [Int32] = [0, 0]
        _ = try valueOrErrno(retryOnInterrupt: false) { pipe2(&ends, O_CLOEXEC) }
        return (FileDescriptor(ends[0]), FileDescriptor(ends[1]))
    }

    /// write(2) until every byte is out: short writes looped, EINTR retried, EAGAIN
    /// (a parent gave us a non-blocking descriptor) waited on with poll(2), never spun.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        var offset = 0
        while offset < bytes.count {
            do throws(Errno) {
                offset += try valueOrErrno { Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset) }
            } catch where error == .wouldBlock {
                try wait(for: Int16(POLLOUT))
            }
        }
    }

    /// `writeAll` of the bytes a string stands for (`rawBytes`: its UTF-8, with the
    /// bytes of a word from outside as they came), so a message quoting a file name or a
    /// pattern prints its own bytes.
    public func writeAll(_ text: String) throws(Errno) {
        let bytes = text.rawBytes
        var failure: Errno?
        bytes.withUnsafeBytes { raw in
            do throws(Errno) { try writeAll(raw) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// poll(2) on this descriptor alone, without timeout, until `events` (or an error
    /// or hang-up condition, which the following read or write then reports). Retries EINTR.
    public func wait(for events: Int16) throws(Errno) {
        var entry = pollfd(fd: rawValue, events: events, revents: 0)
        _ = try valueOrErrno { Glibc.poll(&entry, 1, -1) }
    }

    /// read(2) of what a non-blocking descriptor holds now: nil when that is nothing yet
    /// (EAGAIN), 0 at end of file. Retries EINTR.
    public func readAvailable(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int? {
        do throws(Errno) {
            return try valueOrErrno { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
        } catch where error == .wouldBlock {
            return nil
        }
    }

    /// write(2) of what a non-blocking descriptor takes now: the bytes written, nil when
    /// it takes none (EAGAIN: a full pipe). One call, so possibly short. Retries EINTR.
    public func writeAvailable(_ bytes: UnsafeRawBufferPointer) throws(Errno) -> Int? {
        do throws(Errno) {
            return try valueOrErrno { Glibc.write(rawValue, bytes.baseAddress, bytes.count) }
        } catch where error == .wouldBlock {
            return nil
        }
    }

    /// fcntl(F_SETFL) adding O_NONBLOCK, on this open file description only (the other
    /// end of a pipe keeps its own flags). A failure leaves the descriptor as it was.
    public func setNonBlocking() {
        let flags = sluice_fcntl_int(rawValue, F_GETFL, 0)
        if flags >= 0 { _ = sluice_fcntl_int(rawValue, F_SETFL, flags | O_NONBLOCK) }
    }

    /// poll(2) on `entries` for at most `timeoutMillis` (-1: no limit): how many have
    /// events in `revents`, 0 when the time ran out. Retries EINTR for the time left.
    public static func poll(_ entries: inout [pollfd], timeoutMillis: Int32) throws(Errno) -> Int {
        let start = monotonicNanos()
        var left = timeoutMillis
        while true {
            let r = Glibc.poll(&entries, nfds_t(entries.count), left)
            if r >= 0 { return Int(r) }
            let e = Errno.current
            if e != .interrupted { throw e }
            if timeoutMillis > 0 {
                let spent = Int64((monotonicNanos() - start) / 1_000_000)
                left = Int32(max(0, Int64(timeoutMillis) - spent))
            }
        }
    }

    /// close(2), never retried: on Linux the descriptor is gone even after EINTR.
    public func close() throws(Errno) {
        if Glibc.close(rawValue) != 0 {
            let e = Errno.current
            if e != .interrupted { throw e }
        }
    }

    /// open(2) with O_CLOEXEC added. Retries EINTR (a FIFO open can be interrupted).
    /// `path` is a file name's bytes, as the command line gave them (no NUL).
    public static func open(_ path: [UInt8], flags: Int32, mode: mode_t = 0o666) throws(Errno) -> FileDescriptor {
        let name = path + [0]
        return FileDescriptor(try name.withUnsafeBufferPointer { c throws(Errno) in
            try c.withMemoryRebound(to: CChar.self) { c throws(Errno) in
                try valueOrErrno { Glibc.open(c.baseAddress!, flags | O_CLOEXEC, mode) }
            }
        })
    }

    /// rename(2) of `from` to `to`, both a file name's bytes: atomic within a file system,
    /// so `to` names either its old file or the whole new one, never half of it.
    public static func rename(_ from: [UInt8], to: [UInt8]) throws(Errno) {
        let status = (from + [0]).withUnsafeBufferPointer { a in
            (to + [0]).withUnsafeBufferPointer { b in
                a.withMemoryRebound(to: CChar.self) { a in
                    b.withMemoryRebound(to: CChar.self) { b in Glibc.rename(a.baseAddress!, b.baseAddress!) }
                }
            }
        }
        if status != 0 { throw Errno.current }
    }

    /// unlink(2) of a file name's bytes; a failure is ignored (a temporary file already gone).
    public static func unlink(_ path: [UInt8]) {
        _ = (path + [0]).withUnsafeBufferPointer { c in
            c.withMemoryRebound(to: CChar.self) { Glibc.unlink($0.baseAddress!) }
        }
    }

    /// fstat(2): the kind and size of what the descriptor refers to.
    public func status() -> stat? {
        var st = stat()
        return fstat(rawValue, &st) == 0 ? st : nil
    }

    /// True when the descriptor is a pipe or FIFO.
    public var isPipe: Bool {
        guard let st = status() else { return false }
        return (st.st_mode & S_IFMT) == S_IFIFO
    }

    /// True when the descriptor is a terminal (isatty(3)).
    public var isTerminal: Bool { isatty(rawValue) == 1 }

    /// The size of a regular file, or nil for anything else.
    public var regularFileSize: Int? {
        guard let st = status(), (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int(st.st_size)
    }
}
