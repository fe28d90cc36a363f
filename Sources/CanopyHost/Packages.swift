import Foundation

/// The Debian package database (`/var/lib/dpkg/status`): RFC 822-style stanzas, one per package.
/// A damaged stanza is reported with its line and skipped; every readable one is kept.
enum DpkgStatus {
    struct Parsed {
        var packages: [HostInventory.InstalledPackage]
        var problems: [String]
    }

    static func parse(_ text: String, path: String) -> Parsed {
        var packages: [HostInventory.InstalledPackage] = []
        var problems: [String] = []
        var fields: [String: String] = [:]
        var stanzaLine = 1
        var damaged = false
        var lastKey: String?

        func finish() {
            defer {
                fields = [:]
                damaged = false
                lastKey = nil
            }
            guard !fields.isEmpty else { return }
            guard !damaged else { return }
            guard let name = fields["package"], !name.isEmpty else {
                problems.append("\(path):\(stanzaLine): stanza has no Package field; skipped")
                return
            }
            // Only packages dpkg considers installed: `install ok installed` (or held).
            let status = (fields["status"] ?? "").split(separator: " ")
            guard status.last == "installed" else { return }
            guard let version = fields["version"], !version.isEmpty else {
                problems.append("\(path):\(stanzaLine): package \(name) has no Version field; skipped")
                return
            }
            packages.append(.init(name: name, version: version, architecture: fields["architecture"], manager: "dpkg"))
        }

        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                finish()
                stanzaLine = lineNumber + 1
                continue
            }
            if line.first == " " || line.first == "\t" {
                if lastKey == nil, !damaged {
                    problems.append("\(path):\(lineNumber): continuation line outside a field; stanza skipped")
                    damaged = true
                }
                continue  // continuation of a multi-line field (Description, Conffiles)
            }
            guard let colon = line.firstIndex(of: ":") else {
                if !damaged {
                    problems.append("\(path):\(lineNumber): '\(line.prefix(40))' is not a 'Field: value' line; stanza skipped")
                    damaged = true
                }
                continue
            }
            let key = line[..<colon].lowercased()
            lastKey = key
            if ["package", "status", "version", "architecture"].contains(key) {
                fields[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            } else {
                fields[key] = fields[key] ?? ""
            }
        }
        finish()
        return Parsed(packages: packages, problems: problems)
    }
}

/// apt's downloaded package lists (`/var/lib/apt/lists/*_Packages[.lz4|.gz]`): what versions the
/// configured repositories offer. Comparing them with the installed versions gives the pending
/// updates, and the security pocket's lists say which of them are security updates. Pinning and
/// phased updates are not applied: the answer is "offered", which is what patch compliance needs.
enum AptLists {
    struct Offer {
        var version: DebianVersion
        var architecture: String
        var source: String
        var security: Bool
        var policy = ReleasePolicy()
    }

    static func isPackagesList(_ name: String) -> Bool {
        name.hasSuffix("_Packages") || name.hasSuffix("_Packages.lz4") || name.hasSuffix("_Packages.gz")
    }

    /// Whether a list belongs to a security repository (`debian-security`, `jammy-security`…).
    static func isSecurity(_ name: String) -> Bool { name.contains("-security") || name.contains("_security") }

    /// The `InRelease` (or `Release`) file of a list's distribution: the list's name up to
    /// `_dists_<suite>_`, then `InRelease`.
    static func releaseFiles(of listName: String) -> [String] {
        guard let dists = listName.range(of: "_dists_") else { return [] }
        let suiteAndRest = listName[dists.upperBound...]
        guard let suiteEnd = suiteAndRest.firstIndex(of: "_") else { return [] }
        let base = String(listName[..<suiteEnd])
        return [base + "_InRelease", base + "_Release"]
    }

    /// How apt treats a repository by its Release file: `NotAutomatic: yes` (backports,
    /// experimental) gets priority 1 or 100, so apt never moves a package to it on its own, except
    /// with `ButAutomaticUpgrades: yes` for packages already installed from it.
    struct ReleasePolicy: Equatable {
        var notAutomatic = false
        var butAutomaticUpgrades = false

        init(notAutomatic: Bool = false, butAutomaticUpgrades: Bool = false) {
            self.notAutomatic = notAutomatic
            self.butAutomaticUpgrades = butAutomaticUpgrades
        }

        init(releaseText: String) {
            for line in releaseText.split(separator: "\n") {
                if line.hasPrefix("-----BEGIN PGP SIGNATURE") { break }
                let trimmed = line.trimmingCharacters(in: .whitespaces).lowercased()
                if trimmed == "notautomatic: yes" { notAutomatic = true }
                if trimmed == "butautomaticupgrades: yes" { butAutomaticUpgrades = true }
            }
        }
    }

    /// The human name of a list file: `deb.debian.org/debian-security bookworm-security/main`.
    static func sourceName(_ name: String) -> String {
        var base = name
        for suffix in ["_Packages.lz4", "_Packages.gz", "_Packages"] where base.hasSuffix(suffix) {
            base = String(base.dropLast(suffix.count))
        }
        return base.replacingOccurrences(of: "_", with: "/")
    }

    /// The newest offered version of each wanted package name, per list, in one pass over each
    /// list's bytes (a Debian main list is ~50 MB; only three fields of wanted packages are kept).
    static func offers(listText: some ContiguousBytes, wanted: Set<String>, source: String, security: Bool) -> [String: [Offer]] {
        var result: [String: [Offer]] = [:]
        listText.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: UInt8.self)
            var index = 0
            let count = bytes.count
            var name: String?
            var version: String?
            var architecture = "all"
            func flush() {
                if let name, let version, wanted.contains(name) {
                    result[name, default: []].append(
                        Offer(version: DebianVersion(version), architecture: architecture, source: source, security: security))
                }
                name = nil
                version = nil
                architecture = "all"
            }
            while index < count {
                var end = index
                while end < count && bytes[end] != 10 { end += 1 }
                if end == index {
                    flush()
                } else if let field = field(bytes, index, end) {
                    switch field.key {
                    case .package: name = field.value
                    case .version: version = field.value
                    case .architecture: architecture = field.value
                    }
                }
                index = end + 1
            }
            flush()
        }
        return result
    }

    private enum Key { case package, version, architecture }

    private static func field(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> (key: Key, value: String)? {
        func starts(with prefix: StaticString) -> Bool {
            let length = prefix.utf8CodeUnitCount
            guard end - start > length else { return false }
            let p = prefix.utf8Start
            for offset in 0..<length where bytes[start + offset] != p[offset] { return false }
            return true
        }
        let key: Key
        let length: Int
        if starts(with: "Package:") {
            key = .package
            length = 8
        } else if starts(with: "Version:") {
            key = .version
            length = 8
        } else if starts(with: "Architecture:") {
            key = .architecture
            length = 13
        } else {
            return nil
        }
        var from = start + length
        var to = end
        while from < to && (bytes[from] == 32 || bytes[from] == 9) { from += 1 }
        while to > from && (bytes[to - 1] == 32 || bytes[to - 1] == 13) { to -= 1 }
        return (key, String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self))
    }

    /// Installed packages for which a repository offers a newer version of the same architecture.
    static func pendingUpdates(installed: [HostInventory.InstalledPackage], offers: [String: [Offer]]) -> [HostInventory.PendingUpdate] {
        installed.compactMap { package in
            let current = DebianVersion(package.version)
            let sameArchitecture = (offers[package.name] ?? []).filter {
                $0.architecture == package.architecture || $0.architecture == "all" || package.architecture == "all"
            }
            // A NotAutomatic repository offers nothing, unless it upgrades automatically what was
            // installed from it: the installed version is one of its versions and no automatic
            // repository has it (then apt pins the installed version at that repository's 100).
            let installedFrom = sameArchitecture.filter { $0.version == current }
            let installedFromNotAutomatic = installedFrom.allSatisfy(\.policy.notAutomatic)
            let newer = sameArchitecture.filter { offer in
                offer.version > current
                    && (!offer.policy.notAutomatic
                        || (offer.policy.butAutomaticUpgrades && installedFromNotAutomatic && installedFrom.contains { $0.source == offer.source }))
            }
            guard let best = newer.max(by: { $0.version < $1.version }) else { return nil }
            let security = newer.contains { $0.security }
            return HostInventory.PendingUpdate(
                name: package.name, installedVersion: package.version, candidateVersion: best.version.description, security: security,
                source: (security ? newer.first { $0.security } ?? best : best).source)
        }
        .sorted { $0.name < $1.name }
    }
}

/// When the host was last patched: the newest `upgrade` or `install` in dpkg's log.
enum DpkgLog {
    static func lastChange(_ text: String) -> Date? {
        var latest: String?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 3)
            guard parts.count >= 3, parts[2] == "upgrade" || parts[2] == "install" else { continue }
            let stamp = "\(parts[0]) \(parts[1])"
            if latest == nil || stamp > latest! { latest = stamp }
        }
        guard let latest else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.date(from: latest)
    }
}
