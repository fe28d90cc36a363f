import Foundation
import GRDB

/// The rpm package database in its SQLite form (rpm ≥ 4.16: RHEL/Rocky/Alma 9, Fedora 33+,
/// Amazon Linux 2023): table `Packages` holds one header blob per installed package. A header is
/// big-endian: the index entry count and data size, then 16-byte entries (tag, type, offset,
/// count) into the data store. Opened read-only; rpm itself is never run.
enum RPMDatabase {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    enum Tag: Int32 {
        case name = 1000, version = 1001, release = 1002, epoch = 1003, arch = 1022
    }

    static func packages(path: String) throws -> (packages: [HostInventory.InstalledPackage], problems: [String]) {
        var configuration = Configuration()
        configuration.readonly = true
        let queue: DatabaseQueue
        let blobs: [(Int64, Data)]
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            blobs = try queue.read { db in
                try Row.fetchAll(db, sql: "SELECT hnum, blob FROM Packages ORDER BY hnum").map { ($0["hnum"], $0["blob"]) }
            }
        } catch {
            throw Failure(description: "not an rpm SQLite database (\(error))")
        }
        return headers(blobs)
    }

    /// The Berkeley DB form (`/var/lib/rpm/Packages`, rpm ≤ 4.15: RHEL/CentOS 7 and 8): keys are
    /// header numbers, data the same header blobs; key 0 holds rpm's next number, not a package.
    static func packages(berkeleyDB path: String) throws -> (packages: [HostInventory.InstalledPackage], problems: [String]) {
        let records: [(key: [UInt8], data: [UInt8])]
        do {
            records = try BerkeleyHash(Data(contentsOf: URL(fileURLWithPath: path))).records()
        } catch {
            throw Failure(description: "not a readable rpm Berkeley DB (\(error))")
        }
        let blobs = records.compactMap { record -> (Int64, Data)? in
            guard record.key.count == 4, record.data.count >= 8 else { return nil }
            let number = record.key.reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
            return number == 0 ? nil : (number, Data(record.data))
        }
        return headers(blobs.sorted { $0.0 < $1.0 })
    }

    static func headers(_ blobs: [(Int64, Data)]) -> (packages: [HostInventory.InstalledPackage], problems: [String]) {
        var packages: [HostInventory.InstalledPackage] = []
        var problems: [String] = []
        for (number, blob) in blobs {
            do {
                let header = try Header(blob)
                guard let name = header.string(.name), let version = header.string(.version) else {
                    problems.append("header \(number): no name or version; skipped")
                    continue
                }
                var full = version
                if let release = header.string(.release) { full += "-" + release }
                if let epoch = header.int(.epoch) { full = "\(epoch):" + full }
                // gpg-pubkey entries are imported signing keys, not software.
                if name == "gpg-pubkey" { continue }
                packages.append(.init(name: name, version: full, architecture: header.string(.arch), manager: "rpm"))
            } catch {
                problems.append("header \(number): \(error); skipped")
            }
        }
        return (packages, problems)
    }

    struct Header {
        struct Entry {
            var type: Int32
            var offset: Int
            var count: Int
        }

        let entries: [Int32: Entry]
        let store: [UInt8]

        init(_ data: Data) throws {
            let bytes = [UInt8](data)
            func int32(_ at: Int) -> Int32 {
                Int32(bitPattern: UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3]))
            }
            guard bytes.count >= 8 else { throw Failure(description: "header shorter than 8 bytes") }
            let indexCount = Int(int32(0))
            let dataLength = Int(int32(4))
            guard indexCount >= 0, dataLength >= 0, indexCount < 100_000, 8 + indexCount * 16 + dataLength <= bytes.count else {
                throw Failure(description: "header sizes (\(indexCount) entries, \(dataLength) bytes) exceed the blob")
            }
            var entries: [Int32: Entry] = [:]
            for index in 0..<indexCount {
                let at = 8 + index * 16
                entries[int32(at)] = Entry(type: int32(at + 4), offset: Int(int32(at + 8)), count: Int(int32(at + 12)))
            }
            self.entries = entries
            let start = 8 + indexCount * 16
            store = Array(bytes[start..<start + dataLength])
        }

        /// A STRING (6) or the first of a STRING_ARRAY (8) / I18NSTRING (9).
        func string(_ tag: Tag) -> String? {
            guard let entry = entries[tag.rawValue], [6, 8, 9].contains(entry.type), entry.offset >= 0, entry.offset < store.count else { return nil }
            let end = store[entry.offset...].firstIndex(of: 0) ?? store.count
            return String(decoding: store[entry.offset..<end], as: UTF8.self)
        }

        /// An INT32 (4).
        func int(_ tag: Tag) -> Int? {
            guard let entry = entries[tag.rawValue], entry.type == 4, entry.offset >= 0, entry.offset + 4 <= store.count else { return nil }
            let b = store[entry.offset..<entry.offset + 4].map(UInt32.init)
            return Int(Int32(bitPattern: b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]))
        }
    }
}
