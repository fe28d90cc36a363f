import CanopyModel
import CanopyStore
import Foundation

/// A way to spend less, with its estimated monthly saving (from `PriceTable`) and, for the safe
/// ones, the Custodian action that carries it out (`canopy run --apply`, dry run otherwise).
public struct Recommendation: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case idleInstance = "idle-instance"
        case underusedInstance = "underused-instance"
        case previousGeneration = "previous-generation"
        case graviton
        case gp2ToGp3 = "gp2-to-gp3"
        case unattachedVolume = "unattached-volume"
        case oldSnapshot = "old-snapshot"
        case unassociatedAddress = "unassociated-eip"
        case idleNATGateway = "idle-nat-gateway"
        case idleDatabase = "idle-rds"
        case bucketWithoutLifecycle = "s3-no-lifecycle"
    }

    public var kind: Kind
    public var resourceUID: String
    public var resourceName: String
    public var resourceType: String
    public var account: String
    public var region: String
    public var application: String?
    public var detail: String
    public var monthlySaving: Decimal
    /// A Custodian action for the safe ones (gp2 → gp3); nil: a person decides.
    public var action: String?
    /// The instance type it would become (previous generation, Graviton), for what-ifs.
    public var target: String?
}

/// Finds savings in the inventory and its CloudWatch series. Thresholds are the issue's:
/// idle = 14-day CPU maximum ≤ 1 %; underused = 14-day CPU average below `underusedAverage`
/// (default 10 %), sized down one step (about half the cost); snapshots older than 90 days.
///
/// Where a judgement needs a metric Canopy does not have (an older scan, a role without
/// CloudWatch access), nothing is recommended: a missing series is unknown, never "idle".
public struct Recommender: Sendable {
    public var underusedAverage: Double = 10
    public var snapshotAgeDays: Double = 90
    /// A NAT gateway that sent at most this many bytes to destinations in the window is idle.
    public var idleGatewayBytes: Double = 1_048_576
    /// The share of a bucket's S3 Standard bytes assumed cold enough (30 days untouched) for
    /// Intelligent-Tiering to move to its Infrequent Access tier. Without S3 access logs or
    /// Storage Lens, Canopy cannot see access patterns; this is the stated assumption.
    public var coldShare = Decimal(string: "0.5")!
    /// Daily series must cover this many days before a resource is called idle.
    public var minimumDays = 7

    public init(underusedAverage: Double = 10, snapshotAgeDays: Double = 90) {
        self.underusedAverage = underusedAverage
        self.snapshotAgeDays = snapshotAgeDays
    }

    static let nextGeneration = ["t2": "t3", "m3": "m5", "m4": "m5", "c4": "c5", "r4": "r5"]
    static let graviton = ["t3": "t4g", "m5": "m6g", "c5": "c6g", "r5": "r6g"]

    /// The instant recommendations are judged at: the latest scan's end (its inventory and
    /// series are what they judge), or now when nothing was scanned.
    public static func judgementTime(store: any CanopyStore) async throws -> Date {
        try await store.scans(limit: 1).first?.finishedAt ?? Date()
    }

    public func recommend(store: any CanopyStore, now: Date) async throws -> [Recommendation] {
        let inventory = try await store.resources(ResourceQuery())
        let ownership = try await store.ownership()
        let since = now.addingTimeInterval(-14 * 86_400)
        func values(_ metric: String) async throws -> [String: [Double]] {
            var found: [String: [Double]] = [:]
            for series in try await store.series(metric: metric, since: since) {
                found[series.resourceUID] = series.points.filter { $0.timestamp >= since && $0.timestamp <= now }.map(\.value)
            }
            return found
        }
        let cpu = try await values(MetricSeries.Key.ec2CPU)
        let gatewayBytes = try await values(MetricSeries.Key.natBytesOut)
        let connections = try await values(MetricSeries.Key.rdsConnections)
        let bucketBytes = try await values(MetricSeries.Key.s3StandardBytes)
        let bucketObjects = try await values(MetricSeries.Key.s3Objects)
        var out: [Recommendation] = []
        func add(_ kind: Recommendation.Kind, _ r: Resource, _ detail: String, _ saving: Decimal, action: String? = nil, target: String? = nil) {
            guard saving > 0 else { return }
            out.append(
                Recommendation(
                    kind: kind, resourceUID: r.uid, resourceName: r.name, resourceType: r.type, account: r.account, region: r.region,
                    application: ownership.applicationID(of: r), detail: detail, monthlySaving: Self.round(saving), action: action, target: target))
        }
        for r in inventory {
            let p = r.properties
            let factor = PriceTable.regionFactor(r.region)
            switch r.type {
            case "aws.ec2":
                guard p["State"]?["Name"]?.stringValue == "running", let type = p["InstanceType"]?.stringValue, let hourly = PriceTable.ec2Hourly[type] else { continue }
                let monthly = hourly * PriceTable.hoursPerMonth * factor
                let parts = type.split(separator: ".").map(String.init)
                if let values = cpu[r.uid], values.count >= 24 {
                    let maximum = values.max() ?? 0
                    let average = values.reduce(0, +) / Double(values.count)
                    if maximum <= 1 {
                        add(.idleInstance, r, String(format: "14-day CPU peak %.1f%%: stop or terminate it", maximum), monthly)
                        continue
                    }
                    if average < underusedAverage {
                        add(.underusedInstance, r, String(format: "14-day CPU average %.1f%% (peak %.1f%%): one size smaller", average, maximum), monthly / 2)
                        continue
                    }
                }
                if parts.count == 2, let next = Self.nextGeneration[parts[0]], let price = PriceTable.ec2Hourly["\(next).\(parts[1])"], price < hourly {
                    add(
                        .previousGeneration, r, "\(type) → \(next).\(parts[1]) (current generation)", (hourly - price) * PriceTable.hoursPerMonth * factor,
                        target: "\(next).\(parts[1])")
                } else if parts.count == 2, let arm = Self.graviton[parts[0]], let price = PriceTable.ec2Hourly["\(arm).\(parts[1])"], price < hourly {
                    add(
                        .graviton, r, "\(type) → \(arm).\(parts[1]) (Graviton; needs an arm64 build of the workload)", (hourly - price) * PriceTable.hoursPerMonth * factor,
                        target: "\(arm).\(parts[1])")
                }
            case "aws.ebs":
                let size = Decimal(p["Size"]?.intValue ?? 0)
                let volumeType = p["VolumeType"]?.stringValue ?? "gp2"
                let rate = PriceTable.ebsGBMonth[volumeType] ?? 0
                if p["State"]?.stringValue == "available" {
                    add(.unattachedVolume, r, "\(size) GB \(volumeType), attached to nothing: snapshot it and delete it", size * rate * factor)
                } else if volumeType == "gp2" {
                    add(.gp2ToGp3, r, "\(size) GB gp2 → gp3 (same baseline, 20 % cheaper; changed online)", size * (rate - PriceTable.ebsGBMonth["gp3"]!) * factor, action: "modify-volume")
                }
            case "aws.ebs-snapshot":
                guard let started = p["StartTime"]?.stringValue.flatMap(Timestamps.parse), now.timeIntervalSince(started) > snapshotAgeDays * 86_400 else { continue }
                let size = Decimal(p["VolumeSize"]?.intValue ?? 0)
                add(.oldSnapshot, r, "\(Int(now.timeIntervalSince(started) / 86_400)) days old, \(size) GB: delete it if no restore needs it", size * PriceTable.snapshotGBMonth * factor)
            case "aws.elastic-ip":
                // A NAT gateway's address has a network interface even where no association shows.
                guard (p["AssociationId"]?.stringValue ?? "").isEmpty, (p["NetworkInterfaceId"]?.stringValue ?? "").isEmpty else { continue }
                add(
                    .unassociatedAddress, r, "public IPv4 address not associated with anything: release it",
                    PriceTable.publicIPv4Hourly * PriceTable.hoursPerMonth, action: "release")
            case "aws.nat-gateway":
                guard p["State"]?.stringValue == "available", let daily = gatewayBytes[r.uid], daily.count >= minimumDays else { continue }
                let sent = daily.reduce(0, +)
                guard sent <= idleGatewayBytes else { continue }
                add(
                    .idleNATGateway, r,
                    "\(ByteCountFormatter.string(fromByteCount: Int64(sent), countStyle: .binary)) sent in \(daily.count) days: delete it (and release its address) if no route needs it",
                    PriceTable.natGatewayHourly * PriceTable.hoursPerMonth * factor)
            case "aws.rds":
                guard p["DBInstanceStatus"]?.stringValue == "available", let peaks = connections[r.uid], peaks.count >= minimumDays, (peaks.max() ?? 0) == 0,
                    let instanceClass = p["DBInstanceClass"]?.stringValue, let hourly = PriceTable.rdsHourly[instanceClass]
                else { continue }
                let copies: Decimal = p["MultiAZ"]?.boolValue == true ? 2 : 1
                add(
                    .idleDatabase, r,
                    "no connections in \(peaks.count) days: stop it, or take a final snapshot and delete it (storage is still billed while stopped)",
                    hourly * copies * PriceTable.hoursPerMonth * factor)
            case "aws.s3":
                // Only a bucket whose lifecycle Canopy has read: a missing key is an older scan.
                guard let rules = p["Lifecycle"]?["Rules"]?.arrayValue else { continue }
                let enabled = rules.filter { $0["Status"]?.stringValue == "Enabled" }
                guard enabled.isEmpty, let bytes = bucketBytes[r.uid]?.last, bytes > 0 else { continue }
                let gigabytes = Decimal(bytes / 1_073_741_824)
                let objects = Decimal(bucketObjects[r.uid]?.last ?? 0)
                let saving = gigabytes * coldShare * (PriceTable.s3StandardGBMonth - PriceTable.s3InfrequentAccessGBMonth) * factor
                    - objects / 1_000 * PriceTable.s3IntelligentTieringMonitoringPer1000
                add(
                    .bucketWithoutLifecycle, r,
                    "\(Self.round(gigabytes)) GB in S3 Standard, no lifecycle rule: use Intelligent-Tiering or add a transition/expiry rule (saving assumes \(NSDecimalNumber(decimal: coldShare * 100).intValue) % of it cold)",
                    saving)
            default: continue
            }
        }
        return out.sorted { $0.monthlySaving != $1.monthlySaving ? $0.monthlySaving > $1.monthlySaving : $0.resourceUID < $1.resourceUID }
    }

    static func round(_ value: Decimal) -> Decimal {
        var input = value
        var output = Decimal()
        NSDecimalRound(&output, &input, 2, .plain)
        return output
    }

    /// A Custodian policy file carrying out the safe recommendations (gp2 → gp3, release an
    /// unassociated Elastic IP), for `canopy run --policy FILE` (a dry run unless `--apply`,
    /// every change audited). Each policy re-checks the condition, so a resource that changed
    /// since is left alone.
    public static func policy(for recommendations: [Recommendation]) -> String {
        func ids(_ kind: Recommendation.Kind) -> String {
            recommendations.filter { $0.kind == kind }.compactMap { $0.resourceUID.split(separator: "/").last.map { "\"\($0)\"" } }.joined(separator: ", ")
        }
        let volumes = ids(.gp2ToGp3)
        let addresses = ids(.unassociatedAddress)
        guard !volumes.isEmpty || !addresses.isEmpty else { return "policies: []\n" }
        var text = "policies:\n"
        if !volumes.isEmpty {
            text += """
              - name: canopy-gp2-to-gp3
                resource: aws.ebs
                description: Canopy savings recommendation - gp2 volumes to gp3
                filters:
                  - VolumeType: gp2
                  - type: value
                    key: VolumeId
                    op: in
                    value: [\(volumes)]
                actions:
                  - type: modify-volume
                    volume-type: gp3

            """
        }
        if !addresses.isEmpty {
            text += """
              - name: canopy-release-unassociated-eips
                resource: aws.elastic-ip
                description: Canopy savings recommendation - release Elastic IPs nothing uses
                filters:
                  - {type: value, key: AssociationId, value: empty}
                  - {type: value, key: NetworkInterfaceId, value: empty}
                  - type: value
                    key: AllocationId
                    op: in
                    value: [\(addresses)]
                actions:
                  - type: release

            """
        }
        return text
    }
}
