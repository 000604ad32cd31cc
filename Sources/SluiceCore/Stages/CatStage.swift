/// `cat`: passes every chunk on untouched, without copying. Its use is the buffer that
/// follows it: `sluice gunzip + cat --hwm 64M + gzip` puts 64 MiB between two stages.
public struct CatStage: Stage {
    public init() {}

    public mutating func process(_ input: consuming ChunkLease, into out: inout Emitter) throws(StageError) -> Flow {
        try out.forward(input)
        return .more
    }

    public mutating func finish(into out: inout Emitter) throws(StageError) {}

    public static let descriptor = StageDescriptor(
        name: "cat", synopsis: "cat", summary: "pass bytes through unchanged (a place for a buffer)"
    ) { _, _ throws(SluiceError) in StagePlan(CatStage()) }
}
