import Glibc

/// Runs a system call that returns -1 and sets errno on failure, and returns its value
/// or throws its errno, retrying EINTR when `retryOnInterrupt` (swift-system's
/// `valueOrErrno(retryOnInterrupt:)`). Never used for close(2), which is not retried.
@inline(__always)
func valueOrErrno<T: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ call: () -> T) throws(Errno) -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let e = Errno.current
        if retryOnInterrupt && e == .interrupted { continue }
        throw e
    }
}

/// nanosleep(2) for `nanoseconds`, sleeping again for what is left after EINTR.
func sleep(nanoseconds: Int) {
    var request = timespec(tv_sec: nanoseconds / 1_000_000_000, tv_nsec: nanoseconds % 1_000_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
