import Foundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// rpm's version ordering (`rpmvercmp`, rpm 4.15+): versions split into runs of digits and of
/// letters (other characters only separate them); digit runs compare as numbers, letter runs as
/// strings, a digit run beats a letter run, `~` sorts before everything (even the end) and `^`
/// after the end but before anything else. Epoch, then version, then release.
public struct RPMVersion: Comparable, Sendable, CustomStringConvertible {
    public let epoch: Int
    public let version: String
    public let release: String

    public init(epoch: Int?, version: String, release: String) {
        self.epoch = epoch ?? 0
        self.version = version
        self.release = release
    }

    /// `[epoch:]version-release`, as Canopy prints rpm versions.
    public init(_ text: String) {
        var rest = Substring(text)
        var epoch = 0
        if let colon = rest.firstIndex(of: ":"), let value = Int(rest[..<colon]) {
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        if let dash = rest.lastIndex(of: "-") {
            self.init(epoch: epoch, version: String(rest[..<dash]), release: String(rest[rest.index(after: dash)...]))
        } else {
            self.init(epoch: epoch, version: String(rest), release: "")
        }
    }

    public var description: String { (epoch != 0 ? "\(epoch):" : "") + version + (release.isEmpty ? "" : "-" + release) }

    public static func < (a: RPMVersion, b: RPMVersion) -> Bool { compare(a, b) < 0 }
    public static func == (a: RPMVersion, b: RPMVersion) -> Bool { compare(a, b) == 0 }

    public static func compare(_ a: RPMVersion, _ b: RPMVersion) -> Int {
        if a.epoch != b.epoch { return a.epoch < b.epoch ? -1 : 1 }
        let version = vercmp(a.version, b.version)
        return version != 0 ? version : vercmp(a.release, b.release)
    }

    static func vercmp(_ left: String, _ right: String) -> Int {
        if left == right { return 0 }
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
        func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
        func isAlpha(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        let tilde = UInt8(ascii: "~")
        let caret = UInt8(ascii: "^")
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            while i < a.count && !isAlnum(a[i]) && a[i] != tilde && a[i] != caret { i += 1 }
            while j < b.count && !isAlnum(b[j]) && b[j] != tilde && b[j] != caret { j += 1 }
            let ca: UInt8? = i < a.count ? a[i] : nil
            let cb: UInt8? = j < b.count ? b[j] : nil
            if ca == tilde || cb == tilde {
                if ca != tilde { return 1 }
                if cb != tilde { return -1 }
                i += 1
                j += 1
                continue
            }
            if ca == caret || cb == caret {
                if ca == nil { return -1 }
                if cb == nil { return 1 }
                if ca != caret { return 1 }
                if cb != caret { return -1 }
                i += 1
                j += 1
                continue
            }
            guard let first = ca, cb != nil else { break }
            let startA = i
            let startB = j
            let numeric = isDigit(first)
            if numeric {
                while i < a.count && isDigit(a[i]) { i += 1 }
                while j < b.count && isDigit(b[j]) { j += 1 }
            } else {
                while i < a.count && isAlpha(a[i]) { i += 1 }
                while j < b.count && isAlpha(b[j]) { j += 1 }
            }
            // One side has a run of the other kind: a digit run is newer than a letter run.
            if j == startB { return numeric ? 1 : -1 }
            var runA = a[startA..<i]
            var runB = b[startB..<j]
            if numeric {
                runA = runA.drop { $0 == 48 }
                runB = runB.drop { $0 == 48 }
                if runA.count != runB.count { return runA.count > runB.count ? 1 : -1 }
            }
            if runA != runB { return runA.lexicographicallyPrecedes(runB) ? -1 : 1 }
        }
        if i >= a.count && j >= b.count { return 0 }
        return i >= a.count ? -1 : 1
    }
}

/// dnf's cached repository metadata (`/var/cache/dnf/<repo>-<hash>/repodata/`): `primary.xml` says
/// which package versions each repository offers, `updateinfo.xml` which of them fix security
/// advisories and how severe the vendor rates them. Read as a stream; only wanted packages kept.
enum DnfMetadata {
    struct Offer {
        var version: RPMVersion
        var architecture: String
        var repository: String
    }

    struct Advisory {
        var id: String
        var severity: String?
        var version: RPMVersion
        var architecture: String
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static func offers(primary: Data, wanted: Set<String>, repository: String) throws -> [String: [Offer]] {
        let reader = PrimaryReader(wanted: wanted, repository: repository)
        try parse(primary, reader)
        return reader.offers
    }

    /// Security advisories only (`<update type="security">`), by package name.
    static func securityAdvisories(updateinfo: Data, wanted: Set<String>) throws -> [String: [Advisory]] {
        let reader = UpdateInfoReader(wanted: wanted)
        try parse(updateinfo, reader)
        return reader.advisories
    }

    private static func parse(_ data: Data, _ delegate: any XMLParserDelegate) throws {
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse() else {
            throw Malformed(description: "malformed XML at line \(parser.lineNumber): \(parser.parserError.map { "\($0.localizedDescription)" } ?? "")")
        }
    }

    /// Installed rpm packages with a newer version of the same name and architecture (or noarch)
    /// offered; a security update when an advisory's fixed version is newer than the installed one
    /// and no newer than the candidate, rated with the most severe such advisory.
    static func pendingUpdates(
        installed: [HostInventory.InstalledPackage], offers: [String: [Offer]], advisories: [String: [Advisory]]
    ) -> [HostInventory.PendingUpdate] {
        return installed.compactMap { package -> HostInventory.PendingUpdate? in
            let current = RPMVersion(package.version)
            func sameArchitecture(_ architecture: String) -> Bool {
                architecture == package.architecture || architecture == "noarch" || package.architecture == "noarch"
            }
            let newer = (offers[package.name] ?? []).filter { sameArchitecture($0.architecture) && $0.version > current }
            guard let best = newer.max(by: { $0.version < $1.version }) else { return nil }
            let fixes = (advisories[package.name] ?? []).filter {
                sameArchitecture($0.architecture) && $0.version > current && !(best.version < $0.version)
            }
            let severity = PatchCompliance.mostSevere(fixes.compactMap { $0.severity?.lowercased() })
            return HostInventory.PendingUpdate(
                name: package.name, installedVersion: package.version, candidateVersion: best.version.description, security: !fixes.isEmpty,
                source: best.repository, severity: severity)
        }
        .sorted { $0.name < $1.name }
    }

    private final class PrimaryReader: NSObject, XMLParserDelegate {
        let wanted: Set<String>
        let repository: String
        var offers: [String: [Offer]] = [:]
        private var inPackage = false
        private var field: String?
        private var name = ""
        private var architecture = ""
        private var version: RPMVersion?

        init(wanted: Set<String>, repository: String) {
            self.wanted = wanted
            self.repository = repository
        }

        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            switch element {
            case "package":
                inPackage = true
                name = ""
                architecture = ""
                version = nil
            case "name", "arch" where inPackage:
                field = element
            case "version" where inPackage:
                version = RPMVersion(epoch: attributes["epoch"].flatMap { Int($0) }, version: attributes["ver"] ?? "", release: attributes["rel"] ?? "")
            default:
                field = nil
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            switch field {
            case "name": name += string
            case "arch": architecture += string
            default: break
            }
        }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            if element == "package" {
                inPackage = false
                if let version, wanted.contains(name), architecture != "src" {
                    offers[name, default: []].append(Offer(version: version, architecture: architecture, repository: repository))
                }
            }
            if element == field { field = nil }
        }
    }

    private final class UpdateInfoReader: NSObject, XMLParserDelegate {
        let wanted: Set<String>
        var advisories: [String: [Advisory]] = [:]
        private var security = false
        private var id = ""
        private var severity: String?
        private var field: String?
        private var text = ""

        init(wanted: Set<String>) { self.wanted = wanted }

        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            switch element {
            case "update":
                security = attributes["type"] == "security"
                id = ""
                severity = nil
            case "id", "severity":
                field = element
                text = ""
            case "package" where security:
                guard let name = attributes["name"], wanted.contains(name) else { return }
                let version = RPMVersion(epoch: attributes["epoch"].flatMap { Int($0) }, version: attributes["version"] ?? "", release: attributes["release"] ?? "")
                advisories[name, default: []].append(Advisory(id: id, severity: severity, version: version, architecture: attributes["arch"] ?? "noarch"))
            default:
                break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if field != nil { text += string }
        }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            guard element == field else { return }
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if element == "id" { id = value }
            if element == "severity", !value.isEmpty, value.lowercased() != "none" { severity = value }
            field = nil
        }
    }
}
