/// Everything a run is made of, decided before any thread starts: the stages with their
/// buffers, stdin's own buffer, the chunk size, and what stdin is. The command line
/// builds it (`CLI/`); `Pipeline` runs it and reads nothing else of the command line.
public struct RunPlan {
    public var stages: [StagePlan]
    /// Capacity of every chunk, and the read(2) size.
    public var chunkBytes: Int
    /// stdin's own output buffer, before the first stage.
    public var inputBuffer: BufferSettings
    /// `--drain`: after the first stage stops early, the reader reads stdin to its end
    /// and discards it, and the run waits for that.
    public var drainsInput = false
    /// stdin when it is a regular file, as it stands before the run; nil for a pipe or
    /// a terminal.
    public var inputFile: InputFile?

    public init(stages: [StagePlan], chunkBytes: Int, inputBuffer: BufferSettings = BufferSettings(),
                drainsInput: Bool = false, inputFile: InputFile? = nil) {
        self.stages = stages
        self.chunkBytes = chunkBytes
        self.inputBuffer = inputBuffer
        self.drainsInput = drainsInput
        self.inputFile = inputFile
    }
}

/// A regular file on stdin: its size and the offset reading starts at, asked once
/// (fstat(2), lseek(2)) and used for the first stage's input size (`exec -j` sizes its
/// blocks by it), percent done, `tail`'s skip ahead and where stdin is left at the end.
public struct InputFile: Sendable, Equatable {
    public let size: Int
    /// Where reading starts; nil when the offset cannot be had.
    public var offset: Int?

    public init(size: Int, offset: Int?) {
        self.size = size
        self.offset = offset
    }

    /// What `descriptor` is, if a regular file; nil for anything else.
    public init?(_ descriptor: FileDescriptor) {
        guard let size = descriptor.regularFileSize else { return nil }
        self.init(size: size, offset: try? descriptor.currentOffset())
    }

    /// The bytes from the offset to the end.
    public var remainingBytes: Int { max(0, size - (offset ?? 0)) }

    /// Moves `descriptor`'s offset ahead to where the first stage wants to start (`tail`
    /// seeks to its last lines), if that is ahead and the seek works.
    mutating func skipAhead(_ descriptor: FileDescriptor, to inputStart: InputStart?) {
        guard let current = offset, let start = inputStart?(descriptor, current, size), start > current,
              (try? descriptor.seek(to: start)) != nil else { return }
        offset = start
    }
}
