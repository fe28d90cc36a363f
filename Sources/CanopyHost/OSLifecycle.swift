import Foundation

/// When each Linux release stops getting security updates from its vendor (free support: Debian
/// LTS, Ubuntu standard support, RHEL maintenance support). `Resources/os-lifecycle.csv` is the
/// data, recorded from the vendors' lifecycle pages; a release not in it has an unknown end, and
/// the host checks say so rather than call it supported.
public struct OSLifecycle: Sendable {
    public struct Entry: Sendable, Hashable {
        public var osID: String
        public var version: String
        public var supportEnds: Date
        public var note: String
    }

    public let entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public static let bundled: OSLifecycle = {
        guard let url = Bundle.module.url(forResource: "os-lifecycle", withExtension: "csv"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { return OSLifecycle(entries: []) }
        return parse(text)
    }()

    static func parse(_ text: String) -> OSLifecycle {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate]
        let entries = text.split(separator: "\n").dropFirst().compactMap { line -> Entry? in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 4, let date = formatter.date(from: fields[2]) else { return nil }
            return Entry(osID: fields[0], version: fields[1], supportEnds: date, note: fields[3])
        }
        return OSLifecycle(entries: entries)
    }

    /// The entry for `/etc/os-release`'s `ID` and `VERSION_ID` (`8.9` matches the `8` line).
    public func entry(osID: String, versionID: String?) -> Entry? {
        guard let versionID else { return nil }
        return entries.first { $0.osID == osID && (versionID == $0.version || versionID.hasPrefix($0.version + ".")) }
    }
}
