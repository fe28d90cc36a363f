import CanopyModel
import Foundation
import Yams

/// Reads carbon settings from YAML. Every error names the file, line, column and field.
///
/// ```yaml
/// default_utilisation: 0.5             # where no CPU series covers an instance-day
/// location_factors:                    # kgCO2e/kWh by region or site, over the bundled ones
///   ap-northeast-1: 0.457
/// market_factors:                      # kgCO2e/kWh after contractual instruments (RECs, PPAs)
///   tpe-dc1: 0.12
/// pue: {AWS: 1.135}                    # by FOCUS ProviderName
/// taiwan_factors: {2025: 0.46}         # MOEA factor of a year, over the bundled table
/// sites:                               # on-prem data centres: ledger rows whose provider or
///   - id: tpe-dc1                      # region is the id are the site's usage
///     name: Taipei data centre 1
///     pue: 1.62
///     grid: TW                         # Taiwan's factor for the usage year
/// ```
public enum CarbonFile {
    public static func load(path: String) throws -> CarbonSettings {
        try parse(try YAMLFile(path: path))
    }

    public static func parse(_ text: String, file: String) throws -> CarbonSettings {
        try parse(try YAMLFile(text: text, path: file))
    }

    static func parse(_ yaml: YAMLFile) throws -> CarbonSettings {
        var settings = CarbonSettings()
        guard let root = yaml.root else { return settings }
        guard let mapping = root.mapping else { throw yaml.error(at: root, "carbon settings must be a mapping") }
        try yaml.fields(
            mapping, allowed: ["default_utilisation", "location_factors", "market_factors", "pue", "taiwan_factors", "sites"], of: "carbon settings")
        func number(_ node: Node, _ field: String, range: ClosedRange<Double>) throws -> Double {
            guard let value = node.scalar.flatMap({ Double($0.string) }) else { throw yaml.error(at: node, "'\(field)' must be a number") }
            guard range.contains(value) else {
                throw yaml.error(at: node, "'\(field)' must be between \(range.lowerBound.formatted()) and \(range.upperBound.formatted())")
            }
            return value
        }
        func table(_ field: String, range: ClosedRange<Double>) throws -> [String: Double] {
            guard let node = mapping[field] else { return [:] }
            guard let entries = node.mapping else { throw yaml.error(at: node, "'\(field)' must map a name to a number") }
            var found: [String: Double] = [:]
            for (key, value) in entries {
                guard let name = key.string, !name.isEmpty else { throw yaml.error(at: key, "'\(field)': a key must be a name") }
                found[name] = try number(value, "\(field).\(name)", range: range)
            }
            return found
        }
        if let node = mapping["default_utilisation"] { settings.defaultUtilisation = try number(node, "default_utilisation", range: 0...1) }
        settings.locationFactors = try table("location_factors", range: 0...5)
        settings.marketFactors = try table("market_factors", range: 0...5)
        settings.pue = try table("pue", range: 1...3)
        for (key, value) in try table("taiwan_factors", range: 0...5) {
            guard let year = Int(key), (1990...2100).contains(year) else { throw yaml.error(at: mapping["taiwan_factors"], "'taiwan_factors': '\(key)' is not a year") }
            settings.taiwanFactors[year] = value
        }
        for node in try yaml.list(mapping["sites"], "sites") {
            guard let site = node.mapping else { throw yaml.error(at: node, "each site must be a mapping") }
            let id = try yaml.required(site, "id", node: node, of: "a site")
            let owner = "site '\(id)'"
            try yaml.fields(site, allowed: ["id", "name", "pue", "grid"], of: owner)
            let pue = try site["pue"].map { try number($0, "\(owner): pue", range: 1...3) } ?? 1.58
            let grid = site["grid"]?.string
            if let grid, grid != "TW" { throw yaml.error(at: site["grid"], "\(owner): grid must be TW (or omitted, with a location factor for the site)") }
            if grid == nil, settings.locationFactors[id] == nil {
                throw yaml.error(at: node, "\(owner): give 'grid: TW' or a location factor for it under location_factors")
            }
            if settings.sites.contains(where: { $0.id == id }) { throw yaml.error(at: site["id"], "\(owner) is defined twice") }
            settings.sites.append(CarbonSettings.Site(id: id, name: site["name"]?.string ?? id, pue: pue, grid: grid))
        }
        return settings
    }
}
