import Foundation

/// Reads the key/data pairs of a Berkeley DB hash database (format version 8–10, as rpm ≤ 4.15
/// wrote `/var/lib/rpm/Packages` on RHEL 7 and 8), read-only, without libdb: every hash page is
/// walked in order (bucket order does not matter for a full read) and items stored on overflow
/// pages are followed along their chain. Little- and big-endian files are read alike.
struct BerkeleyHash {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    let bytes: [UInt8]
    let pageSize: Int
    let lastPage: Int
    let bigEndian: Bool

    static let hashMagic: UInt32 = 0x061561

    init(_ data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= 512 else { throw Malformed(description: "shorter than one page") }
        func read32(_ at: Int, big: Bool) -> UInt32 {
            let b = bytes[at..<at + 4].map(UInt32.init)
            return big ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]
        }
        let big: Bool
        if read32(12, big: false) == Self.hashMagic {
            big = false
        } else if read32(12, big: true) == Self.hashMagic {
            big = true
        } else {
            throw Malformed(description: "not a Berkeley DB hash database (magic \(String(read32(12, big: false), radix: 16)))")
        }
        let version = read32(16, big: big)
        guard (8...10).contains(version) else { throw Malformed(description: "hash format version \(version) is not read (8 to 10 are)") }
        let size = Int(read32(20, big: big))
        guard [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536].contains(size) else { throw Malformed(description: "page size \(size) is not valid") }
        guard bytes[24] == 0 else { throw Malformed(description: "the database is encrypted") }
        self.bytes = bytes
        bigEndian = big
        pageSize = size
        lastPage = min(Int(read32(32, big: big)), bytes.count / size - 1)
    }

    private func u16(_ at: Int) -> Int {
        bigEndian ? Int(bytes[at]) << 8 | Int(bytes[at + 1]) : Int(bytes[at + 1]) << 8 | Int(bytes[at])
    }

    private func u32(_ at: Int) -> Int {
        let b = bytes[at..<at + 4].map(Int.init)
        return bigEndian ? b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3] : b[3] << 24 | b[2] << 16 | b[1] << 8 | b[0]
    }

    /// Every key/data pair, in page order.
    func records() throws -> [(key: [UInt8], data: [UInt8])] {
        var pairs: [(key: [UInt8], data: [UInt8])] = []
        for page in 1...max(1, lastPage) where page <= lastPage {
            let base = page * pageSize
            let type = bytes[base + 25]
            guard type == 13 || type == 2 else { continue }  // P_HASH, P_HASH_UNSORTED
            let entries = u16(base + 20)
            guard 26 + entries * 2 <= pageSize else { throw Malformed(description: "page \(page): \(entries) entries do not fit") }
            var items: [[UInt8]] = []
            for index in 0..<entries {
                let offset = u16(base + 26 + index * 2)
                let end = index == 0 ? pageSize : u16(base + 26 + (index - 1) * 2)
                guard offset >= 26 + entries * 2, offset < end, end <= pageSize else {
                    throw Malformed(description: "page \(page): item \(index) lies outside the page")
                }
                let item = base + offset
                switch bytes[item] {
                case 1:  // H_KEYDATA: the bytes follow the type
                    items.append(Array(bytes[(item + 1)..<(base + end)]))
                case 3:  // H_OFFPAGE: on a chain of overflow pages
                    items.append(try overflow(from: u32(item + 4), length: u32(item + 8)))
                default:
                    throw Malformed(description: "page \(page): item type \(bytes[item]) (duplicates) is not read")
                }
            }
            for pair in stride(from: 0, to: items.count - 1, by: 2) { pairs.append((items[pair], items[pair + 1])) }
        }
        return pairs
    }

    private func overflow(from first: Int, length: Int) throws -> [UInt8] {
        guard length >= 0, length <= bytes.count else { throw Malformed(description: "an overflow item claims \(length) bytes, more than the file") }
        var data: [UInt8] = []
        data.reserveCapacity(length)
        var page = first
        var visited = 0
        while page != 0 && data.count < length {
            visited += 1
            guard page <= lastPage, visited <= lastPage else { throw Malformed(description: "overflow chain leaves the file at page \(page)") }
            let base = page * pageSize
            guard bytes[base + 25] == 7 else { throw Malformed(description: "page \(page) is not an overflow page") }
            let count = u16(base + 22)
            guard 26 + count <= pageSize else { throw Malformed(description: "overflow page \(page) claims \(count) bytes") }
            data += bytes[(base + 26)..<(base + 26 + count)]
            page = u32(base + 16)
        }
        guard data.count == length else { throw Malformed(description: "overflow chain holds \(data.count) of \(length) bytes") }
        return data
    }
}
