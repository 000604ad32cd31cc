// libFuzzer target for the gunzip stage: header parser, member loop, trailer checks, and
// the parallel path for members of known size (BGZF).
// Input: one byte choosing a chunk size, then the compressed stream.
// Checks: no crash; the same output and the same end whichever way the input is cut and
// whether members are decoded on two threads (into buffers of their own at small chunks,
// into pool chunks at 128 KiB) or one; and where zlib decodes the input as
// whole gzip members, the same bytes and success.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGunzip(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size >= 1 else { return 0 }
    let chunk = Int(data[0]) % 61 + 1
    let input = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let limit = 8 << 20
    let small = StageHarness.run(try! GunzipStage(), input: input, chunkSize: chunk, outputLimit: limit)
    let large = StageHarness.run(try! GunzipStage(), input: input, chunkSize: 65536, outputLimit: limit)
    let parallel = StageHarness.run(try! GunzipStage(threads: 2), input: input, chunkSize: chunk, outputLimit: limit)
    // 128 KiB, the default: batches decoded into pool chunks rather than a buffer of their own.
    let parallelChunks = StageHarness.run(try! GunzipStage(threads: 2), input: input, chunkSize: 131072, outputLimit: limit)
    let results = [small, large, parallel, parallelChunks]
    if results.contains(where: { $0.end == .downstreamClosed }) { return 0 }  // hit the limit
    if small.end != large.end || small.output != large.output {
        fatalError("chunking changed the result: \(small.end) / \(large.end), \(small.output.count) / \(large.output.count) bytes")
    }
    for threaded in [parallel, parallelChunks] where threaded.end != small.end || threaded.output != small.output {
        fatalError("two threads changed the result: \(threaded.end) / \(small.end), \(threaded.output.count) / \(small.output.count) bytes")
    }
    if let reference = Reference.gunzipMembers(input, limit: limit), reference.count <= limit {
        if large.end != .finished || large.output != reference {
            fatalError("zlib decodes this input, gunzip ended \(large.end) with \(large.output.count) of \(reference.count) bytes")
        }
    }
    return 0
}
