// libFuzzer target for the unzstd stage: the frame-header reader, the window limit, the
// block walker that names error offsets, skippable frames, trailing bytes.
// Input: one byte choosing a chunk size, then the compressed stream.
// Every run is on this thread (StageHarness.runOnOneThread).
// Checks: no crash; the same end whichever way the input is cut and whether frames go
// through the pool (`threads: 2, poolWorkers: 0`: the stage's thread decodes the jobs),
// with the same output, or for a damaged frame, one output a prefix of the other (what
// libzstd writes of a damaged frame before it says so depends on the room it is given,
// by at most a block); and against libzstd's own streaming decoder, fed the whole input
// at once (ZstdFixture): where it decodes the input, the same bytes and success; where it
// refuses it, a failure.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUnzstd(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let chunk = Int(data[0]) % 61 + 1
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    // An RLE block of 4 bytes decodes to 128 KiB: past 1 KiB of input, a bomb would cost
    // more memory than the fuzzer should spend on one input.
    guard input.count <= 1024 else { return 0 }
    let run = { (threads: Int, chunkSize: Int) in
        StageHarness.runOnOneThread(try! UnzstdStage(threads: threads, poolWorkers: 0), input: input, chunkSize: chunkSize)
    }
    let small = run(1, chunk)
    let large = run(1, 65536)
    for (other, what) in [(large, "chunking"), (run(2, chunk), "the pool"), (run(2, 65536), "the pool")] {
        let agrees = other.end == small.end && (other.output == small.output
            || other.end != .finished && (other.output.starts(with: small.output) || small.output.starts(with: other.output)))
        if !agrees {
            fatalError("\(what) changed the result: \(small.end) / \(other.end), \(small.output.count) / \(other.output.count) bytes")
        }
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
