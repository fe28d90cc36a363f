/// The untyped columns of a ledger row (FOCUS columns Canopy does not type, and `x_` columns),
/// by name. It reads like a `[String: String]`, but the names are kept once for all the rows
/// that share them (one file's header, one stored block), and each row holds only its values in
/// the names' order: a row then costs one array, not a dictionary whose every name is hashed
/// again row after row.
public struct CostColumns: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// Column names shared by many rows, with where each one is.
    public final class Names: Sendable {
        public let names: [String]
        let positions: [String: Int]

        /// `names` must not repeat a name.
        public init(_ names: [String]) {
            self.names = names
            var positions: [String: Int] = [:]
            for (position, name) in names.enumerated() {
                precondition(positions.updateValue(position, forKey: name) == nil, "column name \(name) given twice")
            }
            self.positions = positions
        }
    }

    public private(set) var names: Names
    /// A value for each name, nil where the row has no value.
    public private(set) var values: [String?]

    private static let none = Names([])

    /// A row's values for shared names, in their order.
    public init(names: Names, values: [String?]) {
        precondition(names.names.count == values.count, "\(values.count) values for \(names.names.count) column names")
        self.names = names
        self.values = values
    }

    public init(_ dictionary: [String: String]) {
        let sorted = dictionary.sorted { $0.key < $1.key }
        names = Names(sorted.map(\.key))
        values = sorted.map(\.value)
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    public init() { self.init(names: Self.none, values: []) }

    public subscript(name: String) -> String? {
        get { names.positions[name].flatMap { values[$0] } }
        set {
            if let position = names.positions[name] {
                values[position] = newValue
            } else if let newValue {
                names = Names(names.names + [name])
                values.append(newValue)
            }
        }
    }

    /// The names that have a value.
    public var keys: [String] { zip(names.names, values).compactMap { $1 == nil ? nil : $0 } }
    public var count: Int { values.count { $0 != nil } }
    public var isEmpty: Bool { !values.contains { $0 != nil } }
    public var dictionary: [String: String] {
        var dictionary: [String: String] = [:]
        for (name, value) in self { dictionary[name] = value }
        return dictionary
    }

    /// The (name, value) pairs that have a value, in the names' order.
    public func makeIterator() -> some IteratorProtocol<(name: String, value: String)> {
        zip(names.names, values).lazy.compactMap { name, value in value.map { (name: name, value: $0) } }.makeIterator()
    }

    public static func == (lhs: CostColumns, rhs: CostColumns) -> Bool {
        if lhs.names === rhs.names { return lhs.values == rhs.values }
        return lhs.dictionary == rhs.dictionary
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(dictionary) }
}
