import Foundation

/// Decompresses the LZ4 frame format (lz4 spec, "LZ4 Frame Format Description" 1.6.x): apt keeps
/// its package lists LZ4-compressed on Debian, and reading them is how Canopy learns which updates
/// a host is offered without running apt.
enum LZ4Frame {
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    static let magic: UInt32 = 0x184D_2204

    static func isFrame(_ data: Data) -> Bool {
        data.count >= 4 && readUInt32(data, data.startIndex) == magic
    }

    static func decompress(_ data: Data) throws -> [UInt8] {
        // Read in place: the compressed list is tens of megabytes, not worth a copy.
        try data.withUnsafeBytes { raw in try decompress(raw.bindMemory(to: UInt8.self)) }
    }

    private static func decompress(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [UInt8] {
        var position = 0
        var output = [UInt8]()
        // Package lists inflate about five- to sevenfold; a generous first guess avoids regrowing.
        output.reserveCapacity(bytes.count * 6)
        while position + 4 <= bytes.count {
            let frameMagic = readUInt32(bytes, position)
            position += 4
            if frameMagic & 0xFFFF_FFF0 == 0x184D_2A50 {  // a skippable frame
                guard position + 4 <= bytes.count else { throw Malformed(description: "truncated skippable frame") }
                position += 4 + Int(readUInt32(bytes, position))
                continue
            }
            guard frameMagic == magic else { throw Malformed(description: "not an LZ4 frame (magic \(String(frameMagic, radix: 16)))") }
            guard position + 2 <= bytes.count else { throw Malformed(description: "truncated frame header") }
            let flags = bytes[position]
            guard flags >> 6 == 1 else { throw Malformed(description: "unsupported LZ4 frame version") }
            let blockChecksum = flags & 0x10 != 0
            let contentSize = flags & 0x08 != 0
            let contentChecksum = flags & 0x04 != 0
            let dictionaryID = flags & 0x01 != 0
            if contentSize, position + 10 <= bytes.count {
                // The frame says how large it inflates to: reserve exactly that, once.
                let size = (0..<8).reduce(0) { $0 | Int(bytes[position + 2 + $1]) << (8 * $1) }
                if size > 0 && size < 1 << 32 { output.reserveCapacity(output.count + size) }
            }
            position += 2 + (contentSize ? 8 : 0) + (dictionaryID ? 4 : 0) + 1  // FLG, BD, sizes, header checksum
            while true {
                guard position + 4 <= bytes.count else { throw Malformed(description: "truncated block size") }
                let size = readUInt32(bytes, position)
                position += 4
                if size == 0 { break }  // end mark
                let length = Int(size & 0x7FFF_FFFF)
                guard position + length <= bytes.count else { throw Malformed(description: "truncated block") }
                if size & 0x8000_0000 != 0 {
                    output.append(contentsOf: bytes[position..<position + length])
                } else {
                    try decodeBlock(bytes, from: position, to: position + length, into: &output)
                }
                position += length + (blockChecksum ? 4 : 0)
            }
            if contentChecksum { position += 4 }
        }
        return output
    }

    /// One LZ4 block: sequences of literals and back-references into what was already written
    /// (blocks may refer to earlier blocks of the frame, so `output` is the whole frame so far).
    private static func decodeBlock(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, into output: inout [UInt8]) throws {
        var position = start
        while position < end {
            let token = bytes[position]
            position += 1
            var literals = Int(token >> 4)
            if literals == 15 {
                while true {
                    guard position < end else { throw Malformed(description: "truncated literal length") }
                    let more = bytes[position]
                    position += 1
                    literals += Int(more)
                    if more != 255 { break }
                }
            }
            guard position + literals <= end else { throw Malformed(description: "literals run past the block") }
            output.append(contentsOf: bytes[position..<position + literals])
            position += literals
            if position >= end { break }  // the last sequence has literals only
            guard position + 2 <= end else { throw Malformed(description: "truncated match offset") }
            let offset = Int(bytes[position]) | Int(bytes[position + 1]) << 8
            position += 2
            guard offset > 0, offset <= output.count else { throw Malformed(description: "match offset \(offset) out of range") }
            var matchLength = Int(token & 0x0F)
            if matchLength == 15 {
                while true {
                    guard position < end else { throw Malformed(description: "truncated match length") }
                    let more = bytes[position]
                    position += 1
                    matchLength += Int(more)
                    if more != 255 { break }
                }
            }
            matchLength += 4
            let from = output.count - offset
            // Overlapping copies (offset < length) repeat the pattern, so copy byte by byte.
            for index in 0..<matchLength { output.append(output[from + index]) }
        }
    }

    private static func readUInt32(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32 {
        UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    private static func readUInt32(_ data: Data, _ at: Data.Index) -> UInt32 {
        UInt32(data[at]) | UInt32(data[at + 1]) << 8 | UInt32(data[at + 2]) << 16 | UInt32(data[at + 3]) << 24
    }
}
