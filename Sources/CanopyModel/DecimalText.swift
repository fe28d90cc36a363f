import Foundation

extension Decimal {
    /// A decimal number written in plain or scientific notation (`-12.5`, `8.94e-9`), exactly;
    /// nil for anything else (no grouping, no spaces, no `NaN`). Up to 19 significant digits are
    /// assembled directly from the bytes, which ledgers and the cost store do millions of times;
    /// longer numbers go through Foundation's parser.
    public init?(exactText text: String) {
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
        for byte in text.utf8 {
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
                    guard let parsed = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
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
            guard let parsed = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) else { return nil }
            self = parsed
            return
        }
        self = Decimal(sign: negative && mantissa != 0 ? .minus : .plus, exponent: power, significand: Decimal(mantissa))
    }
}
