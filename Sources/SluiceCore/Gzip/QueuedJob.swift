/// Where a job of gzip's or gunzip's `-p` worker pool is: the dispatcher's while `idle`
/// (it fills it) and once `done` (it writes it out), a worker's while `working`. Changed
/// under the pool's lock.
enum JobState { case idle, queued, working, done }

/// A job of such a pool: workers take the oldest queued one first, so the dispatcher,
/// writing in submission order, waits as little as it can.
protocol QueuedJob: AnyObject {
    var state: JobState { get set }
    /// Submission order.
    var sequence: Int { get }
}

extension Array where Element: QueuedJob {
    /// The oldest queued job, now `working`; nil when none is queued. Under the pool's lock.
    func takeOldestQueued() -> Element? {
        var oldest: Element?
        for job in self where job.state == .queued && (oldest == nil || job.sequence < oldest!.sequence) {
            oldest = job
        }
        oldest?.state = .working
        return oldest
    }
}
