import CanopyModel
import Crypto
import Foundation

/// Where a host sits and who answers for it, from the enrollment or the command line: the site is
/// the host's account and region in the inventory, the tags (`Owner`, `App`, `Env`…) put it under
/// an application and business unit by the ownership rules in force, like any cloud resource.
public struct HostPlacement: Sendable, Hashable {
    public var site: String
    public var tags: [String: String]

    public init(site: String, tags: [String: String] = [:]) {
        self.site = site
        self.tags = tags
    }

    /// Sites name accounts and URLs: letters, digits, `-`, `_` and `.`, up to 64.
    public static func isValidSite(_ site: String) -> Bool {
        !site.isEmpty && site.count <= 64
            && site.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || "-_.".unicodeScalars.contains($0) }
    }
}

extension HostInventory {
    /// The inventory's `onprem.host` resource. Properties use the PascalCase the policy language
    /// reads (`Sshd.PermitRootLogin`), plus derived facts the host checks test directly
    /// (`ExtraUid0Accounts`, `WorldListeningServices`, `OldestPendingSecurityUpdate`). Values that
    /// change every minute (uptime, free space, process ids) are left out, so a host that did not
    /// change makes no change in its timeline.
    public func resource(placement: HostPlacement, lifecycle: OSLifecycle = .bundled) -> Resource {
        var tags = placement.tags
        if tags["Name"] == nil { tags["Name"] = hostname }
        return Resource(
            uid: Resource.canopyUID(provider: .onprem, account: placement.site, region: placement.site, type: onpremHostType, id: hostID),
            provider: .onprem, account: placement.site, region: placement.site, type: onpremHostType, name: hostname, tags: tags,
            properties: properties(site: placement.site, lifecycle: lifecycle), observedAt: collectedAt)
    }

    func properties(site: String, lifecycle: OSLifecycle) -> JSONValue {
        var p: [String: JSONValue] = [
            "HostId": .string(hostID), "Hostname": .string(hostname), "Site": .string(site),
            "Kernel": .object(compact(["Release": .string(kernel.release), "Version": kernel.version.map(JSONValue.string), "Machine": kernel.machine.map(JSONValue.string)])),
            "Disks": .array(disks.map { .object(compact(["MountPoint": .string($0.mountPoint), "Device": .string($0.device), "FileSystem": .string($0.fileSystem), "SizeBytes": $0.sizeBytes.map(JSONValue.int)])) }),
            "Interfaces": .array(interfaces.map { .object(compact(["Name": .string($0.name), "MacAddress": $0.macAddress.map(JSONValue.string), "Mtu": $0.mtu.map { .int(Int64($0)) }, "State": $0.state.map(JSONValue.string), "Addresses": .array($0.addresses.map(JSONValue.string))])) }),
            "ListeningPorts": .array(listeningPorts.map { .object(compact(["Transport": .string($0.transport), "Address": .string($0.address), "Port": .int(Int64($0.port)), "Process": $0.process.map(JSONValue.string), "User": $0.user.map(JSONValue.string), "WorldListening": .bool($0.isWorldListening)])) }),
            "WorldListeningServices": .array(Set(listeningPorts.filter(\.isWorldListening).map(\.service)).sorted().map(JSONValue.string)),
            "PackageManagers": .array(packageManagers.map(JSONValue.string)),
            "PackageCount": .int(Int64(packages.count)),
            "PackagesDigest": .string(ContentDigest.sha256(packages.map { "\($0.name)\u{0}\($0.architecture ?? "")\u{0}\($0.version)" }.joined(separator: "\n"))),
            "PendingUpdatesKnown": .bool(pendingUpdates != nil),
            "Users": .array(users.map(Self.userJSON)),
            "LoginUsers": .array(users.filter(\.canLogIn).map { .string($0.name) }),
            "ExtraUid0Accounts": .array(users.filter { $0.uid == 0 && $0.name != "root" }.map { .string($0.name) }),
            "EmptyPasswordAccounts": .array(users.filter { $0.password?.status == "empty" }.map { .string($0.name) }),
            "Groups": .array(groups.map { .object(["Name": .string($0.name), "Gid": .int(Int64($0.gid)), "Members": .array($0.members.map(JSONValue.string))]) }),
            "SudoRules": .array(sudoRules.map { .object(compact(["Principal": .string($0.principal), "RunAs": $0.runAs.map(JSONValue.string), "Commands": .string($0.commands), "NoPassword": .bool($0.noPassword), "Source": .string($0.source)])) }),
            "NoPasswordSudoEverything": .array(Set(sudoRules.filter { $0.noPassword && $0.grantsEverything }.map(\.principal)).sorted().map(JSONValue.string)),
            "TimeSync": .object(compact(["Service": timeSync.service.map(JSONValue.string), "Running": timeSync.running.map(JSONValue.bool), "Servers": .array(timeSync.servers.map(JSONValue.string)), "Synchronised": .bool(timeSync.service != nil && timeSync.running != false && !timeSync.servers.isEmpty)])),
            "CollectionProblems": .array(problems.map { .object(["Source": .string($0.source), "Message": .string($0.message)]) }),
        ]
        var os: [String: JSONValue?] = [
            "Id": .string(self.os.id), "Name": .string(self.os.name), "VersionId": self.os.versionID.map(JSONValue.string),
            "PrettyName": self.os.prettyName.map(JSONValue.string), "Codename": self.os.codename.map(JSONValue.string),
            "IdLike": .array(self.os.idLike.map(JSONValue.string)),
        ]
        if let entry = lifecycle.entry(osID: self.os.id, versionID: self.os.versionID) {
            os["SupportEnds"] = .string(Timestamps.iso8601(entry.supportEnds))
        }
        p["OS"] = .object(compact(os))
        if let bootTime { p["BootTime"] = .string(Timestamps.iso8601(bootTime)) }
        if let cpu { p["Cpu"] = .object(compact(["Model": cpu.model.map(JSONValue.string), "LogicalCpus": .int(Int64(cpu.logicalCPUs))])) }
        if let memoryBytes { p["MemoryBytes"] = .int(memoryBytes) }
        if let lastPatchTime { p["LastPatchTime"] = .string(Timestamps.iso8601(lastPatchTime)) }
        if let services {
            p["Services"] = .array(services.map { .object(compact(["Name": .string($0.name), "Enabled": .bool($0.enabled), "Running": $0.running.map(JSONValue.bool)])) })
        }
        if let pendingUpdates {
            p["PendingUpdates"] = .array(pendingUpdates.map(Self.updateJSON))
            p["PendingUpdateCount"] = .int(Int64(pendingUpdates.count))
            let security = pendingUpdates.filter(\.security)
            p["PendingSecurityUpdateCount"] = .int(Int64(security.count))
            if let oldest = security.compactMap(\.firstSeen).min() { p["OldestPendingSecurityUpdate"] = .string(Timestamps.iso8601(oldest)) }
        }
        if let sshd { p["Sshd"] = Self.sshdJSON(sshd) }
        return .object(p)
    }

    static func userJSON(_ user: User) -> JSONValue {
        var fields: [String: JSONValue?] = [
            "Name": .string(user.name), "Uid": .int(Int64(user.uid)), "Gid": .int(Int64(user.gid)), "Home": .string(user.home),
            "Shell": .string(user.shell), "CanLogIn": .bool(user.canLogIn),
        ]
        if let password = user.password {
            fields["Password"] = .object(compact([
                "Status": .string(password.status), "LastChanged": password.lastChanged.map { .string(Timestamps.iso8601($0)) },
                "MaximumDays": password.maximumDays.map { .int(Int64($0)) },
            ]))
        }
        return .object(compact(fields))
    }

    static func updateJSON(_ update: PendingUpdate) -> JSONValue {
        .object(compact([
            "Name": .string(update.name), "InstalledVersion": .string(update.installedVersion), "CandidateVersion": .string(update.candidateVersion),
            "Security": .bool(update.security), "Source": update.source.map(JSONValue.string), "Severity": update.severity.map(JSONValue.string),
            "FirstSeen": update.firstSeen.map { .string(Timestamps.iso8601($0)) },
        ]))
    }

    /// sshd_config's keywords in their documented spelling, for the properties' keys.
    static let sshdSpelling: [String: String] = [
        "port": "Port", "permitrootlogin": "PermitRootLogin", "passwordauthentication": "PasswordAuthentication",
        "permitemptypasswords": "PermitEmptyPasswords", "pubkeyauthentication": "PubkeyAuthentication",
        "kbdinteractiveauthentication": "KbdInteractiveAuthentication", "challengeresponseauthentication": "ChallengeResponseAuthentication",
        "x11forwarding": "X11Forwarding", "maxauthtries": "MaxAuthTries", "logingracetime": "LoginGraceTime",
        "allowtcpforwarding": "AllowTcpForwarding", "permituserenvironment": "PermitUserEnvironment", "ignorerhosts": "IgnoreRhosts",
        "hostbasedauthentication": "HostbasedAuthentication", "loglevel": "LogLevel", "maxsessions": "MaxSessions",
        "clientaliveinterval": "ClientAliveInterval", "clientalivecountmax": "ClientAliveCountMax", "usepam": "UsePAM",
        "allowusers": "AllowUsers", "allowgroups": "AllowGroups", "denyusers": "DenyUsers", "denygroups": "DenyGroups",
        "ciphers": "Ciphers", "macs": "MACs", "kexalgorithms": "KexAlgorithms", "banner": "Banner", "listenaddress": "ListenAddress",
    ]

    static func sshdJSON(_ sshd: SSHDSettings) -> JSONValue {
        func spelled(_ settings: [String: String]) -> [String: JSONValue] {
            Dictionary(uniqueKeysWithValues: settings.map { (sshdSpelling[$0.key] ?? $0.key, JSONValue.string($0.value)) })
        }
        var fields = spelled(sshd.global)
        fields["MatchBlocks"] = .array(sshd.matchBlocks.map { .object(["Criteria": .string($0.criteria), "Source": .string($0.source), "Settings": .object(spelled($0.settings))]) })
        // Root may log in, by any means, in some context: the global setting or a Match block's.
        fields["RootLoginAllowed"] = .bool(sshd.values(of: "permitrootlogin").contains { $0.lowercased() != "no" })
        fields["PasswordAuthenticationAllowed"] = .bool(sshd.values(of: "passwordauthentication").contains { $0.lowercased() == "yes" })
        fields["Origins"] = .object(Dictionary(uniqueKeysWithValues: sshd.origins.map { (sshdSpelling[$0.key] ?? $0.key, JSONValue.string($0.value)) }))
        return .object(fields)
    }

    /// The child records the store keeps beside the resource.
    public var packageRecords: [HostPackageRecord] {
        packages.map { HostPackageRecord(name: $0.name, version: $0.version, architecture: $0.architecture ?? "", manager: $0.manager) }
    }

    public var portRecords: [HostPortRecord] {
        listeningPorts.map { HostPortRecord(transport: $0.transport, address: $0.address, port: $0.port, process: $0.process, user: $0.user) }
    }
}

private func compact(_ fields: [String: JSONValue?]) -> [String: JSONValue] { fields.compactMapValues { $0 } }

enum ContentDigest {
    static func sha256(_ text: String) -> String { SHA256.hash(data: Data(text.utf8)).hexEncoded }
}

/// Tags given to a host by an enrollment, the agent or the command line.
public enum HostTags {
    public static let maximumCount = 50

    /// `KEY=VALUE` items (repeated `--tag` options, or a console field split at commas), validated.
    public static func parse(_ items: [String]) throws -> [String: String] {
        var tags: [String: String] = [:]
        for item in items {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw HostInventoryProblem(field: "tags", message: "'\(item)' must be KEY=VALUE (e.g. Env=production)")
            }
            tags[parts[0]] = parts[1]
        }
        try validate(tags)
        return tags
    }

    public static func validate(_ tags: [String: String]) throws {
        guard tags.count <= maximumCount else { throw HostInventoryProblem(field: "tags", message: "\(tags.count) tags; at most \(maximumCount)") }
        for (key, value) in tags {
            guard !key.isEmpty, key.utf8.count <= 128, value.utf8.count <= 256,
                !(key + value).unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
            else { throw HostInventoryProblem(field: "tags.\(key.prefix(40))", message: "a tag key is 1-128 bytes and a value up to 256, without control characters") }
        }
    }
}
