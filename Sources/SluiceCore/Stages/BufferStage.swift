/// `buffer SIZE [--start PERCENT]`: a large explicit buffer, mbuffer's job. Its output
/// buffer holds up to SIZE bytes; with `--start`, nothing leaves it until it is PERCENT
/// full or input has ended, and again each time it runs empty, which turns a bursty
/// producer into long steady runs for a consumer that hates to stop (a tape drive).
/// Memory is taken chunk by chunk as it fills and given back as it drains.
/// The stage itself only forwards (it is `cat`); the buffer is its output channel.
public enum BufferStage {
    public static let descriptor = StageDescriptor(
        name: "buffer", synopsis: "buffer SIZE [--start PERCENT]",
        summary: "hold up to SIZE bytes between the stages around it (mbuffer's job)",
        options: [
            OptionSpec("s", "start", .required("PERCENT"),
                       help: "pass nothing on until the buffer is PERCENT full or input ends"),
        ],
        operands: 1...1
    ) { args, context throws(SluiceError) in
        if args.has("hwm") { throw args.fail("the buffer's size is its SIZE operand, not --hwm") }
        let size = try args.parseSize(args.operands[0], for: "SIZE", min: 1)
        var start = 0
        if let given = args.last("start"), var text = given.value {
            if text.hasSuffix("%") { text.removeLast() }
            guard let percent = Int(text), (0...100).contains(percent) else {
                throw args.fail("\(given.spelling): invalid percentage '\(given.value!)' (use 0 to 100)")
            }
            start = Int((Double(size) * Double(percent) / 100).rounded(.up))
        }
        var plan = StagePlan(CatStage())
        plan.buffer = BufferSettings(highWaterMark: size)
        plan.buffer.isSizedByStage = true
        plan.buffer.startBytes = start
        plan.buffer.keepsIdleChunks = false
        return plan
    }
}
