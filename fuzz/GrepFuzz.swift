// libFuzzer target for the line scanner in every grep mode.
// Input: mode byte (its low two bits the mode, the other six what is printed: -c, -n,
// -b, -o, context, -z), flags byte, chunk-size byte, pattern length byte, the patterns
// (newline-separated), then the text.
// Every run is on this thread (StageHarness.runOnOneThread): the stage's own loop, no
// threads to start or hand chunks between, so an input costs what grep's logic costs.
// Checks: no crash; the same output at two chunk sizes; the literal-search fast path
// (with the lazy DFA) against the line-by-line slow path (glibc); fixed strings against
// the reference model; and the DFA with a cache so small that it is cleared, or gives
// up, all the time, against glibc: the same lines.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGrep(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 4 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var options = GrepOptions()
    switch bytes[0] & 3 {
    case 1: options.mode = .regex(.basic)
    case 2: options.mode = .regex(.extended)
    default: options.mode = .fixed
    }
    let printed = bytes[0] >> 2
    options.countsLines = printed & 1 != 0
    options.numbersLines = printed & 2 != 0
    options.showsByteOffsets = printed & 4 != 0
    options.onlyMatching = printed & 8 != 0
    if printed & 16 != 0 {
        options.linesBefore = 2
        options.linesAfter = 1
    }
    if printed & 32 != 0 { options.separator = 0 }
    let flags = bytes[1]
    options.ignoreCase = flags & 1 != 0
    options.invert = flags & 2 != 0
    options.lineRegexp = flags & 4 != 0
    options.wordRegexp = flags & 8 != 0
    if flags & 16 != 0 { options.maxCount = Int(flags >> 5) }
    let chunk = Int(bytes[2]) % 31 + 1
    let patternLength = min(Int(bytes[3]), bytes.count - 4)
    let patternText = Array(bytes[4..<(4 + patternLength)])
    let text = Array(bytes[(4 + patternLength)...])
    options.patterns = patternText.split(separator: 0x0A, omittingEmptySubsequences: false).map(Array.init)
    switch options.mode {
    case .regex(.extended): options.patterns = options.patterns.map(RegexText.normalizingExtended)
    case .regex(.basic): options.patterns = options.patterns.map(RegexText.normalizingBasic)
    case .fixed: break
    }
    // Three compilations per input, each shared by the runs that use it: the fast path,
    // the slow path (also the oracle of the lines selected), and the DFA with a tiny cache.
    guard let fast = try? LineMatcher(options), let slowMatcher = try? LineMatcher(options, usesLiterals: false) else {
        return 0
    }
    let make = { (matcher: LineMatcher) -> LineStageAdapter<GrepStage>? in
        (try? GrepStage(options, matcher: matcher)).map { LineStageAdapter($0, maxLineBytes: 1 << 20) }
    }
    guard let a = make(fast), let b = make(fast), let c = make(slowMatcher) else { return 0 }
    let small = StageHarness.runOnOneThread(a, input: text, chunkSize: chunk)
    // Its second run: the DFA's cache, warm from the first, must not change a line.
    let large = StageHarness.runOnOneThread(b, input: text, chunkSize: 65536)
    let slow = StageHarness.runOnOneThread(c, input: text, chunkSize: 65536)
    if small.output != large.output || small.end != large.end {
        fatalError("chunk size \(chunk) changed the output")
    }
    if large.output != slow.output {
        fatalError("literal search and line-by-line disagree: \(large.output.count) / \(slow.output.count) bytes")
    }
    if let tiny = try? LineMatcher(options, automatonBudgetBytes: 2048) {
        var lines = text
        if lines.last != options.separator { lines.append(options.separator) }
        if selectedLines(tiny, lines) != selectedLines(slowMatcher, lines) {
            fatalError("the DFA with a tiny cache and glibc select different lines")
        }
    }
    if options.mode == .fixed && printed == 0 {
        let model = Reference.grepFixed(text, options.patterns, invert: options.invert, ignoreCase: options.ignoreCase,
                                        line: options.lineRegexp, word: options.wordRegexp && !options.lineRegexp,
                                        max: options.maxCount)
        if model != large.output { fatalError("fixed strings disagree with the reference model") }
    }
    return 0
}

/// The ranges of the lines `matcher` selects in `text` (whole lines).
private func selectedLines(_ matcher: LineMatcher, _ text: [UInt8]) -> [Range<Int>] {
    var out: [Range<Int>] = []
    text.withUnsafeBytes { b in
        var from = 0
        while let r = matcher.nextMatch(in: b, from: from) {
            out.append(r)
            from = r.upperBound
        }
    }
    return out
}
