public import Foundation
internal import Dispatch
internal import Synchronization

/// The built `dopsync` binary, run as a user runs it.
public enum DopsyncBinary {
    /// The binary beside the running test bundle (both are built by `swift test`).
    public static var url: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dopsync")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return URL(fileURLWithPath: repositoryPath(".build/debug/dopsync"))
    }

    /// What a run printed and how it ended.
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// Runs the binary with `arguments` and waits for it.
    public static func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> Result {
        let process = try ChildProcess(url, arguments, environment: environment, standardOutput: .pipe, standardError: .pipe)
        let out = process.standardOutput!, err = process.standardError!
        // The pipes are drained and the exit awaited on threads of their own:
        // blocking reads on Swift's cooperative pool (two threads on a
        // two-core machine) would starve an in-process simulator that the
        // child talks to, and both would wait for ever.
        let finished = DispatchGroup()
        let drained = Mutex<(out: Data, err: Data)>((Data(), Data()))
        DispatchQueue.global().async(group: finished) {
            let data = out.readDataToEndOfFile()
            drained.withLock { $0.out = data }
        }
        DispatchQueue.global().async(group: finished) {
            let data = err.readDataToEndOfFile()
            drained.withLock { $0.err = data }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            finished.notify(queue: .global()) {
                process.waitUntilExit()
                continuation.resume()
            }
        }
        let (o, e) = drained.withLock { $0 }
        return Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                      stderr: String(decoding: e, as: UTF8.self))
    }
}

extension DopsyncBinary {
    /// Starts the binary with `arguments`, its output discarded, and returns
    /// the running process (to be killed by a test).
    public static func launch(_ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(url, arguments)
    }

    /// Kills `process` with SIGKILL, as a crash or `kill -9` would, and
    /// waits for it to be gone without blocking the cooperative pool.
    public static func kill9(_ process: ChildProcess) async {
        process.kill(SIGKILL)
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                process.waitUntilExit()
                continuation.resume()
            }
        }
    }
}
