extension FileDescriptor {
    /// Every byte from the current offset to end of file, by `read(into:)` (EINTR retried,
    /// EAGAIN waited on with poll(2)), so a pipe or FIFO works as well as a file; nil as
    /// soon as more than `maxBytes` have come, without reading on.
    public func readToEnd(maxBytes: Int) throws(Errno) -> [UInt8]? {
        var data: [UInt8] = []
        // 65536: Linux's default pipe capacity, what one read of a pipe can bring.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try read(into: buffer)
            if n == 0 { return data }
            data += UnsafeRawBufferPointer(rebasing: buffer[..<n])
            if data.count > maxBytes { return nil }
        }
    }
}
