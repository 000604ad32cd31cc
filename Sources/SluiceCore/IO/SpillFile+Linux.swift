import CSys
import Glibc

/// A buffer's overflow on disk: an unnamed file (O_TMPFILE) in the spill directory, so
/// it is invisible and gone on any exit, SIGKILL included. The sender appends at its end
/// and the receiver reads from its start; the channel keeps the two offsets, under its
/// lock, and the bytes between them are the backlog. As the receiver reads, the disk
/// blocks behind it are given back (a punched hole), so an endless stream that spills
/// and drains keeps the disk use to its backlog, not to all it ever spilled.
public final class SpillFile: @unchecked Sendable {
    /// The directory, for messages.
    let directory: String
    private let fd: FileDescriptor
    /// Receiver-owned: the end of the part already given back.
    private var releasedOffset = 0
    /// 1 MiB: holes are punched in steps this large, not per chunk.
    private static let releaseStepBytes = 1 << 20

    /// open(2) with O_TMPFILE in `directory` (its raw bytes: see String+RawBytes).
    public init(directory: String) throws(Errno) {
        self.directory = directory
        let path = directory.rawBytes + [0]
        let raw = try path.withUnsafeBufferPointer { p throws(Errno) in
            try p.withMemoryRebound(to: CChar.self) { c throws(Errno) in
                try valueOrErrno { sluice_open_tmpfile(c.baseAddress!) }
            }
        }
        fd = FileDescriptor(raw)
    }

    deinit { try? fd.close() }

    /// Writes all of `bytes` at `offset` (sender only, beyond the backlog).
    func append(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws(Errno) {
        try fd.writeAll(bytes, at: offset)
    }

    /// Reads up to `buffer.count` bytes at `offset` (receiver only, inside the backlog).
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) throws(Errno) -> Int {
        try fd.read(into: buffer, at: offset)
    }

    /// Gives back the disk blocks before `offset` (receiver only), a step at a time.
    /// A file system without hole punching keeps them; that is not an error.
    func release(upTo offset: Int) {
        let end = offset - offset % Self.releaseStepBytes
        guard end > releasedOffset else { return }
        _ = sluice_punch_hole(fd.rawValue, off_t(releasedOffset), off_t(end - releasedOffset))
        releasedOffset = end
    }
}
