import CZlib
import CanopyModel
import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
    private let systemRead = Glibc.read
#elseif canImport(Darwin)
    import Darwin
    private let systemRead = Darwin.read
#endif

/// Bytes read in pieces from somewhere: a file, or a gzip stream over one.
protocol ByteSource {
    /// Up to `buffer.count` bytes into `buffer`; 0 at the end.
    mutating func read(into buffer: inout [UInt8]) throws -> Int
}

/// A file read in 1 MiB pieces.
struct FileByteSource: ByteSource {
    let handle: FileHandle
    let path: String

    init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw IngestError.file(path, "cannot be read (missing, or no permission)") }
        self.handle = handle
        self.path = path
    }

    mutating func read(into buffer: inout [UInt8]) throws -> Int {
        // Straight into the buffer: `FileHandle.read(upToCount:)` would allocate a `Data` and
        // copy it again, and a ledger import reads gigabytes.
        let descriptor = handle.fileDescriptor
        let count = try buffer.withUnsafeMutableBytes { raw -> Int in
            while true {
                let count = systemRead(descriptor, raw.baseAddress, raw.count)
                if count >= 0 { return count }
                guard errno == EINTR else { throw IngestError.file(path, "cannot be read: \(String(cString: strerror(errno)))") }
            }
        }
        return count
    }
}

/// Inflates a gzip file as it is read (several members in a row, as `cat a.gz b.gz` makes, are
/// one stream). A file that ends inside a member is an error, not a short file.
final class GzipByteSource: ByteSource {
    private var inner: FileByteSource
    private var stream = z_stream()
    private var input = [UInt8](repeating: 0, count: 1 << 20)
    private var inputCount = 0
    private var inputOffset = 0
    private var finishedMember = true
    private var sawInput = false
    private let path: String

    init(path: String) throws {
        inner = try FileByteSource(path: path)
        self.path = path
        // 15 + 32: a gzip or zlib header, detected.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw IngestError.file(path, "cannot start gzip decompression")
        }
    }

    deinit { inflateEnd(&stream) }

    func read(into buffer: inout [UInt8]) throws -> Int {
        while true {
            if inputOffset == inputCount {
                inputCount = try inner.read(into: &input)
                inputOffset = 0
                if inputCount == 0 {
                    if !finishedMember || !sawInput { throw IngestError.file(path, "the gzip data is truncated (it ends inside a compressed member)") }
                    return 0
                }
                sawInput = true
            }
            if finishedMember {
                inflateReset(&stream)
                finishedMember = false
            }
            let produced: Int = try input.withUnsafeMutableBufferPointer { inputBuffer in
                try buffer.withUnsafeMutableBufferPointer { outputBuffer in
                    stream.next_in = inputBuffer.baseAddress! + inputOffset
                    stream.avail_in = UInt32(inputCount - inputOffset)
                    stream.next_out = outputBuffer.baseAddress!
                    stream.avail_out = UInt32(outputBuffer.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    inputOffset = inputCount - Int(stream.avail_in)
                    switch status {
                    case Z_OK, Z_BUF_ERROR: break
                    case Z_STREAM_END: finishedMember = true
                    default: throw IngestError.file(path, "is not valid gzip data (zlib error \(status))")
                    }
                    return outputBuffer.count - Int(stream.avail_out)
                }
            }
            if produced > 0 { return produced }
        }
    }
}

/// The SHA-256 of a file, computed on a thread of its own while the file is imported: a second
/// read from the page cache on a core the import leaves partly idle, instead of hashing on the
/// thread that parses (the slower half of an import) or a whole pass before it.
public final class FileDigest: Sendable {
    private let state = State()

    init(path: String) {
        let state = state
        Thread.detachNewThread { state.run(path) }
    }

    /// Dropped before its value was asked for (the import failed): the hashing stops.
    deinit { state.cancel() }

    /// The digest (hex), waiting for the hashing to finish.
    func value() throws -> String { try state.value() }

    private final class State: @unchecked Sendable {
        private let condition = NSCondition()
        private var result: Result<String, any Error>?
        private var cancelled = false

        func run(_ path: String) {
            let outcome = Result { try hash(path) }
            condition.lock()
            result = outcome
            condition.broadcast()
            condition.unlock()
        }

        func cancel() {
            condition.lock()
            cancelled = true
            condition.unlock()
        }

        func value() throws -> String {
            condition.lock()
            defer { condition.unlock() }
            while result == nil { condition.wait() }
            return try result!.get()
        }

        private func hash(_ path: String) throws -> String {
            try FileDigest.sha256(path: path) {
                condition.lock()
                defer { condition.unlock() }
                return cancelled
            }
        }
    }

    /// The SHA-256 (hex) of a file's bytes as stored, read in 1 MiB pieces; `stop` is asked
    /// before each piece, and a true answer ends the hashing with an error.
    public static func sha256(path: String, stop: () -> Bool = { false }) throws -> String {
        var source = try FileByteSource(path: path)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var hasher = SHA256()
        while true {
            if stop() { throw IngestError.file(path, "hashing was stopped") }
            let count = try source.read(into: &buffer)
            if count == 0 { return hasher.finalize().hexEncoded }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }
}

/// Whether a file starts with the gzip magic bytes.
func isGzip(_ path: String) -> Bool {
    guard let handle = FileHandle(forReadingAtPath: path), let head = try? handle.read(upToCount: 2) else { return false }
    return head.count == 2 && head[head.startIndex] == 0x1f && head[head.startIndex + 1] == 0x8b
}

/// A whole file's bytes, inflated when it is gzip: for formats read whole (CloudTrail log files
/// are a few megabytes at most). A truncated gzip is an error naming the file.
public enum FileBytes {
    public static func read(_ path: String) throws -> Data {
        var source: any ByteSource = isGzip(path) ? try GzipByteSource(path: path) : try FileByteSource(path: path)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var data = Data()
        while true {
            let count = try source.read(into: &buffer)
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
        }
    }
}
