import CanopyLake
import CanopyModel
import Foundation

/// A rule's detection ready to run: its search identifiers in an array and its condition
/// pointing at them by index, in a class so running it copies nothing. `eventNames` is what the
/// condition requires of `eventName` (lower-cased), when it requires anything: the detector
/// runs the rule only on events with one of those names.
final class CompiledDetection: Sendable {
    indirect enum Condition: Sendable {
        case search(Int)
        case and([Condition])
        case or([Condition])
        case not(Condition)
        case of(minimum: Int?, [Int])
    }

    let searches: [SigmaSearch]
    let condition: Condition
    let eventNames: Set<String>?

    init(identifiers: [String: SigmaSearch], condition: SigmaCondition) {
        let names = identifiers.keys.sorted()
        let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
        searches = names.map { identifiers[$0]! }
        func compile(_ condition: SigmaCondition) -> Condition {
            switch condition {
            case .identifier(let name): .search(index[name]!)
            case .and(let parts): .and(parts.map(compile))
            case .or(let parts): .or(parts.map(compile))
            case .not(let part): .not(compile(part))
            case .of(let minimum, let names): .of(minimum: minimum, names.map { index[$0]! })
            }
        }
        self.condition = compile(condition)
        let searches = searches
        /// The event names a condition requires (nil: it does not pin them down).
        func required(_ condition: Condition) -> Set<String>? {
            switch condition {
            case .search(let i): return searches[i].requiredValues(of: "eventName")
            case .and(let parts): return Self.intersection(parts.map(required))
            case .of(nil, let items): return Self.intersection(items.map { searches[$0].requiredValues(of: "eventName") })
            case .or(let parts): return Self.union(parts.map(required))
            case .of(_, let items): return Self.union(items.map { searches[$0].requiredValues(of: "eventName") })
            case .not: return nil
            }
        }
        eventNames = required(self.condition)
    }

    /// All must hold: the names every pinned part allows.
    static func intersection(_ sets: [Set<String>?]) -> Set<String>? {
        let pinned = sets.compactMap { $0 }
        guard var result = pinned.first else { return nil }
        for set in pinned.dropFirst() { result.formIntersection(set) }
        return result
    }

    /// Any may hold: pinned only when every alternative is.
    static func union(_ sets: [Set<String>?]) -> Set<String>? {
        var result: Set<String> = []
        for set in sets {
            guard let set else { return nil }
            result.formUnion(set)
        }
        return result
    }

    func matches(_ event: CloudTrailEvent) -> Bool { evaluate(condition, event) }

    func evaluate(_ condition: Condition, _ event: CloudTrailEvent) -> Bool {
        switch condition {
        case .search(let i): return searches[i].matches(event)
        case .and(let parts): return parts.allSatisfy { evaluate($0, event) }
        case .or(let parts): return parts.contains { evaluate($0, event) }
        case .not(let part): return !evaluate(part, event)
        case .of(let minimum, let items):
            guard let minimum else { return items.allSatisfy { searches[$0].matches(event) } }
            var matched = 0
            for item in items where searches[item].matches(event) {
                matched += 1
                if matched >= minimum { return true }
            }
            return false
        }
    }
}

extension SigmaSearch {
    /// The values (lower-cased) a search requires a top-level field to equal exactly, if it does.
    func requiredValues(of field: String) -> Set<String>? {
        func inMap(_ fields: [SigmaFieldMatch]) -> Set<String>? {
            for match in fields where match.path.name == field && !match.requireAll {
                var values: Set<String> = []
                for test in match.tests {
                    guard case .string(let pattern) = test, !pattern.cased, case .exact(let value) = pattern.shape else { return nil }
                    values.insert(value)
                }
                return values
            }
            return nil
        }
        switch kind {
        case .all(let fields): return inMap(fields)
        case .any(let maps): return CompiledDetection.union(maps.map(inMap))
        case .keywords: return nil
        }
    }
}
