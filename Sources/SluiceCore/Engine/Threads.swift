import Glibc

/// The body of a thread, boxed so that pthread_create gets a context pointer instead of
/// a capturing closure (a capturing closure there crashes the Swift 6.3 compiler).
private final class ThreadBody {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// A joinable pthread.
public struct Thread {
    private let id: pthread_t

    /// pthread_create; the body runs once on the new thread. Exits with status 1 and a
    /// message if the system cannot create a thread (out of memory or thread slots).
    public init(_ body: @escaping () -> Void) {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var tid = pthread_t()
        let r = pthread_create(&tid, nil, { raw in
            let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            body.run()
            return nil
        }, context)
        if r != 0 {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            // Out of memory or thread slots before any data moved: say so and go.
            try? FileDescriptor.standardError.writeAll("sluice: cannot create a thread: \(Errno(r))\n")
            _exit(1)
        }
        id = tid
    }

    /// pthread_join: waits for the body to return.
    public func join() {
        pthread_join(id, nil)
    }

    /// pthread_detach: nobody will join it; its resources go when it returns (or when
    /// the process exits, for a thread blocked in read(2)).
    public func detach() {
        pthread_detach(id)
    }
}
