import Foundation

/// `/proc/net/tcp`, `tcp6`, `udp` and `udp6`: the kernel's socket tables, addresses in hex in host
/// byte order. Listening TCP sockets are state `0A`; UDP sockets count as listening when they are
/// bound but unconnected (remote port 0, state `07`).
enum ProcNet {
    struct Socket {
        var transport: String
        var address: String
        var port: Int
        var uid: Int
        var inode: String
    }

    struct Parsed {
        var sockets: [Socket]
        var problems: [String]
    }

    static func parse(_ text: String, transport: String, path: String) -> Parsed {
        var sockets: [Socket] = []
        var problems: [String] = []
        let isTCP = transport == "tcp"
        for (offset, line) in text.split(separator: "\n").enumerated() where offset > 0 {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true)
            guard columns.count >= 10 else {
                problems.append("\(path):\(offset + 1): expected at least 10 columns, found \(columns.count)")
                continue
            }
            let state = columns[3]
            let remote = columns[2]
            guard isTCP ? state == "0A" : (state == "07" && remote.hasSuffix(":0000")) else { continue }
            let local = columns[1].split(separator: ":")
            guard local.count == 2, let port = Int(local[1], radix: 16), let address = decodeAddress(String(local[0])),
                let uid = Int(columns[7])
            else {
                problems.append("\(path):\(offset + 1): local address '\(columns[1])' is not hex address:port")
                continue
            }
            sockets.append(Socket(transport: transport, address: address, port: port, uid: uid, inode: String(columns[9])))
        }
        return Parsed(sockets: sockets, problems: problems)
    }

    /// The kernel writes each 32-bit word of the address in host byte order (little-endian here).
    static func decodeAddress(_ hex: String) -> String? {
        let digits = Array(hex.utf8)
        guard digits.count == 8 || digits.count == 32 else { return nil }
        var bytes: [UInt8] = []
        for offset in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[offset..<offset + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        var ordered: [UInt8] = []
        for word in stride(from: 0, to: bytes.count, by: 4) { ordered += bytes[word..<word + 4].reversed() }
        if ordered.count == 4 { return ordered.map(String.init).joined(separator: ".") }
        if ordered[0..<10].allSatisfy({ $0 == 0 }) && ordered[10] == 0xFF && ordered[11] == 0xFF {
            return "::ffff:" + ordered[12..<16].map(String.init).joined(separator: ".")
        }
        var groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(ordered[$0]) << 8 | UInt16(ordered[$0 + 1]), radix: 16) }
        // Shorten the longest run of zero groups to `::` (RFC 5952).
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            if groups[index] == "0" {
                var end = index
                while end < 8 && groups[end] == "0" { end += 1 }
                if end - index > bestLength && end - index > 1 {
                    bestStart = index
                    bestLength = end - index
                }
                index = end
            } else {
                index += 1
            }
        }
        guard bestStart >= 0 else { return groups.joined(separator: ":") }
        let head = groups[0..<bestStart].joined(separator: ":")
        let tail = groups[(bestStart + bestLength)...].joined(separator: ":")
        groups = []
        return head + "::" + tail
    }
}
