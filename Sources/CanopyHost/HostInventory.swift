import CanopyModel
import Foundation

/// Everything Canopy knows about one Linux host at one moment, as the collector read it from the
/// host's own files. It is what `canopy scan --host local` stores and what the agent uploads, so
/// it is versioned (`schema`) and checked field by field on the server before anything is kept.
public struct HostInventory: Sendable, Codable, Hashable {
    /// The upload format's version; the server refuses one it does not know.
    public static let currentSchema = 1

    public var schema: Int
    /// `/etc/machine-id`: stable across reboots and renames, unique per installation.
    public var hostID: String
    public var hostname: String
    public var collectedAt: Date
    public var os: OperatingSystem
    public var kernel: Kernel
    public var bootTime: Date?
    public var uptimeSeconds: Double?
    public var cpu: CPU?
    public var memoryBytes: Int64?
    public var disks: [Disk]
    public var interfaces: [NetworkInterface]
    public var listeningPorts: [ListeningPort]
    /// Which package databases were read (`dpkg`, `rpm`).
    public var packageManagers: [String]
    public var packages: [InstalledPackage]
    /// Updates the package manager's own repository data offers; `nil` when they could not be
    /// read (then patch state is unknown, never "compliant").
    public var pendingUpdates: [PendingUpdate]?
    /// When a package was last upgraded or installed, from the package manager's log.
    public var lastPatchTime: Date?
    public var services: [Service]?
    public var users: [User]
    public var groups: [Group]
    public var sudoRules: [SudoRule]
    /// `nil` when no OpenSSH server is installed.
    public var sshd: SSHDSettings?
    public var timeSync: TimeSync
    /// What the collector could not read or did not understand; what it could read is kept.
    public var problems: [CollectionProblem]

    public init(
        schema: Int = HostInventory.currentSchema, hostID: String, hostname: String, collectedAt: Date, os: OperatingSystem,
        kernel: Kernel, bootTime: Date? = nil, uptimeSeconds: Double? = nil, cpu: CPU? = nil, memoryBytes: Int64? = nil,
        disks: [Disk] = [], interfaces: [NetworkInterface] = [], listeningPorts: [ListeningPort] = [],
        packageManagers: [String] = [], packages: [InstalledPackage] = [], pendingUpdates: [PendingUpdate]? = nil,
        lastPatchTime: Date? = nil, services: [Service]? = nil, users: [User] = [], groups: [Group] = [],
        sudoRules: [SudoRule] = [], sshd: SSHDSettings? = nil, timeSync: TimeSync = TimeSync(), problems: [CollectionProblem] = []
    ) {
        self.schema = schema
        self.hostID = hostID
        self.hostname = hostname
        self.collectedAt = collectedAt
        self.os = os
        self.kernel = kernel
        self.bootTime = bootTime
        self.uptimeSeconds = uptimeSeconds
        self.cpu = cpu
        self.memoryBytes = memoryBytes
        self.disks = disks
        self.interfaces = interfaces
        self.listeningPorts = listeningPorts
        self.packageManagers = packageManagers
        self.packages = packages
        self.pendingUpdates = pendingUpdates
        self.lastPatchTime = lastPatchTime
        self.services = services
        self.users = users
        self.groups = groups
        self.sudoRules = sudoRules
        self.sshd = sshd
        self.timeSync = timeSync
        self.problems = problems
    }

    /// `/etc/os-release`'s fields that say which distribution and release this is.
    public struct OperatingSystem: Sendable, Codable, Hashable {
        public var id: String
        public var idLike: [String]
        public var name: String
        public var versionID: String?
        public var prettyName: String?
        public var codename: String?

        public init(id: String, idLike: [String] = [], name: String, versionID: String? = nil, prettyName: String? = nil, codename: String? = nil) {
            self.id = id
            self.idLike = idLike
            self.name = name
            self.versionID = versionID
            self.prettyName = prettyName
            self.codename = codename
        }
    }

    public struct Kernel: Sendable, Codable, Hashable {
        public var release: String
        public var version: String?
        public var machine: String?

        public init(release: String, version: String? = nil, machine: String? = nil) {
            self.release = release
            self.version = version
            self.machine = machine
        }
    }

    public struct CPU: Sendable, Codable, Hashable {
        public var model: String?
        public var logicalCPUs: Int

        public init(model: String?, logicalCPUs: Int) {
            self.model = model
            self.logicalCPUs = logicalCPUs
        }
    }

    public struct Disk: Sendable, Codable, Hashable {
        public var mountPoint: String
        public var device: String
        public var fileSystem: String
        public var sizeBytes: Int64?
        public var freeBytes: Int64?

        public init(mountPoint: String, device: String, fileSystem: String, sizeBytes: Int64? = nil, freeBytes: Int64? = nil) {
            self.mountPoint = mountPoint
            self.device = device
            self.fileSystem = fileSystem
            self.sizeBytes = sizeBytes
            self.freeBytes = freeBytes
        }
    }

    public struct NetworkInterface: Sendable, Codable, Hashable {
        public var name: String
        public var macAddress: String?
        public var mtu: Int?
        public var state: String?
        public var addresses: [String]

        public init(name: String, macAddress: String? = nil, mtu: Int? = nil, state: String? = nil, addresses: [String] = []) {
            self.name = name
            self.macAddress = macAddress
            self.mtu = mtu
            self.state = state
            self.addresses = addresses
        }
    }

    /// A socket waiting for connections (TCP `LISTEN`) or datagrams (an unconnected UDP socket).
    public struct ListeningPort: Sendable, Codable, Hashable {
        public var transport: String
        public var address: String
        public var port: Int
        public var process: String?
        public var pid: Int?
        public var user: String?

        public init(transport: String, address: String, port: Int, process: String? = nil, pid: Int? = nil, user: String? = nil) {
            self.transport = transport
            self.address = address
            self.port = port
            self.process = process
            self.pid = pid
            self.user = user
        }

        /// Bound to every address (`0.0.0.0`, `::`), so anyone who can route to the host reaches it.
        public var isWorldListening: Bool { address == "0.0.0.0" || address == "::" }
        /// `tcp/22`: how allow lists name a service.
        public var service: String { "\(transport)/\(port)" }
    }

    public struct InstalledPackage: Sendable, Codable, Hashable {
        public var name: String
        public var version: String
        public var architecture: String?
        /// `dpkg` or `rpm`.
        public var manager: String

        public init(name: String, version: String, architecture: String? = nil, manager: String) {
            self.name = name
            self.version = version
            self.architecture = architecture
            self.manager = manager
        }
    }

    /// A newer version of an installed package that a configured repository offers.
    public struct PendingUpdate: Sendable, Codable, Hashable {
        public var name: String
        public var installedVersion: String
        public var candidateVersion: String
        /// Offered by a security repository (`debian-security`, `…-security` pockets).
        public var security: Bool
        /// The repository list that offers it, as the package manager names it.
        public var source: String?
        /// The vendor's rating where its data carries one (`critical`, `important`…).
        public var severity: String?
        /// When Canopy first saw it pending on this host; filled in by the server from the host's
        /// earlier observations, so an update's age survives agent restarts.
        public var firstSeen: Date?

        public init(
            name: String, installedVersion: String, candidateVersion: String, security: Bool, source: String? = nil, severity: String? = nil,
            firstSeen: Date? = nil
        ) {
            self.name = name
            self.installedVersion = installedVersion
            self.candidateVersion = candidateVersion
            self.security = security
            self.source = source
            self.severity = severity
            self.firstSeen = firstSeen
        }
    }

    public struct Service: Sendable, Codable, Hashable {
        public var name: String
        public var enabled: Bool
        /// `nil` when systemd is not running, so whether it runs cannot be told.
        public var running: Bool?

        public init(name: String, enabled: Bool, running: Bool?) {
            self.name = name
            self.enabled = enabled
            self.running = running
        }
    }

    public struct User: Sendable, Codable, Hashable {
        public var name: String
        public var uid: Int
        public var gid: Int
        public var home: String
        public var shell: String
        /// The shell lets the user log in (not `nologin`, `false`, `sync`…).
        public var canLogIn: Bool
        /// From `/etc/shadow` when it could be read.
        public var password: PasswordState?

        public init(name: String, uid: Int, gid: Int, home: String, shell: String, canLogIn: Bool, password: PasswordState? = nil) {
            self.name = name
            self.uid = uid
            self.gid = gid
            self.home = home
            self.shell = shell
            self.canLogIn = canLogIn
            self.password = password
        }
    }

    /// A shadow entry without its hash: whether a password is set, locked or empty, and its ageing.
    public struct PasswordState: Sendable, Codable, Hashable {
        /// `set`, `locked`, `empty` or `none` (`*`: no password login at all).
        public var status: String
        public var lastChanged: Date?
        public var maximumDays: Int?
        public var warningDays: Int?
        public var inactiveDays: Int?

        public init(status: String, lastChanged: Date? = nil, maximumDays: Int? = nil, warningDays: Int? = nil, inactiveDays: Int? = nil) {
            self.status = status
            self.lastChanged = lastChanged
            self.maximumDays = maximumDays
            self.warningDays = warningDays
            self.inactiveDays = inactiveDays
        }
    }

    public struct Group: Sendable, Codable, Hashable {
        public var name: String
        public var gid: Int
        public var members: [String]

        public init(name: String, gid: Int, members: [String]) {
            self.name = name
            self.gid = gid
            self.members = members
        }
    }

    /// One user specification of sudoers: who may run what as whom.
    public struct SudoRule: Sendable, Codable, Hashable {
        /// A user, `%group` or an alias, as written.
        public var principal: String
        public var runAs: String?
        public var commands: String
        public var noPassword: Bool
        /// `file:line` of the rule.
        public var source: String

        public init(principal: String, runAs: String?, commands: String, noPassword: Bool, source: String) {
            self.principal = principal
            self.runAs = runAs
            self.commands = commands
            self.noPassword = noPassword
            self.source = source
        }

        /// Runs any command (`ALL`).
        public var grantsEverything: Bool {
            commands.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == "ALL" }
        }
    }

    public struct TimeSync: Sendable, Codable, Hashable {
        /// `chrony`, `ntpd`, `systemd-timesyncd`, `openntpd`; `nil` when none is installed.
        public var service: String?
        public var running: Bool?
        public var servers: [String]

        public init(service: String? = nil, running: Bool? = nil, servers: [String] = []) {
            self.service = service
            self.running = running
            self.servers = servers
        }
    }

    public struct CollectionProblem: Sendable, Codable, Hashable {
        /// The file or directory (`/etc/shadow`) or the part (`dpkg`) concerned.
        public var source: String
        public var message: String

        public init(source: String, message: String) {
            self.source = source
            self.message = message
        }
    }
}

/// OpenSSH server settings as `sshd` would apply them: the first value given wins, files named by
/// `Include` are read in place, and `Match` blocks are kept apart with their conditions.
public struct SSHDSettings: Sendable, Codable, Hashable {
    /// Keyword (lower-cased) → effective global value, defaults included.
    public var global: [String: String]
    /// Keyword (lower-cased) → `file:line` of the line that set it; absent for a default.
    public var origins: [String: String]
    public var matchBlocks: [MatchBlock]

    public init(global: [String: String], origins: [String: String], matchBlocks: [MatchBlock]) {
        self.global = global
        self.origins = origins
        self.matchBlocks = matchBlocks
    }

    public struct MatchBlock: Sendable, Codable, Hashable {
        public var criteria: String
        public var settings: [String: String]
        public var source: String

        public init(criteria: String, settings: [String: String], source: String) {
            self.criteria = criteria
            self.settings = settings
            self.source = source
        }
    }

    /// The value that applies to some connection: the global one, or any `Match` block's.
    public func values(of keyword: String) -> [String] {
        let key = keyword.lowercased()
        return ([global[key]] + matchBlocks.map { $0.settings[key] }).compactMap { $0 }
    }
}
