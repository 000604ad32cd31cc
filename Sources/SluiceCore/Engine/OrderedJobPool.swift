// # The ordered job pool: work done out of order, retired in order
//
// gzip -p, gunzip -p and exec -j do the same thing: the stage's thread (the dispatcher)
// fills jobs in stream order, threads do them side by side, and their results go out in
// the order the jobs were filled. This pool is that machinery, written once.
//
// Slots: a fixed ring of `slots.count` jobs, made by the client before the pool starts
// and reused for ever, so memory is fixed when the stage starts: the client states
// what one job holds, and its bound is `slots.count` of those plus one state per thread.
// Three counters, under `lock`, say where every job is: the jobs submitted and not yet
// retired, `retired ..< submitted`, are in flight, slot `i % slots.count` for job `i`;
// of those, `taken ..< submitted` are queued. Threads always take the oldest queued job
// (`taken`), so the queue is a range, not a search. A job taken and not yet `isDone` is
// being run; the slot at `submitted`, if not in flight, is the one to fill (`filling`).
//
// Ownership: a slot is the dispatcher's while it fills it (not in flight), the taker's
// while it runs (taken, not done), and the retirer's once done. Every hand-over is a
// counter or an `isDone` change under `lock`, so whatever the job holds needs no lock
// of its own.
//
// Threads: `workers` threads run jobs; with `dispatcherHelps`, the dispatcher runs
// the oldest queued job itself while the job it must retire next is not done, rather than
// sleep until it is (so N threads are N - 1 workers and the stage's thread). Each thread
// has a state of its own (`Worker`: a zlib stream, a pacer), made on that thread and
// passed to every job it runs. Workers start with the first job submitted.
//
// Retiring, two ways:
// - by the dispatcher (gzip, gunzip): it asks for the oldest job in flight once done
//   (`oldest(waiting:)`), writes it out through the stage's emitter, then `release`s
//   it. A slow consumer holds the dispatcher in its write: the slots stay full, the
//   workers idle, and no more input is read.
// - by the threads that run jobs (exec -j, `retire` given): a job's output goes down the
//   stage's channel from the thread that made it, so the dispatcher (which may be blocked
//   reading input) is not needed for it to go out. After each job, its thread retires
//   every done job from the oldest on, one retirer at a time, handing each to `retire`
//   outside the lock. A thread whose job is not the oldest can wait for its turn
//   (`waitUntilOldest`). The dispatcher only waits for a free slot (`nextSlot`).
//
// Ends: the first of a job's failure (at its turn to retire, after the client emitted
// what it chose to of it, so nothing after it is ever emitted), a cancel (downstream
// closed) or `stop` is the run's `stopReason`, and later ones are consequences. Once
// stopped, no job is taken, no job is retired, and every waiter returns; `onStop` then
// wakes threads blocked outside the pool (exec's commands, in poll(2)). `stop` joins the
// workers.
//
// Signalling, one policy: state changes under `lock`; wake-ups are signalled after the
// lock is released (a thread woken under it would only block on it), and wake one thread
// where one suffices: a submitted job wakes one worker; a done job wakes the dispatcher
// only if it waits for that very job; a retired job wakes those waiting for a slot or for
// their turn (a broadcast: several may wait). Stopping wakes everyone.

/// A job of an `OrderedJobPool`.
protocol PoolJob: AnyObject {
    /// Set by the thread that ran it: the run fails with it when the job's turn to retire
    /// comes (nil: it went well).
    var failure: String? { get }
}

final class OrderedJobPool<Job: PoolJob, Worker>: @unchecked Sendable {
    /// The ring; job `i` is `slots[i % slots.count]`.
    let slots: [Job]
    let workerCount: Int
    let dispatcherHelps: Bool
    private let makeWorker: () -> Worker
    private let run: (Job, inout Worker) -> Void
    /// With it, the threads that run jobs retire them (see the essay); false from it
    /// cancels the run (downstream closed).
    private let retire: ((Job, inout Worker) -> Bool)?
    /// Called outside the lock once the run stops, however it stops.
    var onStop: (() -> Void)?

    /// Protects the counters, `isDone`, `awaited`, `isRetiring`, `stopReason`, `isStopping`.
    private let lock = Lock()
    /// Workers wait here for a job.
    private let queuedJob = Condition()
    /// The dispatcher waits here for job `awaited` to be done.
    private let awaitedDone = Condition()
    /// Waiters for a free slot or their turn to retire.
    private let retiredJob = Condition()

    private var submitted = 0
    private var taken = 0
    private var retired = 0
    /// Per slot: its job ran (true from done until the slot is filled again).
    private var isDone: [Bool]
    /// The job the dispatcher waits for; -1 when none.
    private var awaited = -1
    private var isRetiring = false
    /// Why the run stopped: a job's failure, `.downstreamClosed` for a cancel or a stop.
    private var stopReason: StageError?
    private var workers: [Thread] = []
    /// The dispatcher's own state, for the jobs it runs while it waits; made on first use.
    private var dispatcherWorker: Worker?

    /// - Parameters:
    ///   - slots: the ring, every job in it made up front.
    ///   - workers: threads besides the dispatcher (0 only if it helps: then it runs every
    ///     job itself, when it waits for one).
    ///   - dispatcherHelps: the dispatcher runs queued jobs while it waits.
    ///   - makeWorker: one thread's state, made on that thread.
    ///   - run: does one job, on any of the threads, with that thread's state.
    ///   - retire: if given, the threads retire jobs themselves (see the essay), each with
    ///     its own state.
    init(slots: [Job], workers: Int, dispatcherHelps: Bool, makeWorker: @escaping () -> Worker,
         run: @escaping (Job, inout Worker) -> Void, retire: ((Job, inout Worker) -> Bool)? = nil) {
        precondition(!slots.isEmpty && (workers >= 1 || workers == 0 && dispatcherHelps))
        self.slots = slots
        self.workerCount = workers
        self.dispatcherHelps = dispatcherHelps
        self.makeWorker = makeWorker
        self.run = run
        self.retire = retire
        isDone = Array(repeating: false, count: slots.count)
    }

    deinit { stop() }

    // MARK: The dispatcher

    /// The slot to fill next, or nil while every slot is in flight. The dispatcher's only.
    var filling: Job? {
        submitted - retired < slots.count ? slots[submitted % slots.count] : nil
    }

    /// How many jobs were submitted; the dispatcher's only.
    var submittedCount: Int { submitted }

    /// True while a job is in flight. The dispatcher's only (in dispatcher retiring).
    var hasJobs: Bool { retired < submitted }

    /// Queues the filling job for the threads (starting them on first use).
    func submit() {
        if workers.isEmpty { workers = (0..<workerCount).map { _ in Thread { [self] in work() } } }
        lock.lock()
        precondition(submitted - retired < slots.count, "submit with no free slot")
        isDone[submitted % slots.count] = false
        submitted += 1
        lock.unlock()
        queuedJob.signal()
    }

    /// The oldest job in flight once it is done; nil when none is in flight, when it is not
    /// done and `waiting` is false, or when the run stopped. While it waits, the dispatcher
    /// runs queued jobs, the oldest first, if `dispatcherHelps`.
    func oldest(waiting: Bool) -> Job? {
        lock.lock()
        defer { lock.unlock() }
        guard retired < submitted, stopReason == nil else { return nil }
        let slot = retired % slots.count
        while !isDone[slot] {
            if !waiting || stopReason != nil { return nil }
            if dispatcherHelps && taken < submitted {
                let (job, sequence) = takeQueued()
                lock.unlock()
                if dispatcherWorker == nil { dispatcherWorker = makeWorker() }
                run(job, &dispatcherWorker!)
                lock.lock()
                isDone[sequence % slots.count] = true
                continue
            }
            awaited = retired
            awaitedDone.wait(lock)
        }
        awaited = -1
        return slots[slot]
    }

    /// The oldest job was written out: its slot is free. Throws its failure, which stops
    /// the run.
    func release() throws(StageError) {
        lock.lock()
        let job = slots[retired % slots.count]
        retired += 1
        let hasStopped = job.failure.map { haltLocked(.failed($0)) } ?? false
        let reason = stopReason
        lock.unlock()
        retiredJob.broadcast()
        if hasStopped { stopped() }
        if let reason { throw reason }
    }

    /// Waits for a slot to fill (when `retire` is given, the threads free them); nil once
    /// the run stopped.
    func nextSlot() -> Job? {
        lock.lock()
        defer { lock.unlock() }
        while stopReason == nil && submitted - retired >= slots.count { retiredJob.wait(lock) }
        return stopReason == nil ? slots[submitted % slots.count] : nil
    }

    /// Waits until every job submitted is retired; throws why the run stopped, if it did.
    func drain() throws(StageError) {
        lock.lock()
        while stopReason == nil && retired < submitted { retiredJob.wait(lock) }
        let reason = stopReason
        lock.unlock()
        if let reason { throw reason }
    }

    /// Stops the run (if it had not stopped), then returns the jobs in flight, oldest
    /// first: what the client must deal with instead (gunzip reads them sequentially).
    func abandon() -> [Job] {
        stop()
        return (retired..<submitted).map { slots[$0 % slots.count] }
    }

    // MARK: Any thread

    /// Why the run stopped; nil while it goes on.
    var stopError: StageError? { lock.withLock { stopReason } }

    /// Downstream closed: the run stops, quietly.
    func cancel() {
        if halt(.downstreamClosed) { stopped() }
    }

    /// Ends the run and joins the workers; jobs still queued are left as they are.
    func stop() {
        if halt(.downstreamClosed) { stopped() }
        for worker in workers { worker.join() }
        workers.removeAll()
    }

    /// Whether a job's output may go out now.
    enum Turn { case now, later, stopped }

    /// `.now` if `job` is the oldest in flight, `.stopped` once the run stopped.
    func turn(of job: Job) -> Turn {
        lock.withLock {
            stopReason != nil ? .stopped : slots[retired % slots.count] === job ? .now : .later
        }
    }

    /// Waits until `job` is the oldest in flight; false once the run stopped.
    func waitUntilOldest(_ job: Job) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        while stopReason == nil && slots[retired % slots.count] !== job { retiredJob.wait(lock) }
        return stopReason == nil
    }

    // MARK: Threads

    private func work() {
        var worker = makeWorker()
        while let (job, sequence) = nextJob() {
            run(job, &worker)
            lock.lock()
            isDone[sequence % slots.count] = true
            let isAwaited = awaited == sequence
            lock.unlock()
            if isAwaited { awaitedDone.signal() }
            if retire != nil { retireDone(&worker) }
        }
    }

    /// The oldest queued job, now the caller's; nil once stopped.
    private func nextJob() -> (Job, Int)? {
        lock.lock()
        defer { lock.unlock() }
        while stopReason == nil && taken == submitted { queuedJob.wait(lock) }
        guard stopReason == nil else { return nil }
        return takeQueued()
    }

    /// Under `lock`, with one queued: the oldest queued job, now taken, and its number.
    private func takeQueued() -> (job: Job, sequence: Int) {
        taken += 1
        return (slots[(taken - 1) % slots.count], taken - 1)
    }

    /// Retires done jobs from the oldest on, through `retire`; one retirer at a time (a
    /// job done meanwhile is retired by the one retiring, which looks again before it
    /// ends). A job's failure stops the run once its output was handed on.
    private func retireDone(_ worker: inout Worker) {
        lock.lock()
        guard !isRetiring else { return lock.unlock() }
        isRetiring = true
        var hasStopped = false
        while stopReason == nil, retired < submitted, isDone[retired % slots.count] {
            let job = slots[retired % slots.count]
            lock.unlock()
            let isHandedOn = retire!(job, &worker)
            lock.lock()
            if !isHandedOn {
                hasStopped = haltLocked(.downstreamClosed)
                break
            }
            if let failure = job.failure {
                hasStopped = haltLocked(.failed(failure))
                break
            }
            retired += 1
            lock.unlock()
            retiredJob.broadcast()
            lock.lock()
        }
        isRetiring = false
        lock.unlock()
        if hasStopped { stopped() }
    }

    /// Records why the run stops, if it had not; true if this call stopped it.
    private func halt(_ reason: StageError) -> Bool {
        lock.withLock { haltLocked(reason) }
    }

    private func haltLocked(_ reason: StageError) -> Bool {
        guard stopReason == nil else { return false }
        stopReason = reason
        return true
    }

    /// The run just stopped: every waiter returns, and so does whatever `onStop` wakes.
    private func stopped() {
        queuedJob.broadcast()
        awaitedDone.broadcast()
        retiredJob.broadcast()
        onStop?()
    }
}
