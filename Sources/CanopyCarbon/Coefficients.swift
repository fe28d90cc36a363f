import CanopyIngest
import CanopyModel
import Foundation

/// The coefficients of Cloud Carbon Footprint's method (cloud-carbon-footprint/cloud-carbon-coefficients,
/// Apache-2.0; licence in Resources/CCF-LICENSE), derived into Resources/ by
/// `Scripts/derive-carbon-coefficients.py`, plus the constants of CCF's methodology and Taiwan's
/// grid factors. Every figure a report uses is named here with its source.
public struct CarbonCoefficients: Sendable {
    public struct Instance: Sendable, Hashable {
        public var type: String
        public var vcpus: Double
        /// vCPUs of the whole platform the type runs on (its embodied emissions are shared by them).
        public var platformVCPUs: Double
        public var cpu: String
        public var microarchitecture: String
        public var memoryGB: Double
        public var gpus: Double
        public var gpu: String?
        /// Embodied emissions of the whole platform, kgCO2e (CCF's `total`).
        public var embodiedKg: Double?
    }

    public struct Microarchitecture: Sendable, Hashable {
        public var name: String
        /// Watts per vCPU at 0 % and 100 % utilisation (SPECpower, via CCF).
        public var minWatts: Double
        public var maxWatts: Double
        /// Memory per physical chip of the SPECpower servers the watts come from, GB.
        public var gigabytesPerChip: Double

        public init(name: String, minWatts: Double, maxWatts: Double, gigabytesPerChip: Double = CarbonCoefficients.averageGigabytesPerChip) {
            self.name = name
            self.minWatts = minWatts
            self.maxWatts = maxWatts
            self.gigabytesPerChip = gigabytesPerChip
        }
    }

    public var instances: [String: Instance] {
        didSet { largestInFamily = Self.largest(instances) }
    }
    public var microarchitectures: [String: Microarchitecture]
    /// Family (`m5`, `db.r5`) → its largest type: CCF's stand-in for a whole server.
    var largestInFamily: [String: Instance] = [:]
    /// AWS region → location-based factor, kgCO2e/kWh (CCF's table is in t/kWh).
    public var awsGridFactors: [String: (factor: Double, source: String)]

    // CCF methodology constants (https://www.cloudcarbonfootprint.org/docs/methodology).
    /// Watts per vCPU when the microarchitecture is unknown or has no SPECpower figures: CCF's AWS average.
    public static let averageMinWatts = 0.74
    public static let averageMaxWatts = 3.5
    /// GB per chip when the microarchitecture is unknown (CCF's AWS average).
    public static let averageGigabytesPerChip = 80.69
    public static let ssdWattHoursPerTBHour = 1.2
    public static let hddWattHoursPerTBHour = 0.65
    public static let networkKWhPerGB = 0.001
    public static let memoryKWhPerGBHour = 0.000392
    /// Embodied emissions are spread over a four-year server life: 4 × 8,760 hours.
    public static let serverLifeHours = 35_040.0
    /// Provider PUE: AWS 1.135, GCP 1.1, Azure 1.185 (CCF).
    public static let pue: [String: Double] = ["aws": 1.135, "amazon web services": 1.135, "gcp": 1.1, "google cloud": 1.1, "microsoft": 1.185, "azure": 1.185]
    /// An on-prem site without a configured PUE: the Uptime Institute's 2023 global average.
    public static let onPremPUE = 1.58
    /// GPU watts at idle and at 100 % (CCF methodology, appendix III).
    public static let gpuWatts: [String: (min: Double, max: Double)] = [
        "Tesla M60": (35, 306), "T4": (8, 71), "Tesla K80": (35, 306), "Tesla V100": (35, 306), "Tesla A100": (46, 407),
        "K520": (26, 229), "A10G": (18, 153), "Tesla P4": (9, 76.5), "Tesla P100": (36, 306), "Tesla P40": (30, 255),
        "Radeon Pro V520": (26, 229), "Alveo U250": (27, 229.5),
    ]
    /// Storage replication by service (CCF's factors): the bytes a provider keeps per byte billed.
    public static let replication: [String: Double] = ["ebs": 2, "s3": 3, "snapshot": 3, "rds": 1, "dynamodb": 2, "efs": 3]

    /// Taiwan's electricity emission factor (電力排碳係數), kgCO2e/kWh, by year: MOEA Energy
    /// Administration (經濟部能源署), 2017–2023 as published (reported 2024-04-26). 2024's 0.474 is
    /// the figure Canopy was given and could not confirm against an MOEA publication; it is marked
    /// provisional in every report that uses it. Override or add years in the carbon settings.
    public static let taiwanFactors: [Int: Double] = [2017: 0.554, 2018: 0.533, 2019: 0.509, 2020: 0.502, 2021: 0.509, 2022: 0.495, 2023: 0.494, 2024: 0.474]
    public static let taiwanProvisionalYears: Set<Int> = [2024]
    /// AWS regions in Taiwan, whose grid is Taiwan's: Asia Pacific (Taipei).
    public static let taiwanRegions: Set<String> = ["ap-east-2"]

    public static let sources = [
        "Cloud Carbon Footprint coefficients (cloud-carbon-footprint/cloud-carbon-coefficients, Apache-2.0): instance types, SPECpower min/max watts per microarchitecture, embodied emissions, AWS grid factors",
        "Cloud Carbon Footprint methodology: PUE (AWS 1.135, GCP 1.1, Azure 1.185), storage 1.2 Wh/TB-h (SSD) and 0.65 Wh/TB-h (HDD), network 0.001 kWh/GB, 50 % utilisation when unmeasured, four-year server life",
        "Taiwan electricity emission factors, MOEA Energy Administration (經濟部能源署), 2017–2023; 2024 provisional",
        "Uptime Institute Global Data Center Survey 2023: average PUE 1.58 (on-prem sites without a configured PUE)",
    ]

    /// The bundled coefficients.
    public static let bundled: CarbonCoefficients = {
        do { return try load(bundle: .module) } catch { fatalError("the bundled carbon coefficients do not load: \(error)") }
    }()

    static func load(bundle: Bundle) throws -> CarbonCoefficients {
        func rows(_ name: String) throws -> [[String: String]] {
            guard let url = bundle.url(forResource: name, withExtension: "csv") else { throw CocoaError(.fileNoSuchFile) }
            return try CSVReader.records(path: url.path)
        }
        var instances: [String: Instance] = [:]
        for row in try rows("aws-instances") {
            let type = row["type"] ?? ""
            instances[type] = Instance(
                type: type, vcpus: Double(row["vcpu"] ?? "") ?? 0, platformVCPUs: Double(row["platform_vcpu"] ?? "") ?? 0, cpu: row["cpu"] ?? "",
                microarchitecture: row["microarchitecture"] ?? "", memoryGB: Double(row["memory_gb"] ?? "") ?? 0, gpus: Double(row["gpus"] ?? "") ?? 0,
                gpu: row["gpu"].flatMap { $0.isEmpty ? nil : $0 }, embodiedKg: Double(row["embodied_kg"] ?? ""))
        }
        var microarchitectures: [String: Microarchitecture] = [:]
        for row in try rows("microarchitectures") {
            let name = row["microarchitecture"] ?? ""
            microarchitectures[name] = Microarchitecture(
                name: name, minWatts: Double(row["min_watts"] ?? "") ?? 0, maxWatts: Double(row["max_watts"] ?? "") ?? 0,
                gigabytesPerChip: Double(row["gb_per_chip"] ?? "") ?? averageGigabytesPerChip)
        }
        var grid: [String: (Double, String)] = [:]
        for row in try rows("grid-factors-aws") {
            if let region = row["region"], let tonnes = Double(row["tco2e_per_kwh"] ?? "") { grid[region] = (tonnes * 1_000, row["source"] ?? "") }
        }
        return CarbonCoefficients(instances: instances, microarchitectures: microarchitectures, awsGridFactors: grid)
    }

    init(instances: [String: Instance], microarchitectures: [String: Microarchitecture], awsGridFactors: [String: (factor: Double, source: String)]) {
        self.instances = instances
        self.microarchitectures = microarchitectures
        self.awsGridFactors = awsGridFactors
        self.largestInFamily = Self.largest(instances)
    }

    static func family(_ type: String) -> String { type.split(separator: ".").dropLast().joined(separator: ".") }

    static func largest(_ instances: [String: Instance]) -> [String: Instance] {
        var found: [String: Instance] = [:]
        for instance in instances.values {
            let family = family(instance.type)
            if let known = found[family], (known.vcpus, known.memoryGB, instance.type) >= (instance.vcpus, instance.memoryGB, known.type) { continue }
            found[family] = instance
        }
        return found
    }

    /// Memory GB-hours beyond what SPECpower's servers carry, by CCF's method: the family's largest
    /// type stands for a whole server of ⌈vCPU ÷ 96⌉ chips (m5zn and z1d: 2); the GB per chip above
    /// the microarchitecture's is shared out by the instance's memory. Burstable (t) families are
    /// left out, as CCF leaves them: their largest size is no whole server.
    public func excessMemoryGBHours(_ instance: Instance, hours: Double) -> Double {
        let family = Self.family(instance.type)
        let base = family.split(separator: ".").last.map(String.init) ?? family
        if base.first == "t", base.dropFirst().first?.isNumber == true { return 0 }
        guard let largest = largestInFamily[family], largest.memoryGB > 0, instance.memoryGB > 0 else { return 0 }
        let chips = ["m5zn", "z1d"].contains(base) ? 2.0 : (largest.vcpus / 96).rounded(.up)
        let perChip = microarchitectures[instance.microarchitecture]?.gigabytesPerChip ?? Self.averageGigabytesPerChip
        let delta = largest.memoryGB / max(chips, 1) - perChip
        guard delta > 0 else { return 0 }
        return delta / (largest.memoryGB / instance.memoryGB) * hours
    }

    /// Min and max watts per vCPU for an instance type: its microarchitecture's, else CCF's AWS average.
    public func watts(for instance: Instance) -> (min: Double, max: Double, known: Bool) {
        if let found = microarchitectures[instance.microarchitecture] { return (found.minWatts, found.maxWatts, true) }
        return (Self.averageMinWatts, Self.averageMaxWatts, false)
    }
}
