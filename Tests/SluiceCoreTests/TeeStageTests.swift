import Glibc
import Testing
@testable import SluiceCore
import SluiceTestSupport

/// `tee FILE`: passes the stream on unchanged and leaves a copy in FILE, truncated or
/// appended to; a file it cannot open or write is named in the error.
@Suite struct TeeStageTests {
    /// A fresh directory under /tmp, removed with what is in it after `body`.
    func inTemporaryDirectory(_ body: (String) throws -> Void) throws {
        var template = Array("/tmp/sluice-tee-XXXXXX".utf8CString)
        let dir = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        defer { _ = system("rm -rf '\(dir)'") }
        try body(dir)
    }

    func contents(_ path: String) throws -> [UInt8] {
        let file = try FileDescriptor.open(path.rawBytes, flags: O_RDONLY)
        defer { try? file.close() }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try file.read(into: $0) }
            if n == 0 { return out }
            out += buffer.prefix(n)
        }
    }

    func write(_ bytes: [UInt8], to path: String) throws {
        let file = try FileDescriptor.open(path.rawBytes, flags: O_WRONLY | O_CREAT | O_TRUNC)
        try bytes.withUnsafeBytes { try file.writeAll($0) }
        try file.close()
    }

    @Test(arguments: [0, 1, 2, 3, 100, 70_000])
    func passesOnAndCopies(_ size: Int) throws {
        let input = pseudoRandomBytes(size)
        try inTemporaryDirectory { dir in
            for chunkSize in StageHarness.chunkSizes {
                let r = StageHarness.run(TeeStage(path: "\(dir)/copy".rawBytes, appends: false),
                                         input: input, chunkSize: chunkSize)
                #expect(r.output == input, "chunk size \(chunkSize)")
                #expect(r.end == .finished)
                let copy = try contents("\(dir)/copy")
                #expect(copy == input, "chunk size \(chunkSize)")
            }
        }
    }

    @Test(arguments: [false, true])
    func truncatesUnlessAppending(_ appends: Bool) throws {
        try inTemporaryDirectory { dir in
            let old = [UInt8]("an old and longer copy\n"), input = [UInt8]("new\n")
            try write(old, to: "\(dir)/copy")
            let r = StageHarness.run(TeeStage(path: "\(dir)/copy".rawBytes, appends: appends), input: input, chunkSize: 7)
            #expect(r.output == input)
            let copy = try contents("\(dir)/copy")
            #expect(copy == (appends ? old + input : input))
        }
    }

    @Test func aFileItCannotOpenIsNamed() {
        let r = StageHarness.run(TeeStage(path: "/nonexistent/copy".rawBytes, appends: false),
                                 input: [UInt8]("x\n"), chunkSize: 7)
        #expect(r.end == .failed("/nonexistent/copy: No such file or directory"))
        #expect(r.output.isEmpty)
    }

    @Test func aWriteThatFailsIsNamed() {
        let r = StageHarness.run(TeeStage(path: "/dev/full".rawBytes, appends: false),
                                 input: [UInt8]("x\n"), chunkSize: 7)
        #expect(r.end == .failed("/dev/full: No space left on device"))
    }
}
