import Glibc

/// The program: parse, run, report. `main.swift` only calls `Sluice.main`.
public enum Sluice {
    /// The process's arguments without the program name, read from argv as bytes
    /// (`String(rawCString:)`): `CommandLine.arguments` would turn every byte that is not
    /// UTF-8 into U+FFFD.
    public static var processArguments: [String] {
        (1..<Int(CommandLine.argc)).map { String(rawCString: CommandLine.unsafeArgv[$0]!) }
    }

    /// Runs sluice with `arguments` (without the program name) and never returns.
    public static func main(_ arguments: [String]) -> Never {
        let command: Command
        do throws(SluiceError) {
            command = try CommandParser.parse(arguments)
        } catch {
            exit(with: error, report: nil)
        }
        switch command {
        case .help: printAndExit(Usage.help)
        case .stageHelp(let stage): printAndExit(Usage.help(for: stage))
        case .version: printAndExit(Usage.version)
        case .completion(let shell): printAndExit(Completion.script(for: shell))
        case .run(let globals, let invocations):
            run(globals, invocations, commandLine: arguments)
        }
    }

    /// `commandLine`: the arguments, for the trace picture's title.
    private static func run(_ globals: GlobalOptions, _ invocations: [StageInvocation],
                            commandLine arguments: [String]) -> Never {
        let diagnostics = Diagnostics()
        let plan = makePlan(globals, invocations, diagnostics)
        // A closed stdout must come back as EPIPE so the writer can stop the pipeline and
        // print --stats; the death by SIGPIPE is re-raised at the end.
        signal(SIGPIPE, SIG_IGN)
        // A file past RLIMIT_FSIZE (a spill file, a tee) must fail with EFBIG, a message,
        // not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        let running = RunningPipeline()
        installSignalHandlers(globals, running, diagnostics)
        if globals.pipeBytes > 0 {
            FileDescriptor.standardInput.enlargePipe(to: globals.pipeBytes)
            FileDescriptor.standardOutput.enlargePipe(to: globals.pipeBytes)
        }
        if invocations.isEmpty && !globals.isBufferTuned && globals.stats == nil && !globals.drawsProgress
            && globals.stallTimeoutSeconds == nil && globals.tracePath == nil && !globals.emitsHadoopCounters {
            spliceOrFallBack()
        }
        let pipeline = Pipeline(plan, diagnostics: diagnostics)
        if let failure = pipeline.setupFailure { exit(with: failure, report: nil) }
        running.pipeline = pipeline
        let observers = Observers(globals, pipeline, diagnostics, commandLine: (["sluice"] + arguments).joined(separator: " "))
        running.trace = observers.trace
        pipeline.start()
        let endedByItself = observers.wait()
        end(pipeline, globals, observers, endedByItself: endedByItself, diagnostics)
    }

    /// The run's plan from the command line, or the exit its usage error calls for.
    private static func makePlan(_ globals: GlobalOptions, _ invocations: [StageInvocation],
                                 _ diagnostics: Diagnostics) -> RunPlan {
        let inputFile = InputFile(.standardInput)
        let context = StageContext(chunkBytes: globals.chunkBytes, maxLineBytes: globals.maxLineBytes,
                                   diagnostics: diagnostics, pipeBytes: globals.pipeBytes,
                                   inputBytes: inputFile?.remainingBytes)
        let stages: [StagePlan]
        do throws(SluiceError) {
            stages = try StageRegistry.plans(for: invocations, globals: globals, context: context)
        } catch {
            exit(with: error, report: nil)
        }
        if FileDescriptor.standardOutput.isTerminal,
           let last = stages.last(where: { $0.output != .sameAsInput }), last.output == .compressed {
            // As gzip: compressed bytes on a terminal are never what was meant.
            exit(with: .runtime("\(last.name): compressed data not written to a terminal (use -f to force)"),
                 report: nil)
        }
        return RunPlan(stages: stages, chunkBytes: globals.chunkBytes, inputBuffer: globals.inputBuffer,
                       drainsInput: globals.drainsInput, inputFile: inputFile)
    }

    /// Before any other thread: USR1 prints the stats so far and the run goes on (as
    /// dd's status); INT, TERM and HUP end the children, print --stats (as mbuffer prints
    /// its summary), then end sluice by the same signal.
    private static func installSignalHandlers(_ globals: GlobalOptions, _ running: RunningPipeline,
                                              _ diagnostics: Diagnostics) {
        EndingSignals.install(onStatus: {
            guard let pipeline = running.pipeline else { return }
            let report = PipelineReport(pipeline, endNanos: monotonicNanos())
            diagnostics.write(globals.stats == .json ? report.json : report.table)
        }, onSignal: { _ in
            // The trace picture too is drawn before the death, as the samples so far.
            running.trace?.finish(now: monotonicNanos())
            guard let stats = globals.stats, let pipeline = running.pipeline else { return }
            let report = PipelineReport(pipeline, endNanos: monotonicNanos())
            Diagnostics.writeStandardError(stats == .json ? report.json : report.table)
        })
    }

    /// After the run: the report, the warnings, where stdin is left, and the exit status.
    private static func end(_ pipeline: Pipeline, _ globals: GlobalOptions, _ observers: Observers,
                            endedByItself: Bool, _ diagnostics: Diagnostics) -> Never {
        // One report for the counters and --stats=json alike, so they agree to the byte.
        let finalReport = globals.stats != nil || observers.hadoop != nil ? PipelineReport(pipeline) : nil
        if let hadoop = observers.hadoop, let finalReport { hadoop.finish(finalReport) }
        if !endedByItself, let message = observers.monitor?.stallMessage {
            // Threads may be stuck in read(2) or write(2): exit without joining them.
            exit(with: .runtime(message), report: nil)
        }
        warnAboutDrops(pipeline, diagnostics)
        let text = globals.stats.flatMap { format in finalReport.map { format == .json ? $0.json : $0.table } }
        if let failure = pipeline.outcome.first {
            exit(with: failure, report: text)
        }
        pipeline.positionInput()
        EndingSignals.waitIfEnding()
        if let text { Diagnostics.writeStandardError(text) }
        Glibc.exit(pipeline.outcome.verdict == .noneSelected ? 1 : 0)
    }

    /// Shedding is never silent: one line per buffer that dropped lines, at exit.
    private static func warnAboutDrops(_ pipeline: Pipeline, _ diagnostics: Diagnostics) {
        for (i, channel) in pipeline.channels.enumerated() where channel.overflow.drops {
            let (records, bytes) = channel.dropped
            guard records > 0 || bytes > 0 else { continue }
            diagnostics.warn(pipeline.nodes[i].label, "dropped \(Decimal.grouped(records)) "
                + "line\(records == 1 ? "" : "s") (\(Sizes.human(bytes))) when its buffer was full")
        }
    }

    /// Stage-less pass-through by splice(2); returns only when splice cannot serve these
    /// descriptors, before any byte moved.
    private static func spliceOrFallBack() {
        switch Splice.copy(from: .standardInput, to: .standardOutput) {
        case .unsupported:
            return
        case .finished:
            Glibc.exit(0)
        case .readFailed(let e, _):
            exit(with: .runtime("stdin: \(e)"), report: nil)
        case .writeFailed(let e, _):
            exit(with: e == .brokenPipe ? .brokenPipe : .runtime("stdout: \(e)"), report: nil)
        }
    }

    /// A failure before the run starts: printed, and the exit it calls for.
    static func fail(_ failure: SluiceError) -> Never { exit(with: failure, report: nil) }

    /// Prints `failure` the one way sluice prints failures, then the report, and exits
    /// with the status the failure calls for.
    private static func exit(with failure: SluiceError, report: String?) -> Never {
        EndingSignals.waitIfEnding()
        switch failure {
        case .usage(let message, let stage):
            Diagnostics.writeStandardError("sluice: \(message)\n" + Usage.short(for: stage))
            Glibc.exit(2)
        case .runtime(let message):
            Diagnostics.writeStandardError("sluice: \(message)\n" + (report ?? ""))
            Glibc.exit(1)
        case .brokenPipe:
            if let report { Diagnostics.writeStandardError(report) }
            signal(SIGPIPE, SIG_DFL)
            raise(SIGPIPE)
            Glibc.exit(141)
        }
    }

    /// Help and version go to stdout; failing to write them is an error like any other.
    private static func printAndExit(_ text: String) -> Never {
        do throws(Errno) {
            try FileDescriptor.standardOutput.writeAll(text)
        } catch {
            if error == .brokenPipe { exit(with: .brokenPipe, report: nil) }
            exit(with: .runtime("stdout: \(error)"), report: nil)
        }
        Glibc.exit(0)
    }
}

/// What watches a run from the main thread while it goes on: the progress display and
/// stall watchdog (`Monitor`, which also samples the trace), and the Hadoop counters.
private struct Observers {
    let pipeline: Pipeline
    var monitor: Monitor?
    var hadoop: HadoopCounters?
    var trace: Trace?

    /// Exits with the error when the trace file cannot be made.
    init(_ globals: GlobalOptions, _ pipeline: Pipeline, _ diagnostics: Diagnostics, commandLine: String) {
        self.pipeline = pipeline
        if let path = globals.tracePath {
            do throws(Errno) {
                trace = try Trace(path: path, intervalNanos: globals.traceIntervalNanos, pipeline: pipeline,
                                  commandLine: commandLine)
            } catch {
                Sluice.fail(.runtime("--trace \(path): \(error)"))
            }
        }
        if globals.drawsProgress || globals.stallTimeoutSeconds != nil || trace != nil {
            let style: ProgressDisplay.Style = FileDescriptor.standardError.isTerminal ? .redrawn : .appended
            monitor = Monitor(pipeline: pipeline,
                              progress: globals.drawsProgress ? ProgressDisplay(diagnostics: diagnostics, style: style) : nil,
                              stallTimeoutSeconds: globals.stallTimeoutSeconds,
                              expectedInputBytes: globals.expectedInputBytes, trace: trace)
        }
        hadoop = globals.emitsHadoopCounters ? HadoopCounters(pipeline: pipeline, diagnostics: diagnostics) : nil
    }

    /// Waits for the run, ticking the observers; true when it ended by itself.
    func wait() -> Bool {
        guard monitor != nil || hadoop != nil else { return pipeline.wait() }
        let endedByItself = pipeline.wait(tickNanos: min(Monitor.tickNanos, trace?.intervalNanos ?? .max)) {
            hadoop?.tick()
            return monitor?.tick() ?? true
        }
        monitor?.finish()
        return endedByItself
    }
}

extension GlobalOptions {
    /// `-P` draws: forced, or auto with stderr a terminal.
    var drawsProgress: Bool {
        progress == .force || (progress == .auto && FileDescriptor.standardError.isTerminal)
    }
}

/// The pipeline of the run and its trace, once they exist, for the signal thread's
/// report and picture.
private final class RunningPipeline: @unchecked Sendable {
    /// Protects `stored` and `storedTrace`.
    private let lock = Lock()
    private var stored: Pipeline?
    private var storedTrace: Trace?
    var pipeline: Pipeline? {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
    var trace: Trace? {
        get { lock.withLock { storedTrace } }
        set { lock.withLock { storedTrace = newValue } }
    }
}
