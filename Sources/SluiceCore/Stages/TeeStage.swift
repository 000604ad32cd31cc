import Glibc

/// `tee FILE`: writes a copy of the stream to FILE and passes it on unchanged (zero
/// copy). The write is blocking, so a full or slow FILE holds the stream back like any
/// slow stage. The file is opened (created, or truncated unless `-a`) when the run starts.
public struct TeeStage: Stage {
    /// The file name's bytes, as given.
    private let path: [UInt8]
    /// The file name for messages (`String(rawBytes:)`, which prints as those bytes).
    private let name: String
    private let appends: Bool
    private var file: FileDescriptor?

    public init(path: [UInt8], appends: Bool) {
        self.path = path
        name = String(rawBytes: path)
        self.appends = appends
    }

    public mutating func begin(into out: inout Emitter) throws(StageError) -> Flow {
        do throws(Errno) {
            file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | (appends ? O_APPEND : O_TRUNC))
        } catch {
            throw .failed("\(name): \(error)")
        }
        return .more
    }

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        do throws(Errno) {
            try file?.writeAll(input.bytes)
        } catch {
            throw .failed("\(name): \(error)")
        }
        try out.forward(input)
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {
        guard let file else { return }
        self.file = nil
        // close(2) can report a write that failed late (NFS, quotas).
        do throws(Errno) { try file.close() } catch { throw .failed("\(name): \(error)") }
    }

    public mutating func close() {
        try? file?.close()
        file = nil
    }

    public static let descriptor = StageDescriptor(
        name: "tee", synopsis: "tee [-a] FILE",
        summary: "write a copy of the stream to FILE and pass it on",
        options: [OptionSpec("a", "append", help: "append to FILE instead of truncating it")],
        operands: 1...1
    ) { args, _ throws(SluiceError) in
        StagePlan(TeeStage(path: args.operands[0].rawBytes, appends: args.has("append")))
    }
}
