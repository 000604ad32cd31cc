import Glibc
import Testing
@testable import SluiceCore

/// The ordered job pool on its own, without a stage: jobs are numbers, running one
/// squares it, and retiring records it.
@Suite struct OrderedJobPoolTests {
    final class NumberJob: PoolJob {
        var number = -1
        var square = -1
        var failure: String?
    }

    /// Test state shared by the threads; everything under `lock`.
    final class Log: @unchecked Sendable {
        let lock = Lock()
        let changed = Condition()
        var finished: [Int] = []
        var retired: [Int] = []

        func append(finished n: Int) {
            lock.withLock { finished.append(n) }
            changed.broadcast()
        }

        /// Waits until `predicate` holds.
        func wait(until predicate: () -> Bool) {
            lock.lock()
            while !predicate() { changed.wait(lock) }
            lock.unlock()
        }
    }

    static func slots(_ count: Int) -> [NumberJob] { (0..<count).map { _ in NumberJob() } }

    /// Runs a job; an even job waits until the odd one after it finished, so the pool
    /// always has jobs finishing out of order. (Not on the dispatcher, which helps: it
    /// may not have submitted the odd job yet.)
    static func run(_ job: NumberJob, _ log: Log, pairs: Bool, isDispatcher: Bool = false) {
        if pairs && job.number % 2 == 0 && !isDispatcher {
            log.wait { log.finished.contains(job.number + 1) }
        }
        job.square = job.number * job.number
        log.append(finished: job.number)
    }

    /// Submits `count` jobs and retires them as the dispatcher does (gzip, gunzip).
    static func dispatch<W>(_ pool: OrderedJobPool<NumberJob, W>, count: Int,
                         failing: Int? = nil) -> (retired: [Int], error: StageError?) {
        var out: [Int] = []
        var next = 0
        do throws(StageError) {
            while next < count || pool.hasJobs {
                if next < count, let job = pool.filling {
                    job.number = next
                    job.failure = next == failing ? "job \(next) failed" : nil
                    next += 1
                    pool.submit()
                    continue
                }
                guard let job = pool.oldest(waiting: true) else { break }
                #expect(job.square == job.number * job.number)
                out.append(job.number)
                try pool.release()
            }
        } catch {
            return (out, error)
        }
        return (out, nil)
    }

    @Test(arguments: 1...8) func keepsOrderWhenJobsFinishOutOfOrder(threads: Int) {
        for helps in [true, false] where helps || threads > 1 {
            let log = Log()
            let dispatcher = pthread_self()
            let pool = OrderedJobPool<NumberJob, pthread_t>(
                slots: Self.slots(3 * threads), workers: helps ? max(1, threads - 1) : threads,
                dispatcherHelps: helps, makeWorker: { pthread_self() },
                run: { job, thread in
                    Self.run(job, log, pairs: true, isDispatcher: pthread_equal(thread, dispatcher) != 0)
                })
            let (retired, error) = Self.dispatch(pool, count: 200)
            pool.stop()
            #expect(error == nil)
            #expect(retired == Array(0..<200))
            // The pairs made each odd job finish before the even one before it (with help,
            // the dispatcher may have run every even job itself, without waiting).
            if !helps { #expect(log.finished != log.finished.sorted()) }
        }
    }

    @Test func aFailureInTheMiddleEndsTheRunAtItsTurn() {
        let log = Log()
        let pool = OrderedJobPool<NumberJob, Void>(
            slots: Self.slots(6), workers: 2, dispatcherHelps: true, makeWorker: {},
            run: { job, _ in Self.run(job, log, pairs: false) })
        let (retired, error) = Self.dispatch(pool, count: 50, failing: 17)
        #expect(error == .failed("job 17 failed"))
        // The client saw the failing job (to emit what it chooses of it), nothing after.
        #expect(retired == Array(0...17))
        #expect(pool.oldest(waiting: true) == nil)
        #expect(pool.stopError == .failed("job 17 failed"))
        pool.stop()
    }

    /// exec -j's way: the threads retire; the dispatcher only waits for slots.
    static func retiringPool(_ log: Log, slots: Int, workers: Int, pairs: Bool = false,
                             retire: @escaping (NumberJob) -> Bool) -> OrderedJobPool<NumberJob, Void> {
        OrderedJobPool<NumberJob, Void>(
            slots: Self.slots(slots), workers: workers, dispatcherHelps: false, makeWorker: {},
            run: { job, _ in Self.run(job, log, pairs: pairs) }, retire: { job, _ in retire(job) })
    }

    static func submit(_ pool: OrderedJobPool<NumberJob, Void>, count: Int, failing: Int? = nil) -> Int {
        var submitted = 0
        for n in 0..<count {
            guard let job = pool.nextSlot() else { break }
            job.number = n
            job.failure = n == failing ? "job \(n) failed" : nil
            pool.submit()
            submitted += 1
        }
        return submitted
    }

    @Test(arguments: 1...8) func threadsRetireInOrder(workers: Int) throws {
        let log = Log()
        let pool = Self.retiringPool(log, slots: 2 * workers, workers: workers, pairs: workers > 1) { job in
            log.lock.withLock { log.retired.append(job.number) }
            return true
        }
        #expect(Self.submit(pool, count: 200) == 200)
        try pool.drain()
        pool.stop()
        #expect(log.retired == Array(0..<200))
    }

    @Test func threadsStopAtAFailureAfterHandingItOn() {
        let log = Log()
        let pool = Self.retiringPool(log, slots: 4, workers: 2) { job in
            log.lock.withLock { log.retired.append(job.number) }
            return true
        }
        _ = Self.submit(pool, count: 100, failing: 9)
        #expect(throws: StageError.failed("job 9 failed")) { try pool.drain() }
        pool.stop()
        #expect(log.retired == Array(0...9))
    }

    @Test func aClosedDownstreamStopsTheRunAndWakesTheClient() {
        let log = Log()
        var rings = 0
        let pool = Self.retiringPool(log, slots: 4, workers: 3) { job in
            let isSent = job.number < 5
            if isSent { log.lock.withLock { log.retired.append(job.number) } }
            return isSent
        }
        pool.onStop = { log.lock.withLock { rings += 1 } }
        let submitted = Self.submit(pool, count: 1000)
        #expect(throws: StageError.downstreamClosed) { try pool.drain() }
        #expect(pool.nextSlot() == nil)
        pool.stop()
        // The dispatcher stopped within a ring of slots of the closing job.
        #expect(submitted <= 5 + 4)
        #expect(log.retired == Array(0..<5))
        #expect(rings == 1)
    }

    @Test func aSlowConsumerStopsSubmission() throws {
        let log = Log()
        let gate = Log()
        var isOpen = false
        let slots = 5
        let pool = Self.retiringPool(log, slots: slots, workers: 2) { job in
            // Job 0's output cannot go out until the gate opens: downstream is full.
            if job.number == 0 { gate.wait { isOpen } }
            return true
        }
        var submitted = 0
        let dispatcher = Thread {
            for n in 0..<100 {
                guard let job = pool.nextSlot() else { return }
                job.number = n
                gate.lock.withLock { submitted += 1 }
                pool.submit()
            }
        }
        // Every slot ran; with job 0 not retired, no slot is free.
        log.wait { log.finished.count == slots }
        #expect(gate.lock.withLock { submitted } == slots)
        #expect(log.lock.withLock { log.finished.count } == slots)
        gate.lock.withLock { isOpen = true }
        gate.changed.broadcast()
        dispatcher.join()
        try pool.drain()
        pool.stop()
        #expect(log.finished.sorted() == Array(0..<100))
    }

    @Test func eachThreadKeepsItsOwnState() {
        final class Owner { let thread = pthread_self(); var jobs = 0 }
        let pool = OrderedJobPool<NumberJob, Owner>(
            slots: Self.slots(8), workers: 3, dispatcherHelps: true, makeWorker: { Owner() },
            run: { job, owner in
                owner.jobs += 1
                job.square = pthread_equal(owner.thread, pthread_self()) != 0 ? owner.jobs : -1
            })
        var next = 0
        var retired = 0
        while next < 64 || pool.hasJobs {
            if next < 64, let job = pool.filling {
                job.number = next
                next += 1
                pool.submit()
            } else if let job = pool.oldest(waiting: true) {
                #expect(job.square >= 1, "a state used on a thread other than its own")
                retired += 1
                try? pool.release()
            }
        }
        pool.stop()
        #expect(retired == 64)
    }
}
