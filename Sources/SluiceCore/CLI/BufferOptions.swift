/// The buffer options as the command line gives them, globally (before the first stage)
/// or to one stage: each nil where not given. Every option is read and its value checked
/// here, once; `settings` decides a buffer's `BufferSettings` from a stage's own options
/// over the global ones over the engine's defaults.
struct BufferOptions: Sendable {
    var highWaterMark: Int?
    var lowWaterMark: Int?
    /// `--when-full`, with how it was spelled, for messages.
    var whenFull: (policy: Overflow, spelling: String)?
    var spillDirectory: String?
    var spillMaxBytes: Int?

    init() {}

    init(_ args: OptionReader) throws(SluiceError) {
        if let given = args.last("when-full"), let text = given.value {
            guard let policy = Overflow(whenFull: text) else {
                let valid = "(use block, drop-newest or drop-oldest)"
                if text == "spill" {
                    throw args.fail("\(given.spelling): 'spill' is not a policy: to spill to disk, use --spill DIR \(valid)")
                }
                throw args.fail("\(given.spelling): unknown policy '\(text)' \(valid)")
            }
            whenFull = (policy, given.spelling)
        }
        spillDirectory = args.last("spill")?.value
        spillMaxBytes = try args.optionalSize("spill-max", min: 1)
        highWaterMark = try args.optionalSize("hwm", min: 1)
        lowWaterMark = try args.optionalSize("lwm")
    }

    /// Any of them was given.
    var isGiven: Bool {
        highWaterMark != nil || lowWaterMark != nil || whenFull != nil || spillDirectory != nil
    }

    /// A buffer's settings: `base` (the stage's, or the engine's defaults) with these
    /// options over `globals`. A global low-water mark applies only where it is below the
    /// high-water mark; a stage that sizes its own buffer (`buffer SIZE`) keeps its
    /// high-water mark; a global drop policy leaves a stage's compressed output
    /// (`carriesLines` false) whole. `args` words the errors.
    func settings(_ base: BufferSettings, over globals: BufferOptions = BufferOptions(), carriesLines: Bool = true,
                  args: OptionReader) throws(SluiceError) -> BufferSettings {
        var s = base
        var policy = globals.whenFull?.policy ?? .block
        if let (own, spelling) = whenFull {
            if own.drops && !carriesLines {
                throw args.fail("\(spelling)=\(own.name): the output is compressed bytes, not lines, "
                    + "and dropping any would corrupt it")
            }
            policy = own
        } else if !carriesLines {
            policy = .block
        }
        if let directory = spillDirectory ?? globals.spillDirectory {
            if policy.drops {
                throw args.fail("--spill and --when-full=\(policy.name) do not go together: spill keeps every byte")
            }
            policy = .spill(directory: directory,
                            maxBytes: spillMaxBytes ?? globals.spillMaxBytes ?? Overflow.defaultSpillMaxBytes)
        }
        s.overflow = policy
        if !s.isSizedByStage {
            s.highWaterMark = highWaterMark ?? globals.highWaterMark ?? BufferSettings.defaultHighWaterMark
        }
        if let own = lowWaterMark {
            s.lowWaterMark = own
        } else if let global = globals.lowWaterMark, global < s.highWaterMark {
            s.lowWaterMark = global
        } else {
            s.lowWaterMark = s.highWaterMark / 2
        }
        if s.lowWaterMark >= s.highWaterMark {
            throw args.fail("low-water mark \(Sizes.human(s.lowWaterMark)) must be below the high-water mark "
                + Sizes.human(s.highWaterMark))
        }
        return s
    }
}
