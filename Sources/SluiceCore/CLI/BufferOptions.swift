extension BufferSettings {
    /// The one place a buffer's water marks are decided from the command line: its own
    /// `--hwm`/`--lwm` (read through `args`), else the global ones, else 1M and hwm/2. A
    /// global low-water mark applies only where it is below the high-water mark. A stage
    /// that sizes its own buffer (`buffer SIZE`) keeps its high-water mark.
    ///
    /// For the global options themselves, `args` reads them and there is no global default
    /// beyond the built-in one.
    mutating func resolveWaterMarks(_ args: OptionReader, globalHighWaterMark: Int,
                                    globalLowWaterMark: Int?, globalWhenFull: OverflowPolicy = .block,
                                    globalSpill: (directory: String?, maxBytes: Int)? = nil,
                                    carriesLines: Bool = true) throws(SluiceError) {
        whenFull = globalWhenFull
        if let given = args.last("when-full"), let text = given.value {
            guard let policy = OverflowPolicy(rawValue: text) else {
                throw args.fail("\(given.spelling): unknown policy '\(text)' (use block, drop-newest or drop-oldest)")
            }
            if policy.drops && !carriesLines {
                throw args.fail("\(given.spelling)=\(text): the output is compressed bytes, not lines, "
                    + "and dropping any would corrupt it")
            }
            whenFull = policy
        } else if !carriesLines {
            whenFull = .block  // a global drop policy leaves compressed output whole
        }
        spillDirectory = args.last("spill")?.value ?? globalSpill?.directory
        spillMaxBytes = try args.optionalSize("spill-max", min: 1) ?? globalSpill?.maxBytes ?? spillMaxBytes
        if spillDirectory != nil && whenFull.drops {
            throw args.fail("--spill and --when-full=\(whenFull.rawValue) do not go together: spill keeps every byte")
        }
        if !isSizedByStage {
            highWaterMark = try args.size("hwm", default: globalHighWaterMark, min: 1)
        }
        if let own = try args.optionalSize("lwm") {
            lowWaterMark = own
        } else if let global = globalLowWaterMark, global < highWaterMark {
            lowWaterMark = global
        } else {
            lowWaterMark = highWaterMark / 2
        }
        if lowWaterMark >= highWaterMark {
            throw args.fail("low-water mark \(Sizes.human(lowWaterMark)) must be below the high-water mark "
                + Sizes.human(highWaterMark))
        }
    }
}
