import Foundation

/// What a carbon estimate needs beyond the bundled coefficients: grid factors a user knows better
/// (a site's own, a newer year's), market-based factors for renewable purchases, the PUE of
/// on-prem sites. Kept in the store, versioned by its digest, applied with an audit record.
/// Factors are kilograms CO2e per kWh, as the MOEA and most utilities publish them.
public struct CarbonSettings: Sendable, Codable, Hashable {
    /// An on-prem data centre: ledger rows whose provider or region is its id are its usage.
    public struct Site: Sendable, Codable, Hashable {
        public var id: String
        public var name: String
        /// Power usage effectiveness of the site.
        public var pue: Double
        /// `TW` (Taiwan's MOEA factor for the usage year) or nil to use `locationFactors[id]`.
        public var grid: String?

        public init(id: String, name: String, pue: Double, grid: String? = nil) {
            self.id = id
            self.name = name
            self.pue = pue
            self.grid = grid
        }
    }

    /// Utilisation assumed where no CPU series covers an instance-day (CCF: 50 %).
    public var defaultUtilisation: Double
    /// Region or site → location-based factor, overriding the bundled one.
    public var locationFactors: [String: Double]
    /// Region or site → market-based factor (contractual instruments: renewable certificates, a
    /// green-power contract). Where none is given, market-based equals location-based.
    public var marketFactors: [String: Double]
    /// Provider (FOCUS ProviderName, e.g. `AWS`) → PUE, overriding the bundled one.
    public var pue: [String: Double]
    /// Taiwan's electricity emission factor by year, added to or overriding the bundled table.
    public var taiwanFactors: [Int: Double]
    public var sites: [Site]

    public init(
        defaultUtilisation: Double = 0.5, locationFactors: [String: Double] = [:], marketFactors: [String: Double] = [:],
        pue: [String: Double] = [:], taiwanFactors: [Int: Double] = [:], sites: [Site] = []
    ) {
        self.defaultUtilisation = defaultUtilisation
        self.locationFactors = locationFactors
        self.marketFactors = marketFactors
        self.pue = pue
        self.taiwanFactors = taiwanFactors
        self.sites = sites
    }

    /// Problems a user must fix before the settings apply (file-independent; the YAML reader adds
    /// the file and line).
    public func problems() -> [String] {
        var found: [String] = []
        if !(0...1).contains(defaultUtilisation) { found.append("default_utilisation must be between 0 and 1") }
        for (key, value) in locationFactors where value < 0 || value > 5 { found.append("location factor of \(key) must be between 0 and 5 kgCO2e/kWh") }
        for (key, value) in marketFactors where value < 0 || value > 5 { found.append("market factor of \(key) must be between 0 and 5 kgCO2e/kWh") }
        for (key, value) in pue where value < 1 || value > 3 { found.append("PUE of \(key) must be between 1 and 3") }
        for (year, value) in taiwanFactors where value < 0 || value > 5 { found.append("Taiwan factor of \(year) must be between 0 and 5 kgCO2e/kWh") }
        var seen: Set<String> = []
        for site in sites {
            if !seen.insert(site.id).inserted { found.append("site \(site.id) is defined twice") }
            if site.pue < 1 || site.pue > 3 { found.append("site \(site.id): pue must be between 1 and 3") }
            if let grid = site.grid, grid != "TW" { found.append("site \(site.id): grid must be TW (or omitted, with a location factor for the site)") }
            if site.grid == nil, locationFactors[site.id] == nil { found.append("site \(site.id): give grid: TW or a location factor for it") }
        }
        return found
    }
}

/// The carbon settings in force, as applied.
public struct CarbonSettingsVersion: Sendable, Codable, Hashable {
    public var settings: CarbonSettings
    /// The YAML as the user wrote it.
    public var source: String
    public var sha256: String
    public var appliedAt: Date
    public var actor: String

    public init(settings: CarbonSettings, source: String, sha256: String, appliedAt: Date, actor: String) {
        self.settings = settings
        self.source = source
        self.sha256 = sha256
        self.appliedAt = appliedAt
        self.actor = actor
    }
}
