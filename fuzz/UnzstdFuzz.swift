// libFuzzer target for the unzstd stage: the frame-header reader, the window limit, the
// block walker that names error offsets, skippable frames, trailing bytes.
// Input: one byte choosing a chunk size, then the compressed stream.
// Every run is on this thread (StageHarness.runOnOneThread).
// Checks: no crash; the same output and the same end whichever way the input is cut; and
// against libzstd's own streaming decoder, fed the whole input at once (ZstdFixture):
// where it decodes the input, the same bytes and success; where it refuses it, a failure.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUnzstd(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let chunk = Int(data[0]) % 61 + 1
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    // An RLE block of 4 bytes decodes to 128 KiB: past 1 KiB of input, a bomb would cost
    // more memory than the fuzzer should spend on one input.
    guard input.count <= 1024 else { return 0 }
    let run = { (chunkSize: Int) in
        StageHarness.runOnOneThread(try! UnzstdStage(), input: input, chunkSize: chunkSize)
    }
    let small = run(chunk)
    let large = run(65536)
    if small.end != large.end || small.output != large.output {
        fatalError("chunking changed the result: \(small.end) / \(large.end), \(small.output.count) / \(large.output.count) bytes")
    }
    switch ZstdFixture.decompress(input) {
    case .success(let reference):
        // libzstd's streaming decoder takes an empty input as nothing to do; unzstd, as
        // zstd -dc, refuses it.
        if input.isEmpty { break }
        if large.end != .finished || large.output != reference {
            fatalError("libzstd decodes this input, unzstd ended \(large.end) with \(large.output.count) of \(reference.count) bytes")
        }
    case .failure(let failure):
        guard case .failed = large.end else {
            fatalError("libzstd refuses this input (\(failure.name)), unzstd ended \(large.end)")
        }
    }
    return 0
}
