import DopsyncTesting
import Foundation
import Testing

@Suite("dopsync sim runs until it is told to stop")
struct SimCommandTests {
    /// `make demo` and `make bench` end the simulator with SIGTERM and wait
    /// for it: a simulator that outlives the signal hangs them.
    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalEndsTheSimulator(signal: Int32) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dopsync-sim-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let process = try DopsyncBinary.launch(["sim", "--dir", dir.path, "--scale", "50", "--port-base", "0", "--region", "omsk"])
        let config = dir.appendingPathComponent("dopsync.yaml").path
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: config) { try await Task.sleep(for: .milliseconds(100)) }
        #expect(FileManager.default.fileExists(atPath: config), "the simulator wrote no configuration")
        // Past the configuration, the signal handlers are in place within moments.
        try await Task.sleep(for: .milliseconds(500))
        kill(process.processIdentifier, signal)
        for _ in 0..<100 where process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        #expect(!process.isRunning, "still running 10 s after the signal")
        await DopsyncBinary.kill9(process)
    }
}
