// libFuzzer target for the command-line parser and the stage factories.
// Input: argument words separated by NUL bytes, each taken as main takes argv: as bytes.
// Checks: no crash, no hang; every failure is a usage error with a message (or, for a
// pattern file that cannot be read, a runtime error naming it).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCommandLine(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let words = UnsafeBufferPointer(start: data, count: size).split(separator: 0, omittingEmptySubsequences: false)
        .map { String(rawBytes: $0) }
    // Paths would make the factories read the machine's files (grep -f /dev/zero).
    if words.contains(where: { $0.contains("/") }) { return 0 }
    do throws(SluiceError) {
        let command = try CommandParser.parse(words)
        _ = Usage.help
        if case .stageHelp(let d) = command { _ = Usage.help(for: d) }
        guard case .run(let globals, let stages) = command else { return 0 }
        let context = StageContext(chunkBytes: globals.chunkBytes, maxLineBytes: globals.maxLineBytes,
                                   diagnostics: Diagnostics())
        var plans = try StageRegistry.plans(for: stages, globals: globals, context: context)
        for i in plans.indices { plans[i].stage.close() }
    } catch {
        // A usage error, or a file a stage must read that cannot be (grep -f NAME,
        // a runtime error as for any file); either way with a message.
        switch error {
        case .usage(let message, _) where !message.isEmpty: break
        case .runtime(let message) where message.hasPrefix("grep: "): break
        default: fatalError("not a usage error: \(error)")
        }
    }
    return 0
}
