import Foundation
import Testing

/// The built binary: `SLUICE_BIN` (the Makefile sets it to the release build), else the
/// release build, else the debug build.
let sluiceBinary: String = {
    if let path = ProcessInfo.processInfo.environment["SLUICE_BIN"] { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    for config in ["release", "debug"] {
        let path = root.appendingPathComponent(".build/\(config)/sluice").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return "sluice"
}()

/// Set by `make test-sanitize`: the binary runs under ThreadSanitizer or AddressSanitizer,
/// many times slower and with shadow memory in its RSS. Time limits stretch tenfold and
/// RSS bounds are not checked (the sanitizers check memory their own way).
let sanitized = ProcessInfo.processInfo.environment["SLUICE_SANITIZED"] != nil

/// Whether a peak RSS is under a bound; always true under a sanitizer.
func rssWithin(_ rss: Int, _ bound: Int) -> Bool { sanitized || rss < bound }

/// What a command did: the triple that zstd's cli-tests check.
struct Outcome {
    var stdout: Data
    var stderr: String
    /// Exit status, or 128 + signal number for a signal death, as a shell reports it.
    var status: Int32
    var text: String { String(decoding: stdout, as: UTF8.self) }
}

/// Runs `script` in bash with `$SLUICE` set to the binary and `$T` to a fresh temporary
/// directory (removed afterwards), feeding `stdin` if given. `timeout` kills a hang.
/// Throws `MissingTool` instead when the script names a tool that is not installed.
@discardableResult
func sh(_ script: String, stdin: Data? = nil, timeout: Int = 120) throws -> Outcome {
    if let missing = missingTool(in: script) { throw missing }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-e2e-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    process.arguments = ["--signal=KILL", "\(sanitized ? timeout * 10 : timeout)", "/bin/bash", "-c", script]
    var environment = ProcessInfo.processInfo.environment
    environment["SLUICE"] = sluiceBinary
    environment["T"] = dir.path
    environment["LC_ALL"] = "C"
    process.environment = environment
    let outFile = dir.appendingPathComponent(".stdout"), errFile = dir.appendingPathComponent(".stderr")
    _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errFile.path, contents: nil)
    let outHandle = try FileHandle(forWritingTo: outFile), errHandle = try FileHandle(forWritingTo: errFile)
    process.standardOutput = outHandle
    process.standardError = errHandle
    if let stdin {
        let inFile = dir.appendingPathComponent(".stdin")
        try stdin.write(to: inFile)
        process.standardInput = try FileHandle(forReadingFrom: inFile)
    } else {
        process.standardInput = FileHandle.nullDevice
    }
    try process.run()
    process.waitUntilExit()
    try outHandle.close()
    try errHandle.close()
    let status = process.terminationReason == .uncaughtSignal
        ? 128 + process.terminationStatus : process.terminationStatus
    return Outcome(stdout: try Data(contentsOf: outFile),
                   stderr: String(decoding: try Data(contentsOf: errFile), as: UTF8.self),
                   status: status)
}

/// `sh(script)` with its wall time, taken inside the script, printed after its output as
/// a line `ms=N` (the harness itself may wait longer, for descriptors a background
/// command inherited). Read it with `milliseconds(in:)`.
func timed(_ script: String, timeout: Int = 120) throws -> Outcome {
    try sh("s=$(date +%s%N)\n\(script)\necho \"ms=$(( ($(date +%s%N) - s) / 1000000 ))\"", timeout: timeout)
}

/// Milliseconds between two `date +%s%N` readings printed by a script as `ms=N`.
func milliseconds(in text: String, key: String = "ms") -> Int? {
    for line in text.split(separator: "\n") where line.hasPrefix("\(key)=") {
        return Int(line.dropFirst(key.count + 1))
    }
    return nil
}

/// A tool a script runs is not installed. The test fails with this one line naming the
/// package, rather than with whatever the script makes of "command not found".
struct MissingTool: Error, CustomStringConvertible {
    var tool: String
    var package: String
    var description: String { "\(tool) is not installed: apt-get install \(package), or run make deps" }
}

/// The tools the scripts run beyond bash, coreutils, diffutils, grep, gzip and sed (which
/// every Debian machine has), with the Debian package of each: the Makefile's
/// TEST_PACKAGES, which `make deps` installs.
let testTools: [(tool: String, package: String)] = [
    ("pigz", "pigz"), ("pv", "pv"), ("python3", "python3"), ("mandoc", "mandoc"),
    ("script", "bsdutils"), ("/usr/bin/time", "time"), ("awk", "mawk"),
    ("xmllint", "libxml2-utils"), ("rsvg-convert", "librsvg2-bin"),
    ("bgzip", "tabix"), ("htsfile", "tabix"), ("jq", "jq"), ("parallel", "parallel"),
]

/// The tools of `testTools` that are not on `PATH` (or not at their absolute path), looked
/// up once.
let missingTools: [MissingTool] = {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    func isInstalled(_ tool: String) -> Bool {
        if tool.hasPrefix("/") { return FileManager.default.isExecutableFile(atPath: tool) }
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(tool)") }
    }
    return testTools.filter { !isInstalled($0.tool) }.map { MissingTool(tool: $0.tool, package: $0.package) }
}()

/// The first missing tool that `script` names as a word of its own (`pv -q`, not `$T/pv`).
func missingTool(in script: String) -> MissingTool? {
    guard !missingTools.isEmpty else { return nil }
    let words = Set(script.split { !($0.isLetter || $0.isNumber || "_./-".contains($0)) })
    return missingTools.first { words.contains(Substring($0.tool)) }
}

extension Tag {
    /// Suites written to drive sluice's threads hardest: `make test-sanitize` runs them
    /// under ThreadSanitizer and AddressSanitizer (selected by name: DocsTests checks it).
    @Tag static var threads: Self
}

/// Bash functions for tests of what becomes of the commands sluice starts, synchronized
/// on pipes closing rather than on sleeps. Prepend to a script.
/// - `watch_gone`: from here on, descriptor 3 of everything the script starts (sluice,
///   and so every command it starts and what they start) is the write end of a FIFO.
///   `wait_gone` closes the script's own and prints `gone=0` once every other holder has
///   exited, or `gone=124` when one still holds it 20 s later: a command left running.
/// - `watch_started N`: descriptor 4 is another FIFO's write end; a command writes a line
///   to it to say it started. `wait_started` prints `started=N` once N lines came (fewer
///   if every writer closed it first, or after 20 s).
let commandWatch = """
    watch_gone() {
        mkfifo "$T/gone.fifo"
        ( exec 3>&- 4>&-; timeout 20 cat "$T/gone.fifo" > /dev/null; echo "gone=$?" > "$T/gone" ) &
        gone_reader=$!
        exec 3> "$T/gone.fifo"
    }
    wait_gone() {
        exec 3>&-
        wait "$gone_reader"
        cat "$T/gone"
    }
    watch_started() {
        mkfifo "$T/started.fifo"
        ( exec 3>&- 4>&-; timeout 20 head -n "$1" "$T/started.fifo" | wc -l > "$T/started" ) &
        started_reader=$!
        exec 4> "$T/started.fifo"
    }
    wait_started() {
        exec 4>&-
        wait "$started_reader"
        echo "started=$(cat "$T/started")"
    }

    """
