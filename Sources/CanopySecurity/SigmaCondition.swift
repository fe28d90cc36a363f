import Foundation

/// A rule's condition as a tree: search identifiers joined by `and`, `or`, `not`, parentheses and
/// `N of` / `all of` over a name pattern or `them`. `not` binds tightest, then `and`, then `or`
/// (Sigma specification 2.x, "Condition").
indirect enum SigmaCondition: Sendable, Equatable {
    case identifier(String)
    case and([SigmaCondition])
    case or([SigmaCondition])
    case not(SigmaCondition)
    /// At least `minimum` of the named identifiers (nil: all of them).
    case of(minimum: Int?, names: [String])

    struct Problem: Error {
        var message: String
    }

    static func parse(_ text: String, identifiers: [String]) throws -> SigmaCondition {
        if text.contains("|") {
            throw Problem(message: "aggregations after '|' (count, near) are Sigma 1.x and not supported; write a correlation rule instead")
        }
        var parser = Parser(tokens: tokenize(text), identifiers: identifiers.sorted())
        let tree = try parser.orExpression()
        if let extra = parser.peek { throw Problem(message: "unexpected '\(extra)'") }
        return tree
    }

    static func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        var current = ""
        for character in text {
            if character == "(" || character == ")" || character.isWhitespace {
                if !current.isEmpty { tokens.append(current) }
                current = ""
                if !character.isWhitespace { tokens.append(String(character)) }
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    struct Parser {
        var tokens: [String]
        var position = 0
        let identifiers: [String]

        init(tokens: [String], identifiers: [String]) {
            self.tokens = tokens
            self.identifiers = identifiers
        }

        var peek: String? { position < tokens.count ? tokens[position] : nil }

        mutating func next() throws -> String {
            guard let token = peek else { throw Problem(message: "ends too early") }
            position += 1
            return token
        }

        mutating func orExpression() throws -> SigmaCondition {
            var parts = [try andExpression()]
            while peek?.lowercased() == "or" {
                position += 1
                parts.append(try andExpression())
            }
            return parts.count == 1 ? parts[0] : .or(parts)
        }

        mutating func andExpression() throws -> SigmaCondition {
            var parts = [try notExpression()]
            while peek?.lowercased() == "and" {
                position += 1
                parts.append(try notExpression())
            }
            return parts.count == 1 ? parts[0] : .and(parts)
        }

        mutating func notExpression() throws -> SigmaCondition {
            if peek?.lowercased() == "not" {
                position += 1
                return .not(try notExpression())
            }
            return try primary()
        }

        mutating func primary() throws -> SigmaCondition {
            let token = try next()
            if token == "(" {
                let inner = try orExpression()
                guard try next() == ")" else { throw Problem(message: "a '(' is not closed") }
                return inner
            }
            if token == ")" { throw Problem(message: "unexpected ')'") }
            let lower = token.lowercased()
            if ["and", "or", "of", "them"].contains(lower) { throw Problem(message: "unexpected '\(token)'") }
            if peek?.lowercased() == "of" {
                let minimum: Int?
                if lower == "all" {
                    minimum = nil
                } else if lower == "any" {
                    minimum = 1
                } else if let count = Int(token), count > 0 {
                    minimum = count
                } else {
                    throw Problem(message: "'\(token) of': the count must be a positive number, 'any' or 'all'")
                }
                position += 1
                let target = try next()
                let names: [String]
                if target.lowercased() == "them" {
                    names = identifiers.filter { !$0.hasPrefix("_") }
                } else {
                    names = identifiers.filter { Self.glob(target, matches: $0) }
                }
                guard !names.isEmpty else { throw Problem(message: "'\(target)' matches no search identifier") }
                return .of(minimum: minimum, names: names)
            }
            guard identifiers.contains(token) else {
                throw Problem(message: "'\(token)' is not a search identifier of this rule (it has \(identifiers.joined(separator: ", ")))")
            }
            return .identifier(token)
        }

        /// Identifier patterns use `*` for any run of characters.
        static func glob(_ pattern: String, matches name: String) -> Bool {
            let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
            guard parts.count > 1 else { return pattern == name }
            var rest = Substring(name)
            guard rest.hasPrefix(parts[0]) else { return false }
            rest = rest.dropFirst(parts[0].count)
            for part in parts.dropFirst().dropLast() where !part.isEmpty {
                guard let range = rest.range(of: part) else { return false }
                rest = rest[range.upperBound...]
            }
            return rest.hasSuffix(parts.last!)
        }
    }
}
