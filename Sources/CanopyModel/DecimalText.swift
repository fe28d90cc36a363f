import Foundation

extension Decimal {
    /// A decimal number written in plain or scientific notation (`-12.5`, `8.94e-9`), exactly;
    /// nil for anything else (no grouping, no spaces, no `NaN`). Up to 19 significant digits are
    /// assembled directly from the bytes, which ledgers and the cost store do millions of times;
    /// longer numbers go through Foundation's parser.
    public init?(exactText text: String) {
        var text = text
        guard let value = text.withUTF8({ Decimal(exactUTF8: $0) }) else { return nil }
        self = value
    }

    /// `init?(exactText:)` of UTF-8 bytes (a field read in place).
    public init?(exactUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        var mantissa: UInt64 = 0
        var significant = 0
        var scale = 0
        var negative = false
        var seenDigit = false
        var seenDot = false
        var exponent = 0
        var exponentSign = 1
        var inExponent = false
        var exponentDigits = 0
        var index = 0
        for byte in bytes {
            defer { index += 1 }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                let digit = UInt64(byte - UInt8(ascii: "0"))
                if inExponent {
                    exponentDigits += 1
                    guard exponentDigits <= 4 else { return nil }
                    exponent = exponent * 10 + Int(digit)
                    continue
                }
                seenDigit = true
                if mantissa == 0 && digit == 0 {
                    if seenDot { scale += 1 }
                    continue
                }
                significant += 1
                guard significant <= 19 else {
                    guard let parsed = Decimal(string: String(decoding: bytes, as: UTF8.self), locale: Locale(identifier: "en_US_POSIX")) else { return nil }
                    self = parsed
                    return
                }
                mantissa = mantissa * 10 + digit
                if seenDot { scale += 1 }
            case UInt8(ascii: "."):
                guard !seenDot, !inExponent else { return nil }
                seenDot = true
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard seenDigit, !inExponent else { return nil }
                inExponent = true
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                if index == 0 {
                    negative = byte == UInt8(ascii: "-")
                } else if inExponent && exponentDigits == 0 && exponentSign == 1 && exponent == 0 {
                    exponentSign = byte == UInt8(ascii: "-") ? -1 : 1
                } else {
                    return nil
                }
            default:
                return nil
            }
        }
        guard seenDigit, !inExponent || exponentDigits > 0 else { return nil }
        let power = exponentSign * exponent - scale
        guard (-128...127).contains(power) else {
            guard let parsed = Decimal(string: String(decoding: bytes, as: UTF8.self), locale: Locale(identifier: "en_US_POSIX")) else { return nil }
            self = parsed
            return
        }
        self = Decimal(sign: negative && mantissa != 0 ? .minus : .plus, exponent: power, significand: Decimal(mantissa))
    }
}

extension Decimal {
    /// The number as plain decimal text (`-12.5`, `0.00000000894`) that `init?(exactText:)` reads
    /// back to the same value. Ledger imports write millions of these, and Foundation's
    /// `description` (through `NSDecimalNumber` too) divides the mantissa digit by digit: a
    /// mantissa of up to 64 bits is written here directly, anything larger by Foundation.
    public var exactText: String {
        guard !isNaN, let mantissa = Self.smallMantissa(self) else { return NSDecimalNumber(decimal: self).stringValue }
        guard mantissa != 0 else { return "0" }
        let exponent = exponent
        let negative = sign == .minus
        // At most 20 digits, a sign, "0." and the zeros an exponent (-128...127) adds.
        return String(unsafeUninitializedCapacity: 24 + abs(exponent)) { out in
            // The digits, written last first at the end of the buffer, then moved into place.
            var count = 0
            var rest = mantissa
            while rest > 0 {
                out[out.count - 1 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            let first = out.count - count
            var length = 0
            if negative {
                out[0] = UInt8(ascii: "-")
                length = 1
            }
            let integerDigits = exponent >= 0 ? count : max(count + exponent, 0)
            if exponent < 0, integerDigits == 0 {
                out[length] = UInt8(ascii: "0")
                length += 1
            }
            for index in 0..<integerDigits {
                out[length] = out[first + index]
                length += 1
            }
            if exponent >= 0 {
                for _ in 0..<exponent {
                    out[length] = UInt8(ascii: "0")
                    length += 1
                }
                return length
            }
            out[length] = UInt8(ascii: ".")
            length += 1
            for _ in 0..<max(-exponent - count, 0) {
                out[length] = UInt8(ascii: "0")
                length += 1
            }
            for index in integerDigits..<count {
                out[length] = out[first + index]
                length += 1
            }
            return length
        }
    }

    /// Sign, mantissa and exponent, when the mantissa fits 64 bits (nil otherwise, and for NaN).
    var smallParts: (negative: Bool, mantissa: UInt64, exponent: Int)? {
        guard !isNaN, let mantissa = Self.smallMantissa(self) else { return nil }
        return (sign == .minus, mantissa, exponent)
    }

    /// The mantissa when it fits 64 bits. Foundation keeps it public only as a `Decimal`, so it is
    /// read from the value's bytes: NSDecimal's layout (4 bytes of exponent, length and flags,
    /// then eight 16-bit words, least significant first), checked once against known values; on
    /// any other layout every number goes through Foundation.
    private static func smallMantissa(_ value: Decimal) -> UInt64? {
        guard layoutIsNSDecimal else { return nil }
        return words(value)
    }

    private static func words(_ value: Decimal) -> UInt64? {
        withUnsafeBytes(of: value) { raw -> UInt64? in
            guard raw.count == 20 else { return nil }
            var mantissa: UInt64 = 0
            for word in 0..<8 {
                let bits = UInt64(raw.loadUnaligned(fromByteOffset: 4 + 2 * word, as: UInt16.self))
                if word >= 4 {
                    guard bits == 0 else { return nil }
                } else {
                    mantissa |= bits << (16 * UInt64(word))
                }
            }
            return mantissa
        }
    }

    private static let layoutIsNSDecimal: Bool = {
        let probes: [(Decimal, UInt64?)] = [
            (Decimal(0x0123_4567_89AB_CDEF as UInt64), 0x0123_4567_89AB_CDEF), (Decimal(1), 1), (Decimal(0), 0),
            (Decimal(sign: .minus, exponent: -3, significand: Decimal(0xBEEF as UInt64)), 0xBEEF),
            (Decimal(UInt64.max) * 65_536, nil),
        ]
        return probes.allSatisfy { words($0.0) == $0.1 }
    }()
}

/// A running sum of decimals, exact, that adds most values as integers: those with at most 18
/// decimal places and a 64-bit mantissa (every amount a billing export writes) are counted in
/// units of 10⁻¹⁸ in a 128-bit integer; anything else, and the integer when it would overflow,
/// goes to a `Decimal`. Foundation's decimal addition allocates and normalises on every call, and
/// a ledger import adds four amounts a row.
public struct ExactSum: Sendable {
    private var units: Int128 = 0
    private var rest: Decimal = 0

    public init() {}

    private static let scale = 18
    private static let twoToThe64 = Decimal(UInt64.max) + 1
    /// 10⁰ … 10¹⁸.
    private static let powers: [Int128] = (0...18).map { power in (0..<power).reduce(Int128(1)) { value, _ in value * 10 } }

    public mutating func add(_ value: Decimal) {
        guard let parts = value.smallParts, parts.exponent <= 0, parts.exponent >= -Self.scale else {
            rest += value
            return
        }
        // At most 2⁶⁴ × 10¹⁸ ≈ 1.8 × 10³⁷, inside Int128's 1.7 × 10³⁸.
        let magnitude = Int128(parts.mantissa) * Self.powers[parts.exponent + Self.scale]
        let (sum, overflow) = units.addingReportingOverflow(parts.negative ? -magnitude : magnitude)
        if overflow {
            rest += Self.decimal(units)
            units = parts.negative ? -magnitude : magnitude
        } else {
            units = sum
        }
    }

    public mutating func add(_ other: ExactSum) {
        rest += other.rest
        let (sum, overflow) = units.addingReportingOverflow(other.units)
        if overflow {
            rest += Self.decimal(units)
            units = other.units
        } else {
            units = sum
        }
    }

    public var value: Decimal { units == 0 ? rest : rest + Self.decimal(units) }

    /// Units of 10⁻¹⁸ as a decimal, exactly (a 128-bit magnitude fits a decimal's mantissa).
    private static func decimal(_ units: Int128) -> Decimal {
        let magnitude = units.magnitude
        let high = Decimal(UInt64(truncatingIfNeeded: magnitude >> 64)), low = Decimal(UInt64(truncatingIfNeeded: magnitude))
        let whole = high * twoToThe64 + low
        return Decimal(sign: units < 0 ? .minus : .plus, exponent: -scale, significand: whole)
    }
}
