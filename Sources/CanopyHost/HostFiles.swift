import CanopyIngest
import Foundation

/// The host's file system seen from `root` (`/` on a live host, a fixture folder in tests), and
/// the problems met while reading it. Nothing here runs a program: every answer comes from a file
/// or from `/proc` and `/sys`.
struct HostFiles {
    let root: URL
    private(set) var problems: [HostInventory.CollectionProblem] = []

    init(root: URL) { self.root = root }

    /// Whether this is the machine Canopy runs on, so system calls (statvfs, getifaddrs) may fill
    /// in what files do not hold.
    var isLiveSystem: Bool { root.standardizedFileURL.path == "/" }

    func url(_ path: String) -> URL {
        root.appendingPathComponent(String(path.drop { $0 == "/" }))
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: url(path).path) }

    func isDirectory(_ path: String) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url(path).path, isDirectory: &directory) && directory.boolValue
    }

    /// A file's text; a file that is absent is `nil` without a problem (most are optional), one
    /// that exists but cannot be read is `nil` with a problem naming it and why.
    mutating func text(_ path: String) -> String? {
        guard let data = bytes(path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    mutating func bytes(_ path: String) -> Data? {
        let location = url(path)
        guard FileManager.default.fileExists(atPath: location.path) else { return nil }
        do {
            return try FileBytes.read(location.path)
        } catch {
            note(path, Self.reason(location))
            return nil
        }
    }

    /// A directory's entries, sorted; absent → empty, unreadable → empty with a problem.
    mutating func list(_ path: String) -> [String] {
        let location = url(path)
        guard isDirectory(path) else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: location.path).sorted()
        } catch {
            note(path, Self.reason(location))
            return []
        }
    }

    func symbolicLinkTarget(_ path: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: url(path).path)
    }

    func modificationDate(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: url(path).path))?[.modificationDate] as? Date
    }

    mutating func note(_ source: String, _ message: String) {
        problems.append(HostInventory.CollectionProblem(source: source, message: message))
    }

    private static func reason(_ location: URL) -> String {
        FileManager.default.isReadableFile(atPath: location.path)
            ? "could not be read" : "permission denied (run the collector as root to read it)"
    }
}

/// `KEY=value` lines with shell quoting, as in `/etc/os-release`.
enum KeyValueFile {
    static func parse(_ text: String) -> [String: String] {
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<equals])
            var value = String(line[line.index(after: equals)...])
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
                value = String(value.dropFirst().dropLast())
                value = value.replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\$", with: "$")
            }
            values[key] = value
        }
        return values
    }
}
