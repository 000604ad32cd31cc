// libFuzzer target for the gunzip stage: header parser, member loop, trailer checks, the
// routing of members, and the parallel path for members of known size (BGZF).
// Input: one byte choosing a chunk size, then the compressed stream.
// Every run is on this thread (StageHarness.runOnOneThread): the CRC is checked inline
// and the pool's jobs are decoded by the stage's own thread (`poolWorkers: 0`), so an
// input costs what gunzip's logic costs, not thread starts and hand-overs. The CRC
// checker's thread and the pool's workers are covered by the unit tests.
// Checks: no crash; the same output and the same end whichever way the input is cut and
// whether members of known size go through the pool (into buffers of their own at small
// chunks, into pool chunks at 128 KiB) or not; and where zlib decodes the input as whole
// gzip members, the same bytes and success.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGunzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let chunk = Int(data[0]) % 61 + 1
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    // Deflate expands at most 1032:1: past 8 KiB of input, a bomb would cost more
    // memory than the fuzzer should spend on one input.
    guard input.count <= 8192 else { return 0 }
    let run = { (threads: Int, chunkSize: Int) in
        StageHarness.runOnOneThread(try! GunzipStage(threads: threads, checksInline: true, poolWorkers: 0),
                                    input: input, chunkSize: chunkSize)
    }
    let small = run(1, chunk)
    let large = run(1, 65536)
    let parallel = run(2, chunk)
    // 128 KiB, the default: batches decoded into pool chunks rather than a buffer of their own.
    let parallelChunks = run(2, 131072)
    if small.end != large.end || small.output != large.output {
        fatalError("chunking changed the result: \(small.end) / \(large.end), \(small.output.count) / \(large.output.count) bytes")
    }
    for pooled in [parallel, parallelChunks] where pooled.end != small.end || pooled.output != small.output {
        fatalError("the pool changed the result: \(pooled.end) / \(small.end), \(pooled.output.count) / \(small.output.count) bytes")
    }
    if let reference = Reference.gunzipMembers(input, limit: 16 << 20) {
        if large.end != .finished || large.output != reference {
            fatalError("zlib decodes this input, gunzip ended \(large.end) with \(large.output.count) of \(reference.count) bytes")
        }
    }
    return 0
}
