/// Lower-case hexadecimal text of bytes, as SigV4 signatures and content hashes are written.
extension Sequence where Element == UInt8 {
    public var hexEncoded: String {
        let bytes = Array(self)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (position, byte) in bytes.enumerated() {
                out[2 * position] = Self.hexDigit(byte >> 4)
                out[2 * position + 1] = Self.hexDigit(byte & 0x0F)
            }
            return bytes.count * 2
        }
    }

    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 0x30 + nibble : 0x57 + nibble }
}
