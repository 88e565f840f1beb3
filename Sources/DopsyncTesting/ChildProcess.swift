public import Foundation
internal import Synchronization

/// A child process started with `posix_spawn`, for the tests that run the
/// built binary (or another program).
///
/// Foundation's `Process.run()` on Linux reads `/proc/self/fd` in a way
/// that now and then reads past glibc's buffer and crashes the whole test
/// process (swift-corelibs-foundation #5472, fixed after Swift 6.3.1; seen
/// here once in CI). This does only what the tests need: arguments, the
/// environment, standard output and error to a pipe or to `/dev/null`,
/// standard input from `/dev/null`, and no other descriptor inherited.
public final class ChildProcess: Sendable {
    /// Where a standard stream of the child goes.
    public enum Output: Sendable {
        case discarded
        /// A pipe the parent reads from (`standardOutput` / `standardError`).
        case pipe
    }

    /// How the child ended.
    public enum Termination: Sendable, Equatable {
        case exit(Int32)
        case signal(Int32)
    }

    public let processIdentifier: pid_t
    /// The read end of the child's standard output, when it goes to a pipe.
    public let standardOutput: FileHandle?
    /// The read end of the child's standard error, when it goes to a pipe.
    public let standardError: FileHandle?
    private let ended = Mutex<Termination?>(nil)

    /// Starts `executable` with `arguments`; `environment` replaces the
    /// parent's when given.
    public init(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil,
                standardOutput out: Output = .discarded, standardError err: Output = .discarded) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var toClose: [Int32] = []
        defer { for fd in toClose { close(fd) } }

        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw ChildProcessError("cannot open /dev/null: errno \(errno)") }
        toClose.append(null)
        posix_spawn_file_actions_adddup2(&actions, null, 0)
        func route(_ output: Output, to target: Int32) throws -> FileHandle? {
            switch output {
            case .discarded:
                posix_spawn_file_actions_adddup2(&actions, null, target)
                return nil
            case .pipe:
                var ends: [Int32] = [0, 0]
                guard pipe(&ends) == 0 else { throw ChildProcessError("cannot make a pipe: errno \(errno)") }
                for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                toClose.append(ends[1])
                posix_spawn_file_actions_adddup2(&actions, ends[1], target)
                return FileHandle(fileDescriptor: ends[0], closeOnDealloc: true)
            }
        }
        standardOutput = try route(out, to: 1)
        standardError = try route(err, to: 2)
        // Nothing else of the parent's (sockets, other tests' pipes) reaches
        // the child; the descriptors above are close-on-exec as well.
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }

        let argv = ([executable.path] + arguments).map { strdup($0) }
        defer { for p in argv { free(p) } }
        let envStrings: [UnsafeMutablePointer<CChar>?]? = environment.map { variables in
            variables.map { (key, value) in strdup("\(key)=\(value)") }
        }
        defer { for p in envStrings ?? [] { free(p) } }
        var pid: pid_t = 0
        let status = (argv + [nil]).withUnsafeBufferPointer { args in
            if let envStrings {
                return (envStrings + [nil]).withUnsafeBufferPointer { env in
                    posix_spawn(&pid, executable.path, &actions, nil, args.baseAddress!, env.baseAddress!)
                }
            }
            return posix_spawn(&pid, executable.path, &actions, nil, args.baseAddress!, environ)
        }
        guard status == 0 else { throw ChildProcessError("cannot start \(executable.path): errno \(status)") }
        processIdentifier = pid
    }

    /// Whether the child has not ended yet.
    public var isRunning: Bool { reap(blocking: false) == nil }

    /// Blocks the calling thread until the child ends (never call it on
    /// Swift's cooperative pool); how it ended.
    @discardableResult
    public func waitUntilExit() -> Termination { reap(blocking: true)! }

    /// The exit status, or the signal that ended the child.
    public var terminationStatus: Int32 {
        switch waitUntilExit() {
        case let .exit(code), let .signal(code): code
        }
    }

    /// Sends `signal` to the child while it runs.
    public func kill(_ signal: Int32) {
        if isRunning { _ = Glibc.kill(processIdentifier, signal) }
    }

    private func reap(blocking: Bool) -> Termination? {
        if let done = ended.withLock({ $0 }) { return done }
        var status: Int32 = 0
        while true {
            let r = waitpid(processIdentifier, &status, blocking ? 0 : WNOHANG)
            if r == processIdentifier { break }
            if r == 0 { return nil }
            if r < 0 && errno == EINTR { continue }
            // Reaped by another thread's wait: its result is on its way.
            while blocking && ended.withLock({ $0 }) == nil { usleep(1000) }
            return ended.withLock { $0 }
        }
        let termination: Termination = (status & 0x7f) == 0 ? .exit((status >> 8) & 0xff) : .signal(status & 0x7f)
        ended.withLock { $0 = termination }
        return termination
    }
}

/// A child process could not be started.
public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
