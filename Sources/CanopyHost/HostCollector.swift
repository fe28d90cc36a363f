import CanopyModel
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Inventories a Linux host from its own files: `/etc`, `/proc`, `/sys` and the package manager's
/// databases under `root`. It never runs a program. What it cannot read (permissions, a damaged
/// file, a distribution it does not know) is listed in the inventory's `problems`, and everything
/// else is still collected.
public struct HostCollector: Sendable {
    public let root: URL
    public let lifecycle: OSLifecycle

    /// The distributions whose package databases and repository data Canopy reads (dpkg and apt;
    /// rpm and dnf). SUSE is not among them: its rpm database is in the `ndb` format.
    public static let knownDistributions: Set<String> = [
        "debian", "ubuntu", "raspbian", "linuxmint", "pop", "rhel", "centos", "rocky", "almalinux", "ol", "fedora", "amzn",
    ]

    public init(root: URL = URL(fileURLWithPath: "/"), lifecycle: OSLifecycle = .bundled) {
        self.root = root
        self.lifecycle = lifecycle
    }

    public func collect(at now: Date = Date()) -> HostInventory {
        var files = HostFiles(root: root)
        let os = operatingSystem(&files)
        let processes = processNames(&files)
        let users = readUsers(&files)
        var sudoers = SudoersReader()
        sudoers.read("/etc/sudoers", files: &files)
        let packages = readPackages(&files)
        var inventory = HostInventory(
            hostID: hostID(&files), hostname: hostname(&files), collectedAt: now, os: os, kernel: kernel(&files),
            cpu: cpu(&files), memoryBytes: memory(&files), disks: disks(&files), interfaces: interfaces(&files),
            listeningPorts: listeningPorts(&files, processes: processes, users: users),
            packageManagers: packages.managers, packages: packages.installed, pendingUpdates: packages.pending,
            lastPatchTime: lastPatchTime(&files), services: services(&files), users: users,
            groups: groups(&files), sudoRules: sudoers.rules, sshd: SSHDConfigReader.read("/etc/ssh/sshd_config", files: &files),
            timeSync: timeSync(&files, processes: processes))
        (inventory.bootTime, inventory.uptimeSeconds) = boot(&files)
        inventory.problems = files.problems
        return inventory
    }

    // MARK: identity and system

    private func operatingSystem(_ files: inout HostFiles) -> HostInventory.OperatingSystem {
        guard let text = files.text("/etc/os-release") ?? files.text("/usr/lib/os-release") else {
            files.note("/etc/os-release", "missing: the distribution is unknown")
            return .init(id: "unknown", name: "Unknown Linux")
        }
        let values = KeyValueFile.parse(text)
        let id = values["ID"] ?? "linux"
        let os = HostInventory.OperatingSystem(
            id: id, idLike: (values["ID_LIKE"] ?? "").split(separator: " ").map(String.init), name: values["NAME"] ?? "Linux",
            versionID: values["VERSION_ID"], prettyName: values["PRETTY_NAME"], codename: values["VERSION_CODENAME"])
        if !Self.knownDistributions.contains(id) {
            files.note("/etc/os-release", "distribution '\(id)' is not one Canopy knows; packages are read from whichever database is present and its support end is unknown")
        }
        return os
    }

    private func hostID(_ files: inout HostFiles) -> String {
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            if let id = files.text(path)?.trimmingCharacters(in: .whitespacesAndNewlines), HostIdentity.isValid(id) { return id }
        }
        files.note("/etc/machine-id", "missing or not 32 hex digits; the host is identified by its hostname instead")
        return HostIdentity.fallbackID(hostname: hostname(&files))
    }

    private func hostname(_ files: inout HostFiles) -> String {
        let name = (files.text("/proc/sys/kernel/hostname") ?? files.text("/etc/hostname"))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return name.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
    }

    private func kernel(_ files: inout HostFiles) -> HostInventory.Kernel {
        let release = files.text("/proc/sys/kernel/osrelease")?.trimmingCharacters(in: .whitespacesAndNewlines)
        let version = files.text("/proc/sys/kernel/version")?.trimmingCharacters(in: .whitespacesAndNewlines)
        var machine = files.text("/proc/sys/kernel/arch")?.trimmingCharacters(in: .whitespacesAndNewlines)
        #if canImport(Glibc)
            if machine == nil, files.isLiveSystem {
                var name = utsname()
                if uname(&name) == 0 {
                    machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                }
            }
        #endif
        if release == nil { files.note("/proc/sys/kernel/osrelease", "missing: kernel release unknown") }
        return .init(release: release ?? "unknown", version: version, machine: machine)
    }

    private func boot(_ files: inout HostFiles) -> (Date?, Double?) {
        let uptime = files.text("/proc/uptime")?.split(separator: " ").first.flatMap { Double($0) }
        let bootTime = files.text("/proc/stat")?.split(separator: "\n").first { $0.hasPrefix("btime ") }
            .flatMap { Double($0.dropFirst(6).trimmingCharacters(in: .whitespaces)) }.map { Date(timeIntervalSince1970: $0) }
        return (bootTime, uptime)
    }

    private func cpu(_ files: inout HostFiles) -> HostInventory.CPU? {
        guard let text = files.text("/proc/cpuinfo") else { return nil }
        var model: String?
        var count = 0
        for line in text.split(separator: "\n") {
            if line.hasPrefix("processor") { count += 1 }
            if model == nil, line.hasPrefix("model name"), let colon = line.firstIndex(of: ":") {
                model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return .init(model: model, logicalCPUs: count)
    }

    private func memory(_ files: inout HostFiles) -> Int64? {
        guard let line = files.text("/proc/meminfo")?.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }) else { return nil }
        return line.split(separator: " ").dropFirst().first.flatMap { Int64($0) }.map { $0 * 1024 }
    }

    private static let pseudoFileSystems: Set<String> = [
        "proc", "sysfs", "devtmpfs", "devpts", "tmpfs", "cgroup", "cgroup2", "securityfs", "pstore", "debugfs", "tracefs",
        "configfs", "fusectl", "mqueue", "hugetlbfs", "bpf", "autofs", "binfmt_misc", "rpc_pipefs", "nsfs", "efivarfs", "ramfs",
        "squashfs", "fuse.lxcfs", "overlay", "shm",
    ]

    private func disks(_ files: inout HostFiles) -> [HostInventory.Disk] {
        guard let text = files.text("/proc/mounts") else { return [] }
        var seen: Set<String> = []
        return text.split(separator: "\n").compactMap { line -> HostInventory.Disk? in
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { return nil }
            let mountPoint = String(fields[1]).replacingOccurrences(of: "\\040", with: " ")
            let type = String(fields[2])
            guard !Self.pseudoFileSystems.contains(type), seen.insert(mountPoint).inserted else { return nil }
            var disk = HostInventory.Disk(mountPoint: mountPoint, device: String(fields[0]), fileSystem: type)
            #if canImport(Glibc)
                if files.isLiveSystem {
                    var stats = statvfs()
                    if statvfs(mountPoint, &stats) == 0 {
                        disk.sizeBytes = Int64(stats.f_blocks) * Int64(stats.f_frsize)
                        disk.freeBytes = Int64(stats.f_bavail) * Int64(stats.f_frsize)
                    }
                }
            #endif
            return disk
        }
    }

    private func interfaces(_ files: inout HostFiles) -> [HostInventory.NetworkInterface] {
        var addresses: [String: [String]] = [:]
        #if canImport(Glibc)
            if files.isLiveSystem { addresses = Self.liveAddresses() }
        #endif
        return files.list("/sys/class/net").map { name in
            let base = "/sys/class/net/\(name)"
            func value(_ file: String) -> String? {
                (try? String(contentsOf: files.url("\(base)/\(file)"), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            return .init(
                name: name, macAddress: value("address"), mtu: value("mtu").flatMap { Int($0) }, state: value("operstate"),
                addresses: addresses[name] ?? [])
        }
    }

    #if canImport(Glibc)
        /// Interface addresses from getifaddrs(3): `/proc` has no per-interface IPv4 address file.
        private static func liveAddresses() -> [String: [String]] {
            var result: [String: [String]] = [:]
            var list: UnsafeMutablePointer<ifaddrs>?
            guard getifaddrs(&list) == 0, let first = list else { return result }
            defer { freeifaddrs(list) }
            var cursor: UnsafeMutablePointer<ifaddrs>? = first
            while let entry = cursor {
                defer { cursor = entry.pointee.ifa_next }
                guard let address = entry.pointee.ifa_addr else { continue }
                let family = Int32(address.pointee.sa_family)
                guard family == AF_INET || family == AF_INET6 else { continue }
                var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
                let length = socklen_t(family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
                guard getnameinfo(address, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 else { continue }
                let name = String(cString: entry.pointee.ifa_name)
                let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                result[name, default: []].append(text)
            }
            return result
        }
    #endif

    // MARK: processes and sockets

    private struct Process {
        var pid: Int
        var name: String
    }

    /// pid → command name, from `/proc/<pid>/comm`.
    private func processNames(_ files: inout HostFiles) -> [Int: String] {
        var names: [Int: String] = [:]
        for entry in files.list("/proc") {
            guard let pid = Int(entry) else { continue }
            if let name = try? String(contentsOf: files.url("/proc/\(entry)/comm"), encoding: .utf8) {
                names[pid] = name.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return names
    }

    private func listeningPorts(_ files: inout HostFiles, processes: [Int: String], users: [HostInventory.User]) -> [HostInventory.ListeningPort] {
        var sockets: [ProcNet.Socket] = []
        for (file, transport) in [("tcp", "tcp"), ("tcp6", "tcp"), ("udp", "udp"), ("udp6", "udp")] {
            guard let text = files.text("/proc/net/\(file)") else { continue }
            let parsed = ProcNet.parse(text, transport: transport, path: "/proc/net/\(file)")
            sockets += parsed.sockets
            for problem in parsed.problems { files.note("/proc/net/\(file)", problem) }
        }
        guard !sockets.isEmpty else { return [] }
        // Which process holds each socket: its descriptors link to `socket:[inode]`.
        var owners: [String: Int] = [:]
        var unreadable = 0
        let wanted = Set(sockets.map(\.inode))
        for pid in processes.keys.sorted() {
            guard let descriptors = try? FileManager.default.contentsOfDirectory(atPath: files.url("/proc/\(pid)/fd").path) else {
                unreadable += 1
                continue
            }
            for descriptor in descriptors {
                guard let target = files.symbolicLinkTarget("/proc/\(pid)/fd/\(descriptor)"), target.hasPrefix("socket:[") else { continue }
                let inode = String(target.dropFirst(8).dropLast())
                if wanted.contains(inode), owners[inode] == nil { owners[inode] = pid }
            }
        }
        if unreadable > 0 {
            // No count in the message: it changes with every process started, and the problems are
            // part of the host's state, which should change only when the host does.
            files.note("/proc/*/fd", "some processes' descriptors could not be read (run as root to name every port's process)")
        }
        let names = Dictionary(users.map { ($0.uid, $0.name) }, uniquingKeysWith: { first, _ in first })
        var seen: Set<String> = []
        return sockets.compactMap { socket -> HostInventory.ListeningPort? in
            let pid = owners[socket.inode]
            guard seen.insert("\(socket.transport)|\(socket.address)|\(socket.port)").inserted else { return nil }
            return .init(
                transport: socket.transport, address: socket.address, port: socket.port, process: pid.flatMap { processes[$0] }, pid: pid,
                user: names[socket.uid] ?? String(socket.uid))
        }
        .sorted { ($0.transport, $0.port, $0.address) < ($1.transport, $1.port, $1.address) }
    }

    // MARK: services, accounts, time

    private func services(_ files: inout HostFiles) -> [HostInventory.Service]? {
        guard files.isDirectory("/etc/systemd/system") || files.isDirectory("/run/systemd/system") else { return nil }
        var enabled: Set<String> = []
        for directory in files.list("/etc/systemd/system") where directory.hasSuffix(".wants") {
            for unit in files.list("/etc/systemd/system/\(directory)") where unit.hasSuffix(".service") { enabled.insert(unit) }
        }
        // With systemd running, a service's cgroup holds its processes (v2 first, then v1).
        let systemdRunning = files.isDirectory("/run/systemd/system")
        var running: Set<String> = []
        if systemdRunning {
            for base in ["/sys/fs/cgroup/system.slice", "/sys/fs/cgroup/systemd/system.slice"] {
                for unit in files.list(base) where unit.hasSuffix(".service") {
                    let procs = (try? String(contentsOf: files.url("\(base)/\(unit)/cgroup.procs"), encoding: .utf8)) ?? ""
                    if !procs.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { running.insert(unit) }
                }
            }
        } else {
            files.note("/run/systemd/system", "systemd is not running (a container?): which services run is unknown")
        }
        return enabled.union(running).sorted().map { name in
            .init(name: String(name.dropLast(8)), enabled: enabled.contains(name), running: systemdRunning ? running.contains(name) : nil)
        }
    }

    private func readUsers(_ files: inout HostFiles) -> [HostInventory.User] {
        guard let passwd = files.text("/etc/passwd") else { return [] }
        var problems: [String] = []
        var users = LocalAccounts.users(passwd: passwd, path: "/etc/passwd", problems: &problems)
        if let shadow = files.text("/etc/shadow") {
            let states = LocalAccounts.passwords(shadow: shadow, path: "/etc/shadow", problems: &problems)
            for index in users.indices { users[index].password = states[users[index].name] }
        }
        for problem in problems { files.note(problem.split(separator: ":").first.map(String.init) ?? "/etc/passwd", problem) }
        return users
    }

    private func groups(_ files: inout HostFiles) -> [HostInventory.Group] {
        guard let text = files.text("/etc/group") else { return [] }
        var problems: [String] = []
        let groups = LocalAccounts.groups(text, path: "/etc/group", problems: &problems)
        for problem in problems { files.note("/etc/group", problem) }
        return groups
    }

    private func timeSync(_ files: inout HostFiles, processes: [Int: String]) -> HostInventory.TimeSync {
        let running = Set(processes.values)
        let candidates: [(service: String, process: String, configs: [String], keys: [String])] = [
            ("chrony", "chronyd", ["/etc/chrony/chrony.conf", "/etc/chrony.conf"], ["server", "pool", "peer"]),
            ("ntpd", "ntpd", ["/etc/ntpsec/ntp.conf", "/etc/ntp.conf"], ["server", "pool", "peer"]),
            ("systemd-timesyncd", "systemd-timesyn", ["/etc/systemd/timesyncd.conf"], ["NTP=", "FallbackNTP="]),
            ("openntpd", "ntpd", ["/etc/openntpd/ntpd.conf"], ["server", "servers"]),
        ]
        for candidate in candidates {
            guard let path = candidate.configs.first(where: { files.exists($0) }) else { continue }
            let text = files.text(path) ?? ""
            var servers: [String] = []
            for line in text.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                guard !trimmed.hasPrefix("#") else { continue }
                for key in candidate.keys where trimmed.hasPrefix(key) {
                    let value = trimmed.dropFirst(key.count).trimmingCharacters(in: .whitespaces)
                    if key.hasSuffix("=") {
                        servers += value.split(separator: " ").map(String.init)
                    } else if trimmed.dropFirst(key.count).first == " " || trimmed.dropFirst(key.count).first == "\t" {
                        if let first = value.split(separator: " ").first { servers.append(String(first)) }
                    }
                }
            }
            return .init(service: candidate.service, running: processes.isEmpty ? nil : running.contains(candidate.process), servers: servers)
        }
        return .init(service: nil, running: processes.isEmpty ? nil : false, servers: [])
    }
}

/// How a host is named to Canopy: `/etc/machine-id`, 32 lower-case hex digits.
public enum HostIdentity {
    public static func isValid(_ id: String) -> Bool {
        id.count == 32 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// For a host without a machine id: a digest of its hostname, in the same shape.
    public static func fallbackID(hostname: String) -> String {
        String(ContentDigest.sha256("canopy-host\u{0}\(hostname)").prefix(32))
    }
}
