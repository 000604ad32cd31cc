import Glibc

/// A pthread mutex on the heap (a pthread_mutex_t must not move, so it cannot live
/// inline in a Swift value).
public final class Lock: @unchecked Sendable {
    let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) public func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) public func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always) public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A pthread condition variable on the heap, always used with one `Lock`, on
/// CLOCK_MONOTONIC so that timed waits ignore wall-clock jumps.
public final class Condition: @unchecked Sendable {
    let cond: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deallocate()
    }

    /// pthread_cond_wait: `lock` must be held; spurious wake-ups happen, so loop.
    @inline(__always) public func wait(_ lock: Lock) { pthread_cond_wait(cond, lock.mutex) }

    /// pthread_cond_timedwait until the monotonic instant `deadlineNanos`.
    public func wait(_ lock: Lock, untilNanos deadlineNanos: UInt64) {
        var ts = timespec(tv_sec: Int(deadlineNanos / 1_000_000_000),
                          tv_nsec: Int(deadlineNanos % 1_000_000_000))
        pthread_cond_timedwait(cond, lock.mutex, &ts)
    }

    @inline(__always) public func signal() { pthread_cond_signal(cond) }
    @inline(__always) public func broadcast() { pthread_cond_broadcast(cond) }
}

/// CLOCK_MONOTONIC in nanoseconds.
@inline(__always) public func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
