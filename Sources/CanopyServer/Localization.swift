import Foundation

/// The console's languages.
public enum Language: String, Sendable, CaseIterable {
    case en
    case zhTW = "zh-TW"

    /// The HTML `lang` attribute.
    public var htmlTag: String { self == .en ? "en" : "zh-Hant-TW" }

    /// The first supported language of an `Accept-Language` header (any Chinese → zh-TW), else English.
    public static func negotiate(_ header: String?) -> Language {
        guard let header else { return .en }
        let ranked = header.split(separator: ",").map { part -> (String, Double) in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            let quality = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (pieces.first?.lowercased() ?? "", quality)
        }.sorted { $0.1 > $1.1 }
        for (tag, _) in ranked {
            if tag.hasPrefix("zh") { return .zhTW }
            if tag.hasPrefix("en") { return .en }
        }
        return .en
    }
}

/// Every user-facing string in both languages, from one catalogue (`Resources/strings.json`).
/// A key missing from the catalogue renders as `⟦key⟧`, which the tests look for.
public struct Catalogue: Sendable {
    public let entries: [String: [String: String]]

    public static let builtIn: Catalogue = {
        guard let url = Bundle.module.url(forResource: "strings", withExtension: "json"),
            let data = try? Data(contentsOf: url),
            let entries = try? JSONDecoder().decode([String: [String: String]].self, from: data)
        else { return Catalogue(entries: [:]) }
        return Catalogue(entries: entries)
    }()

    public init(entries: [String: [String: String]]) { self.entries = entries }

    public func text(_ key: String, _ language: Language) -> String {
        entries[key]?[language.rawValue] ?? "⟦\(key)⟧"
    }

    /// Keys lacking a translation in some language.
    public var incompleteKeys: [String] {
        entries.filter { _, texts in Language.allCases.contains { (texts[$0.rawValue] ?? "").isEmpty } }.map(\.key).sorted()
    }
}

/// The language and strings one response is rendered with.
public struct Localizer: Sendable {
    public let language: Language
    let catalogue: Catalogue

    public init(language: Language, catalogue: Catalogue = .builtIn) {
        self.language = language
        self.catalogue = catalogue
    }

    public func callAsFunction(_ key: String) -> String { catalogue.text(key, language) }
}
