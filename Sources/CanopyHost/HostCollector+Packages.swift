import CanopyModel
import Foundation

/// The package side of the collector: dpkg's and rpm's databases, what apt's lists and dnf's
/// metadata offer, and when the host was last patched.
extension HostCollector {
    struct PackageState {
        var managers: [String] = []
        var installed: [HostInventory.InstalledPackage] = []
        var pending: [HostInventory.PendingUpdate]?
    }

    func readPackages(_ files: inout HostFiles) -> PackageState {
        var state = PackageState()
        if let text = files.text("/var/lib/dpkg/status") {
            let parsed = DpkgStatus.parse(text, path: "/var/lib/dpkg/status")
            state.managers.append("dpkg")
            state.installed += parsed.packages
            for problem in parsed.problems { files.note("/var/lib/dpkg/status", problem) }
            state.pending = aptPendingUpdates(&files, installed: parsed.packages)
        }
        let rpmSQLite = ["/usr/lib/sysimage/rpm/rpmdb.sqlite", "/var/lib/rpm/rpmdb.sqlite"].first(where: files.exists)
        let rpmBerkeley = rpmSQLite == nil && files.exists("/var/lib/rpm/Packages") ? "/var/lib/rpm/Packages" : nil
        if let path = rpmSQLite ?? rpmBerkeley {
            do {
                let read = rpmSQLite != nil ? try RPMDatabase.packages(path: files.url(path).path) : try RPMDatabase.packages(berkeleyDB: files.url(path).path)
                state.managers.append("rpm")
                state.installed += read.packages
                for problem in read.problems { files.note(path, problem) }
                if let pending = dnfPendingUpdates(&files, installed: read.packages) { state.pending = (state.pending ?? []) + pending }
            } catch {
                files.note(path, "\(error); its packages are not listed")
            }
        }
        if state.managers.isEmpty {
            files.note("packages", "no package database Canopy reads was found (dpkg: /var/lib/dpkg/status, rpm: rpmdb.sqlite or Packages)")
        }
        state.installed.sort { ($0.name, $0.architecture ?? "") < ($1.name, $1.architecture ?? "") }
        return state
    }

    func aptPendingUpdates(_ files: inout HostFiles, installed: [HostInventory.InstalledPackage]) -> [HostInventory.PendingUpdate]? {
        let lists = files.list("/var/lib/apt/lists").filter(AptLists.isPackagesList)
        // apt's own lists only: Canopy reads the offer, apt's pinning in preferences is not applied.
        guard !lists.isEmpty else {
            files.note("/var/lib/apt/lists", "no package lists (apt update has not run): pending updates are unknown")
            return nil
        }
        let wanted = Set(installed.map(\.name))
        var offers: [String: [AptLists.Offer]] = [:]
        for name in lists {
            let path = "/var/lib/apt/lists/\(name)"
            guard let data = files.bytes(path) else { continue }
            // A Debian main list is ~50 MB once inflated: it is scanned where it lies, never copied.
            var inflated: [UInt8]?
            if LZ4Frame.isFrame(data) {
                do { inflated = try LZ4Frame.decompress(data) } catch {
                    files.note(path, "damaged LZ4 data (\(error)); this repository's updates are not counted")
                    continue
                }
            }
            var policy = AptLists.ReleasePolicy()
            for release in AptLists.releaseFiles(of: name) {
                if let text = files.text("/var/lib/apt/lists/\(release)") {
                    policy = AptLists.ReleasePolicy(releaseText: text)
                    break
                }
            }
            let source = AptLists.sourceName(name)
            let found =
                if let inflated { AptLists.offers(listText: inflated, wanted: wanted, source: source, security: AptLists.isSecurity(name)) } else {
                    AptLists.offers(listText: data, wanted: wanted, source: source, security: AptLists.isSecurity(name))
                }
            for (package, list) in found {
                offers[package, default: []] += list.map { offer in
                    var offer = offer
                    offer.policy = policy
                    return offer
                }
            }
        }
        return AptLists.pendingUpdates(installed: installed, offers: offers)
    }

    /// What dnf's cached repository metadata offers the rpm packages; nil (unknown) without a cache.
    func dnfPendingUpdates(_ files: inout HostFiles, installed: [HostInventory.InstalledPackage]) -> [HostInventory.PendingUpdate]? {
        let cache = "/var/cache/dnf"
        let repositories = files.list(cache).filter { files.isDirectory("\(cache)/\($0)/repodata") }
        guard !repositories.isEmpty else {
            files.note(cache, "no dnf repository metadata (dnf makecache has not run): pending updates are unknown")
            return nil
        }
        let wanted = Set(installed.map(\.name))
        var offers: [String: [DnfMetadata.Offer]] = [:]
        var advisories: [String: [DnfMetadata.Advisory]] = [:]
        var readPrimary = false
        for directory in repositories {
            // `<repo id>-<16 hex digits>`: the id is what dnf and its users call the repository.
            let repository = directory.count > 17 && directory.dropLast(16).last == "-" ? String(directory.dropLast(17)) : directory
            let base = "\(cache)/\(directory)/repodata"
            for name in files.list(base) {
                let path = "\(base)/\(name)"
                let isPrimary = name.hasSuffix("primary.xml") || name.hasSuffix("primary.xml.gz")
                let isUpdateInfo = name.hasSuffix("updateinfo.xml") || name.hasSuffix("updateinfo.xml.gz")
                if !isPrimary && !isUpdateInfo {
                    if name.contains("primary.xml") || name.contains("updateinfo.xml") {
                        files.note(path, "compressed in a format Canopy does not read (gzip or plain only); this repository's updates are not counted")
                    }
                    continue
                }
                guard let data = files.bytes(path) else { continue }
                do {
                    if isPrimary {
                        for (package, list) in try DnfMetadata.offers(primary: data, wanted: wanted, repository: repository) {
                            offers[package, default: []] += list
                        }
                        readPrimary = true
                    } else {
                        for (package, list) in try DnfMetadata.securityAdvisories(updateinfo: data, wanted: wanted) {
                            advisories[package, default: []] += list
                        }
                    }
                } catch {
                    files.note(path, "\(error); this repository's updates are not counted")
                }
            }
        }
        guard readPrimary else {
            files.note(cache, "no readable primary.xml in dnf's cache: pending updates are unknown")
            return nil
        }
        return DnfMetadata.pendingUpdates(installed: installed, offers: offers, advisories: advisories)
    }

    func lastPatchTime(_ files: inout HostFiles) -> Date? {
        if let log = files.text("/var/log/dpkg.log"), let date = DpkgLog.lastChange(log) { return date }
        return files.modificationDate("/var/lib/dpkg/status")
    }
}
