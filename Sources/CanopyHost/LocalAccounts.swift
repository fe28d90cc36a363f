import Foundation

/// `/etc/passwd`, `/etc/group` and `/etc/shadow`. The shadow file's hashes never leave this
/// function: only whether a password is set, locked or empty, and its ageing fields.
enum LocalAccounts {
    static let nonLoginShells: Set<String> = [
        "/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync", "/sbin/shutdown", "/sbin/halt",
        "/usr/bin/nologin",
    ]

    static func users(passwd: String, path: String, problems: inout [String]) -> [HostInventory.User] {
        var users: [HostInventory.User] = []
        for (offset, line) in passwd.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let fields = trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 7, let uid = Int(fields[2]), let gid = Int(fields[3]) else {
                problems.append("\(path):\(offset + 1): expected name:password:uid:gid:gecos:home:shell")
                continue
            }
            let shell = fields[6]
            users.append(.init(name: fields[0], uid: uid, gid: gid, home: fields[5], shell: shell, canLogIn: !shell.isEmpty && !nonLoginShells.contains(shell)))
        }
        return users
    }

    static func groups(_ text: String, path: String, problems: inout [String]) -> [HostInventory.Group] {
        var groups: [HostInventory.Group] = []
        for (offset, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let fields = trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4, let gid = Int(fields[2]) else {
                problems.append("\(path):\(offset + 1): expected name:password:gid:members")
                continue
            }
            groups.append(.init(name: fields[0], gid: gid, members: fields[3].split(separator: ",").map(String.init)))
        }
        return groups
    }

    /// Shadow entries by user name, without their hashes.
    static func passwords(shadow: String, path: String, problems: inout [String]) -> [String: HostInventory.PasswordState] {
        var states: [String: HostInventory.PasswordState] = [:]
        for (offset, line) in shadow.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, !trimmed.hasPrefix("#") else { continue }
            let fields = trimmed.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard fields.count >= 8 else {
                problems.append("\(path):\(offset + 1): expected 9 colon-separated fields")
                continue
            }
            let hash = fields[1]
            let status =
                if hash.isEmpty { "empty" } else if hash == "*" || hash == "!*" { "none" } else if hash.hasPrefix("!") { "locked" } else { "set" }
            states[fields[0]] = HostInventory.PasswordState(
                status: status, lastChanged: Int(fields[2]).map { Date(timeIntervalSince1970: Double($0) * 86_400) },
                maximumDays: Int(fields[4]), warningDays: Int(fields[5]), inactiveDays: Int(fields[6]))
        }
        return states
    }
}

/// sudoers files: user specifications (`who host = (runas) [NOPASSWD:] commands`), with
/// `@include`/`#include` and `@includedir`/`#includedir` followed. Aliases and `Defaults` lines
/// are skipped; principals are kept as written.
struct SudoersReader {
    private(set) var rules: [HostInventory.SudoRule] = []
    private var visited: Set<String> = []

    mutating func read(_ path: String, files: inout HostFiles, depth: Int = 0) {
        guard depth < 8, visited.insert(path).inserted, let text = files.text(path) else { return }
        var pending = ""
        var startLine = 0
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if pending.isEmpty { startLine = offset + 1 }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
                continue
            }
            line = pending + line
            pending = ""
            for directive in ["@includedir ", "#includedir "] where line.hasPrefix(directive) {
                let directory = resolve(String(line.dropFirst(directive.count)).trimmingCharacters(in: .whitespaces), from: path)
                // sudo skips files ending in `~` or containing `.` in includedir.
                for name in files.list(directory) where !name.hasSuffix("~") && !name.contains(".") {
                    read(directory + "/" + name, files: &files, depth: depth + 1)
                }
            }
            for directive in ["@include ", "#include "] where line.hasPrefix(directive) {
                read(resolve(String(line.dropFirst(directive.count)).trimmingCharacters(in: .whitespaces), from: path), files: &files, depth: depth + 1)
            }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("@") || line.hasPrefix("Defaults") { continue }
            if ["User_Alias", "Runas_Alias", "Host_Alias", "Cmnd_Alias", "Cmd_Alias"].contains(where: { line.hasPrefix($0) }) { continue }
            if let rule = Self.rule(line, source: "\(path):\(startLine)") { rules.append(rule) }
        }
    }

    private func resolve(_ target: String, from path: String) -> String {
        target.hasPrefix("/") ? target : (path as NSString).deletingLastPathComponent + "/" + target
    }

    static func rule(_ line: String, source: String) -> HostInventory.SudoRule? {
        guard let equals = line.firstIndex(of: "=") else { return nil }
        let left = line[..<equals].split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard let principal = left.first else { return nil }
        var right = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        var runAs: String?
        if right.hasPrefix("("), let close = right.firstIndex(of: ")") {
            runAs = String(right[right.index(after: right.startIndex)..<close])
            right = right[right.index(after: close)...].trimmingCharacters(in: .whitespaces)
        }
        var noPassword = false
        // Tags (NOPASSWD:, SETENV:, …) precede the command list.
        while let colon = right.firstIndex(of: ":"), right[..<colon].allSatisfy({ $0.isUppercase || $0 == "_" }), colon != right.startIndex {
            if right[..<colon] == "NOPASSWD" { noPassword = true }
            right = right[right.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HostInventory.SudoRule(principal: String(principal), runAs: runAs, commands: right, noPassword: noPassword, source: source)
    }
}
