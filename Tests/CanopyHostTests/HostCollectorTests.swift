import CanopyModel
import Crypto
import Foundation
import CanopyTestSupport
import Testing

@testable import CanopyHost

enum HostFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static func root(_ name: String) -> URL { folder.appendingPathComponent(name) }
    static let collectedAt = Date(timeIntervalSince1970: 1_764_460_800)  // 2025-11-30
    static func inventory(_ name: String) -> HostInventory { HostCollector(root: root(name)).collect(at: collectedAt) }
}

@Suite struct HostCollectorTests {
    let host = HostFixtures.inventory("debian-ot")

    @Test func readsIdentityAndSystemFromFiles() {
        #expect(host.hostID == "0f3c9a7be1d24c5e8a6b2d4f1e3c5a79")
        #expect(host.hostname == "hist-01")
        #expect(host.os.id == "debian" && host.os.versionID == "12" && host.os.codename == "bookworm")
        #expect(host.kernel.release == "6.1.0-26-amd64" && host.kernel.machine == "x86_64")
        #expect(host.bootTime == Date(timeIntervalSince1970: 1_763_424_000))
        #expect(host.uptimeSeconds == 864_000.52)
        #expect(host.cpu == .init(model: "Intel(R) Xeon(R) Silver 4310 CPU @ 2.10GHz", logicalCPUs: 2))
        #expect(host.memoryBytes == Int64(16_777_216_000))
        #expect(host.disks.map(\.mountPoint) == ["/", "/var/lib/historian"])
        #expect(host.interfaces.map(\.name) == ["eth0", "lo"])
        #expect(host.interfaces.first?.macAddress == "52:54:00:12:34:56")
        #expect(host.problems.isEmpty, "\(host.problems)")
    }

    @Test func listeningSocketsCarryTheirProcesses() {
        let ports = host.listeningPorts.map { "\($0.transport) \($0.address):\($0.port) \($0.process ?? "?") \($0.user ?? "?")" }
        #expect(ports == [
            "tcp 0.0.0.0:22 sshd root", "tcp :::22 sshd root", "tcp 0.0.0.0:502 modbus-gw historian", "tcp 127.0.0.1:5432 ? postgres",
            "udp 0.0.0.0:123 chronyd root", "udp 127.0.0.1:323 chronyd _chrony",
        ])
        // The established connection on 10.0.0.10:22 is not a listening socket.
        #expect(!host.listeningPorts.contains { $0.address.hasPrefix("10.") })
        #expect(Set(host.listeningPorts.filter(\.isWorldListening).map(\.service)) == ["tcp/22", "tcp/502", "udp/123"])
    }

    @Test func procNetAddressesDecodeInHostByteOrder() {
        #expect(ProcNet.decodeAddress("0100007F") == "127.0.0.1")
        #expect(ProcNet.decodeAddress("0A00000A") == "10.0.0.10")
        #expect(ProcNet.decodeAddress("00000000000000000000000001000000") == "::1")
        #expect(ProcNet.decodeAddress("0000000000000000FFFF00000100007F") == "::ffff:127.0.0.1")
        #expect(ProcNet.decodeAddress("B80D0120000000000000000001000000") == "2001:db8::1")
        #expect(ProcNet.decodeAddress("XYZ") == nil)
    }

    @Test func installedPackagesAreThoseDpkgCallsInstalled() {
        #expect(host.packageManagers == ["dpkg"])
        #expect(host.packages.map(\.name) == ["base-files", "chrony", "libc6", "libssl3", "linux-image-amd64", "openssh-server", "postgresql-15", "tzdata"])
        #expect(!host.packages.contains { $0.name == "telnet" }, "config-files only is not installed")
        #expect(host.packages.first { $0.name == "openssh-server" }?.version == "1:9.2p1-2+deb12u6")
    }

    @Test func pendingUpdatesComeFromPlainGzipAndLZ4Lists() throws {
        let updates = try #require(host.pendingUpdates)
        let summary = updates.map { "\($0.name) \($0.installedVersion) -> \($0.candidateVersion) \($0.security ? "security" : "")" }
        #expect(summary == [
            "libc6 2.36-9+deb12u8 -> 2.36-9+deb12u10 ",
            "libssl3 3.0.17-1~deb12u2 -> 3.0.17-1~deb12u3 security",
            // Installed from backports (NotAutomatic, ButAutomaticUpgrades): its newer backport is offered…
            "linux-image-amd64 6.10.11-1~bpo12+1 -> 6.12.9-1~bpo12+1 ",
            // The point release's u8 is the candidate, but the security pocket's u7 is newer than what is installed.
            "openssh-server 1:9.2p1-2+deb12u6 -> 1:9.2p1-2+deb12u8 security",
            // …but backports' postgresql-15 15.99 is not: it was installed from main.
            "postgresql-15 15.8-0+deb12u1 -> 15.14-0+deb12u1 security",
            "tzdata 2025b-0+deb12u1 -> 2025b-0+deb12u2 ",
        ])
        #expect(updates.first { $0.name == "libssl3" }?.source == "deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64")
        #expect(host.lastPatchTime == Timestamps.parse("2026-10-02T03:12:45Z"))
    }

    @Test func usersGroupsAndShadowWithoutHashes() throws {
        #expect(host.users.map(\.name) == ["root", "daemon", "toor", "postgres", "_chrony", "historian", "alice", "guest"])
        #expect(host.users.filter(\.canLogIn).map(\.name) == ["root", "toor", "postgres", "alice", "guest"])
        let alice = try #require(host.users.first { $0.name == "alice" }?.password)
        #expect(alice.status == "set" && alice.maximumDays == 90 && alice.lastChanged == Date(timeIntervalSince1970: 20_300 * 86_400))
        #expect(host.users.first { $0.name == "guest" }?.password?.status == "empty")
        #expect(host.users.first { $0.name == "root" }?.password?.status == "locked")
        #expect(host.users.first { $0.name == "historian" }?.password?.status == "none")
        let encoded = String(decoding: try CanopyJSON.encoder().encode(host), as: UTF8.self)
        #expect(!encoded.contains("notarealhash"), "password hashes never leave the collector")
        #expect(host.groups.first { $0.name == "ops" }?.members == ["alice", "bob"])
    }

    @Test func sudoersFollowsIncludedirAndContinuationLines() {
        let rules = host.sudoRules.map { "\($0.principal) (\($0.runAs ?? "")) \($0.noPassword ? "NOPASSWD " : "")\($0.commands) @\(($0.source as NSString).lastPathComponent)" }
        #expect(rules == [
            "root (ALL:ALL) ALL @sudoers:6", "%sudo (ALL:ALL) ALL @sudoers:7", "%ops (ALL) NOPASSWD ALL @ops:1",
            "historian (root) NOPASSWD HISTORIAN @ops:2",
        ])
    }

    @Test func sshdFirstValueWinsIncludesReadInPlaceMatchBlocksApart() throws {
        let sshd = try #require(host.sshd)
        #expect(sshd.global["permitrootlogin"] == "no", "the drop-in is included before the main file's 'yes'")
        #expect(sshd.origins["permitrootlogin"] == "/etc/ssh/sshd_config.d/10-hardening.conf:1")
        #expect(sshd.global["passwordauthentication"] == "no", "Keyword=value is split at '='")
        #expect(sshd.global["x11forwarding"] == "yes")
        #expect(sshd.global["pubkeyauthentication"] == "yes" && sshd.origins["pubkeyauthentication"] == nil, "a default, marked as one")
        #expect(sshd.global["maxauthtries"] == "4", "'Match all' returns to the global context")
        #expect(sshd.matchBlocks.count == 1)
        #expect(sshd.matchBlocks.first?.criteria == "User backup Address 10.20.0.0/16")
        #expect(sshd.matchBlocks.first?.settings == ["passwordauthentication": "yes", "permitrootlogin": "no"])
        #expect(sshd.values(of: "PasswordAuthentication") == ["no", "yes"])
    }

    @Test func servicesAndTimeSync() throws {
        let services = try #require(host.services)
        #expect(services.map { "\($0.name) \($0.enabled) \($0.running.map(String.init) ?? "?")" } == ["chrony true true", "cron true false", "ssh true true"])
        #expect(host.timeSync == .init(service: "chrony", running: true, servers: ["ntp1.grid.example", "ntp2.grid.example"]))
    }

    @Test func anUnknownDistributionWithoutDpkgStillStoresWhatItCouldRead() {
        let host = HostFixtures.inventory("plantos-rtu")
        #expect(host.os.id == "plantos" && host.hostname == "rtu-gw-07")
        #expect(host.users.map(\.name) == ["root", "op"], "the damaged passwd line is skipped, the others kept")
        let problems = host.problems.map { "\($0.source): \($0.message)" }
        #expect(problems.contains { $0.hasPrefix("/etc/os-release: distribution 'plantos' is not one Canopy knows") })
        #expect(problems.contains("/etc/passwd: /etc/passwd:2: expected name:password:uid:gid:gecos:home:shell"))
        #expect(problems.contains { $0.hasPrefix("/etc/shadow: ") }, "a directory where the shadow file should be is reported")
        #expect(problems.contains { $0.hasPrefix("/var/lib/rpm/rpmdb.sqlite: not an rpm SQLite database") })
        #expect(problems.contains { $0.hasPrefix("packages: no package database") })
        #expect(problems.contains { $0.hasPrefix("/etc/machine-id: missing") })
        #expect(HostIdentity.isValid(host.hostID), "a host without machine-id gets a stable id from its hostname")
        #expect(host.pendingUpdates == nil, "unknown, not none")
        #expect(host.sshd == nil)
    }

    /// The fixture database was written by rpm 4.18 itself (Debian's rpm package): rpmbuild made
    /// four packages and `rpm --dbpath … -i --justdb` installed them.
    @Test func readsTheRPMSQLiteDatabaseWithoutRunningRPM() {
        let host = HostFixtures.inventory("rocky-9")
        #expect(host.os.id == "rocky" && host.os.versionID == "9.4")
        #expect(host.packageManagers == ["rpm"])
        #expect(host.packages.map { "\($0.name) \($0.version) \($0.architecture ?? "")" } == [
            "bash 5.1.8-9.el9 noarch", "kernel-core 5.14.0-427.13.1.el9_4 noarch", "openssl-libs 1:3.0.7-27.el9 noarch", "tzdata 2024a-1.el9 noarch",
        ])
        // dnf's cached metadata: BaseOS (gzip, with security advisories) and AppStream (plain).
        let updates = host.pendingUpdates?.map { "\($0.name) \($0.installedVersion) -> \($0.candidateVersion) \($0.security ? "security" : "-") \($0.severity ?? "-") \($0.source ?? "")" }
        #expect(updates == [
            "kernel-core 5.14.0-427.13.1.el9_4 -> 5.14.0-503.40.1.el9_5 security important baseos",
            "openssl-libs 1:3.0.7-27.el9 -> 1:3.2.2-6.el9_5 security moderate baseos",
            "tzdata 2024a-1.el9 -> 2024b-2.el9 - - appstream",
        ])
        #expect(host.problems.map(\.source) == ["/var/cache/dnf/appstream-0a1b2c3d4e5f6789/repodata/88bb-updateinfo.xml.zst"], "zstd is named, not guessed")
    }

    /// rpm is the peer for the package database: `rpm -qa` over a copy of the same database.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/rpm"), "needs rpm (Debian) as the peer"))
    func rpmListsTheSamePackages() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-rpmdb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(
            at: HostFixtures.root("rocky-9").appendingPathComponent("var/lib/rpm/rpmdb.sqlite"), to: folder.appendingPathComponent("rpmdb.sqlite"))
        let rpm = try await Subprocess.run(["rpm", "--dbpath", folder.path, "-qa", "--qf", "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{ARCH}\\n"])
        let listed = rpm.text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }.sorted()
        let read = HostFixtures.inventory("rocky-9").packages.map { "\($0.name) \($0.version) \($0.architecture ?? "")" }.sorted()
        #expect(listed == read, "\(rpm.text)")
    }

    /// RHEL 8's Berkeley DB `Packages`, written by libdb itself (`db5.3_load`, 512-byte pages so
    /// every header sits on a chain of overflow pages) from the Rocky fixture's headers.
    @Test func readsTheRPMBerkeleyDatabaseOfOlderReleases() {
        let host = HostFixtures.inventory("rhel-8")
        #expect(host.os.id == "rhel" && host.packageManagers == ["rpm"])
        #expect(host.packages.map { "\($0.name) \($0.version)" } == ["bash 5.1.8-9.el9", "kernel-core 5.14.0-427.13.1.el9_4", "openssl-libs 1:3.0.7-27.el9", "tzdata 2024a-1.el9"])
        #expect(host.problems.map(\.source) == ["/var/cache/dnf"], "no dnf cache: pending updates unknown")
    }

    /// libdb writes, rpm's own read-only Berkeley DB backend (`bdb_ro`) reads, and Canopy must read
    /// the same packages, at every page size (items inline on large pages, on overflow chains on
    /// small ones).
    @Test(.enabled(
        if: FileManager.default.isExecutableFile(atPath: "/usr/bin/rpm") && FileManager.default.isExecutableFile(atPath: "/usr/bin/db5.3_load"),
        "needs rpm and db5.3-util (Debian) as the peers"))
    func berkeleyDatabasesOfEveryPageSizeReadAsRPMReadsThem() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-bdb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sqlite = HostFixtures.root("rocky-9").appendingPathComponent("var/lib/rpm/rpmdb.sqlite").path
        for pageSize in [512, 4096, 65536] {
            let directory = folder.appendingPathComponent("\(pageSize)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let script = """
                import sqlite3, struct, sys
                rows = sqlite3.connect(sys.argv[1]).execute('select hnum, blob from Packages').fetchall()
                print('VERSION=3\\nformat=bytevalue\\ntype=hash\\ndb_pagesize=' + sys.argv[2] + '\\nHEADER=END')
                for hnum, blob in rows: print(' ' + struct.pack('<I', hnum).hex() + '\\n ' + bytes(blob).hex())
                print('DATA=END')
                """
            let dump = try await Subprocess.run(["python3", "-c", script, sqlite, "\(pageSize)"])
            let load = try await Subprocess.run(["db5.3_load", directory.appendingPathComponent("Packages").path], input: dump.stdout)
            #expect(load.status == 0, "\(load.text)")
            let rpm = try await Subprocess.run([
                "rpm", "--dbpath", directory.path, "--define", "_db_backend bdb_ro", "-qa", "--qf", "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n",
            ])
            let listed = rpm.stdout.isEmpty ? [] : String(decoding: rpm.stdout, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
            let read = try RPMDatabase.packages(berkeleyDB: directory.appendingPathComponent("Packages").path).packages.map { "\($0.name) \($0.version)" }.sorted()
            #expect(listed.count == 4 && listed == read, "page size \(pageSize): rpm \(listed), Canopy \(read)")
        }
    }

    @Test func aCorruptBerkeleyDatabaseIsAnErrorNotACrash() throws {
        var data = try Data(contentsOf: HostFixtures.root("rhel-8").appendingPathComponent("var/lib/rpm/Packages"))
        #expect(throws: BerkeleyHash.Malformed.self) { try BerkeleyHash(Data(data.prefix(100))).records() }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var damaged = data
            for _ in 0..<8 { damaged[Int.random(in: 512..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = try? BerkeleyHash(damaged).records()  // any answer but a crash
        }
        data[12] = 0
        #expect(throws: BerkeleyHash.Malformed.self) { try BerkeleyHash(data) }
    }

    @Test func aCorruptDpkgStatusKeepsEveryReadableStanza() {
        let host = HostFixtures.inventory("debian-damaged")
        #expect(host.packages.map(\.name) == ["bash", "zlib1g"])
        let problems = host.problems.filter { $0.source == "/var/lib/dpkg/status" }.map(\.message)
        #expect(problems == [
            "/var/lib/dpkg/status:6: stanza has no Package field; skipped",
            "/var/lib/dpkg/status:12: 'this line is damaged' is not a 'Field: value' line; stanza skipped",
        ])
        #expect(host.pendingUpdates == nil)
        #expect(host.problems.contains { $0.source == "/var/lib/apt/lists" })
    }

    @Test func unreadableFilesAreNamedWithTheReason() throws {
        // As root every file is readable, so a file made unreadable proves nothing there; a
        // directory in a file's place fails to read for everyone.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-host-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("etc/sudoers"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let host = HostCollector(root: folder).collect(at: HostFixtures.collectedAt)
        #expect(host.problems.contains { $0.source == "/etc/sudoers" })
        #expect(host.problems.contains { $0.source == "/etc/os-release" && $0.message.contains("missing") })
        #expect(host.os.id == "unknown")
    }
}

@Suite struct DebianVersionTests {
    @Test func ordersAsDpkgDoes() {
        let ascending = ["1.0~rc1", "1.0", "1.0-1", "1.0-1+b1", "1.0a", "1.0.1", "1.1", "1.10", "2:0.1"]
        for (a, b) in zip(ascending, ascending.dropFirst()) {
            #expect(DebianVersion(a) < DebianVersion(b), "\(a) < \(b)")
            #expect(!(DebianVersion(b) < DebianVersion(a)))
        }
        #expect(DebianVersion("1.0") == DebianVersion("1.0-0"))
        #expect(DebianVersion("0:1.2") == DebianVersion("1.2"))
        #expect(DebianVersion("1.2.13.dfsg-1") < DebianVersion("1:1.2.13.dfsg-1"))
        #expect(DebianVersion("3.0.17-1~deb12u2") < DebianVersion("3.0.17-1~deb12u3"))
        #expect(DebianVersion("3.0.17-1~deb12u3") < DebianVersion("3.0.17-1"))
    }

    /// dpkg itself is the peer: the same pairs of this machine's real versions, ordered by
    /// `dpkg --compare-versions` and by Canopy.
    @Test(.enabled(if: FileManager.default.isReadableFile(atPath: "/var/lib/dpkg/status"), "needs a Debian machine's dpkg"))
    func agreesWithDpkgOnThisMachinesVersions() async throws {
        let status = try String(contentsOfFile: "/var/lib/dpkg/status", encoding: .utf8)
        let versions = Array(Set(DpkgStatus.parse(status, path: "status").packages.map(\.version))).sorted().prefix(400)
        var pairs: [(String, String)] = []
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<150 { pairs.append((versions.randomElement(using: &generator)!, versions.randomElement(using: &generator)!)) }
        for (a, b) in pairs {
            let dpkg = try await Subprocess.run(["dpkg", "--compare-versions", a, "lt", b])
            #expect((dpkg.status == 0) == (DebianVersion(a) < DebianVersion(b)), "\(a) < \(b)")
        }
    }
}

@Suite struct RPMVersionTests {
    @Test func ordersAsRPMDoes() {
        // Cases from rpm's own test suite (rpmvercmp.at).
        let cases: [(String, String, Int)] = [
            ("1.0", "1.0", 0), ("1.0", "2.0", -1), ("2.0.1", "2.0.1", 0), ("2.0", "2.0.1", -1), ("2.0.1a", "2.0.1", 1), ("5.5p1", "5.5p2", -1),
            ("5.5p10", "5.5p1", 1), ("10xyz", "10.1xyz", -1), ("xyz10", "xyz10.1", -1), ("xyz.4", "8", -1), ("1b.fc17", "1.fc17", -1),
            ("1.0010", "1.9", 1), ("1.05", "1.5", 0), ("1.0~rc1", "1.0", -1), ("1.0~rc1", "1.0~rc1~git123", 1), ("1.0^", "1.0", 1),
            ("1.0^git1", "1.0^git2", -1), ("1.0^git1", "1.01", -1), ("1.0^20160101", "1.0.1", -1), ("1.0~rc1^git1", "1.0~rc1", 1),
            ("a+", "a_", 0), ("+a", "_a", 0), ("+_", "_+", 0), ("_", "+", 0),
        ]
        for (a, b, expected) in cases {
            #expect(RPMVersion.vercmp(a, b) == expected, "\(a) vs \(b)")
            #expect(RPMVersion.vercmp(b, a) == -expected, "\(b) vs \(a)")
        }
        #expect(RPMVersion("1:1.0-1") > RPMVersion("2.0-1"), "the epoch first")
        #expect(RPMVersion("1.0-2.el9") > RPMVersion("1.0-1.el9"), "then the release")
    }

    /// rpm itself is the peer (Debian's rpm package: its Lua `rpm.vercmp`), over generated versions.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/rpm"), "needs rpm (Debian) as the peer"))
    func agreesWithRPMOnGeneratedVersions() async throws {
        var random = SeededRandom(seed: 20_261_130)
        let pieces = ["1", "0", "10", "2", "a", "b", "rc", ".", "~", "^", "_", "el9", "p", "001"]
        var pairs: [(String, String)] = []
        for _ in 0..<120 {
            func version() -> String { (0..<Int(random.next() % 5 + 1)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined() }
            pairs.append((version(), version()))
        }
        let script = pairs.map { "print(rpm.vercmp(\"\($0.0)\", \"\($0.1)\") .. \"\\n\")" }.joined(separator: " ")
        let rpm = try await Subprocess.run(["rpm", "--eval", "%{lua: \(script)}"])
        let answers = rpm.text.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        try #require(answers.count == pairs.count, "\(rpm.text)")
        for ((a, b), expected) in zip(pairs, answers) {
            #expect(RPMVersion.vercmp(a, b) == expected, "'\(a)' vs '\(b)'")
        }
    }
}

@Suite struct LZ4FrameTests {
    @Test func decompressesLinkedBlocksWrittenByTheLZ4Tool() throws {
        let data = try Data(contentsOf: HostFixtures.folder.appendingPathComponent("lz4-sample.lz4"))
        #expect(LZ4Frame.isFrame(data))
        let plain = try LZ4Frame.decompress(data)
        #expect(plain.count == 181_176)
        #expect(SHA256.hash(data: plain).hexEncoded == "b85f778ad209d1d164537d43ced507dfa5caa628fdd7809f4700b6c619ae1ce7")
    }

    @Test func damagedFramesAreErrorsNotCrashes() throws {
        let data = try Data(contentsOf: HostFixtures.folder.appendingPathComponent("lz4-sample.lz4"))
        #expect(throws: LZ4Frame.Malformed.self) { try LZ4Frame.decompress(data.prefix(data.count / 2)) }
        var corrupt = data
        corrupt[20] ^= 0xFF
        corrupt[21] ^= 0xFF
        _ = try? LZ4Frame.decompress(corrupt)  // any answer but a crash
    }

    /// The `lz4` tool is the peer: whatever it compresses, with whatever block options, reads back.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/lz4"), "needs lz4 (Debian)"))
    func roundTripsWhatTheLZ4ToolWrites() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-lz4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var generator = SystemRandomNumberGenerator()
        let words = ["Package:", "Version:", "1.2.3-4", "amd64", "\n", "security", "libssl3", " "]
        var text = ""
        for _ in 0..<60_000 { text += words.randomElement(using: &generator)! }
        let plain = Data(text.utf8) + Data((0..<20_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try plain.write(to: folder.appendingPathComponent("in"))
        for options in [["-1"], ["-9", "-BD"], ["-B4", "--content-size"], ["-BX", "--no-frame-crc"]] {
            let lz4 = try await Subprocess.run(["lz4", "-q", "-f"] + options + [folder.appendingPathComponent("in").path, folder.appendingPathComponent("out.lz4").path])
            #expect(lz4.status == 0, "\(lz4.text)")
            let compressed = try Data(contentsOf: folder.appendingPathComponent("out.lz4"))
            #expect(try Data(LZ4Frame.decompress(compressed)) == plain, "lz4 \(options)")
        }
    }
}
