import Foundation

/// Runs an outside tool without holding a Swift concurrency thread while it runs. The test
/// process shares its two cooperative threads with the servers under test; a test blocked in
/// `waitUntilExit` (schemathesis, Chromium, Custodian) would starve them. Output is read on
/// plain threads and termination arrives through a continuation.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
        /// Both streams, for messages.
        public var text: String { String(decoding: stdout + stderr, as: UTF8.self) }
    }

    public static func run(_ arguments: [String], environment: [String: String]? = nil, input: Data? = nil, mergeStderr: Bool = false) async throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe()
        let err = mergeStderr ? out : Pipe()
        let inPipe = input.map { _ in Pipe() }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe ?? FileHandle.nullDevice
        let collected = Collected()
        return try await withCheckedThrowingContinuation { continuation in
            collected.onDone = { continuation.resume(returning: $0) }
            process.terminationHandler = { collected.finish(status: $0.terminationStatus) }
            do { try process.run() } catch {
                collected.onDone = nil
                continuation.resume(throwing: error)
                return
            }
            Thread.detachNewThread { collected.finish(stdout: out.fileHandleForReading.readDataToEndOfFile()) }
            if mergeStderr { collected.finish(stderr: Data()) } else {
                Thread.detachNewThread { collected.finish(stderr: err.fileHandleForReading.readDataToEndOfFile()) }
            }
            if let inPipe, let input {
                Thread.detachNewThread {
                    inPipe.fileHandleForWriting.write(input)
                    try? inPipe.fileHandleForWriting.close()
                }
            }
        }
    }

    /// Gathers the three things a run ends with, in any order.
    final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var status: Int32?
        private var stdout: Data?
        private var stderr: Data?
        var onDone: ((Result) -> Void)?

        func finish(status: Int32? = nil, stdout: Data? = nil, stderr: Data? = nil) {
            lock.lock()
            if let status { self.status = status }
            if let stdout { self.stdout = stdout }
            if let stderr { self.stderr = stderr }
            guard let s = self.status, let o = self.stdout, let e = self.stderr, let done = onDone else {
                lock.unlock()
                return
            }
            onDone = nil
            lock.unlock()
            done(Result(status: s, stdout: o, stderr: e))
        }
    }
}
