import Foundation

/// Reads `sshd_config` the way sshd does: keywords are case-insensitive, the first value obtained
/// wins, `Include` reads the named files (globs, relative to `/etc/ssh`) in lexical order at that
/// point, and a `Match` block holds until the next `Match` or the end of its file. Unset keywords
/// take OpenSSH's compiled-in defaults, marked as defaults.
struct SSHDConfigReader {
    /// OpenSSH 9.x defaults for the settings the host checks and the console show (sshd_config(5)).
    static let defaults: [String: String] = [
        "port": "22", "permitrootlogin": "prohibit-password", "passwordauthentication": "yes",
        "permitemptypasswords": "no", "pubkeyauthentication": "yes", "kbdinteractiveauthentication": "yes",
        "x11forwarding": "no", "maxauthtries": "6", "logingracetime": "120", "allowtcpforwarding": "yes",
        "permituserenvironment": "no", "ignorerhosts": "yes", "hostbasedauthentication": "no", "loglevel": "INFO",
        "maxsessions": "10", "clientaliveinterval": "0", "usepam": "no",
    ]

    private var global: [String: String] = [:]
    private var origins: [String: String] = [:]
    private var blocks: [SSHDSettings.MatchBlock] = []
    private var depth = 0

    static func read(_ path: String, files: inout HostFiles) -> SSHDSettings? {
        guard files.exists(path) else { return nil }
        var reader = SSHDConfigReader()
        reader.readFile(path, files: &files, inMatch: nil)
        var effective = defaults
        for (key, value) in reader.global { effective[key] = value }
        return SSHDSettings(global: effective, origins: reader.origins, matchBlocks: reader.blocks)
    }

    /// `inMatch` is the index of the block an `Include` inside a `Match` adds to.
    private mutating func readFile(_ path: String, files: inout HostFiles, inMatch: Int?) {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 16 else {
            files.note(path, "Include nesting deeper than 16 levels; not read")
            return
        }
        guard let text = files.text(path) else { return }
        var current = inMatch
        for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            let parts = Self.split(line)
            guard let keyword = parts.first?.lowercased(), parts.count >= 2 else {
                files.note(path, "line \(offset + 1): '\(line.prefix(40))' has no value")
                continue
            }
            let value = parts.dropFirst().joined(separator: " ")
            let origin = "\(path):\(offset + 1)"
            switch keyword {
            case "include":
                for pattern in parts.dropFirst() {
                    let absolute = pattern.hasPrefix("/") ? pattern : "/etc/ssh/" + pattern
                    for file in Self.expand(absolute, files: &files) { readFile(file, files: &files, inMatch: current) }
                }
            case "match":
                if value.lowercased() == "all" {
                    current = nil
                } else {
                    blocks.append(.init(criteria: value, settings: [:], source: origin))
                    current = blocks.count - 1
                }
            default:
                if let block = current {
                    if blocks[block].settings[keyword] == nil { blocks[block].settings[keyword] = value }
                } else if global[keyword] == nil {
                    global[keyword] = value
                    origins[keyword] = origin
                }
            }
        }
    }

    /// Words, with double-quoted words kept whole and `Keyword=value` split at the `=`.
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var word = ""
        var quoted = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
            } else if !quoted && (character == " " || character == "\t" || (character == "=" && words.isEmpty)) {
                if !word.isEmpty {
                    words.append(word)
                    word = ""
                }
            } else {
                word.append(character)
            }
        }
        if !word.isEmpty { words.append(word) }
        return words
    }

    /// A glob with `*` and `?` in its last component, expanded in lexical order as glob(3) does.
    static func expand(_ pattern: String, files: inout HostFiles) -> [String] {
        let directory = (pattern as NSString).deletingLastPathComponent
        let name = (pattern as NSString).lastPathComponent
        guard name.contains("*") || name.contains("?") else { return files.exists(pattern) ? [pattern] : [] }
        return files.list(directory).filter { matches(name, $0) }.map { directory + "/" + $0 }
    }

    static func matches(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern)
        let n = Array(name)
        func match(_ i: Int, _ j: Int) -> Bool {
            if i == p.count { return j == n.count }
            if p[i] == "*" { return (j...n.count).contains { match(i + 1, $0) } }
            guard j < n.count, p[i] == "?" || p[i] == n[j] else { return false }
            return match(i + 1, j + 1)
        }
        return !name.hasPrefix(".") && match(0, 0)
    }
}
