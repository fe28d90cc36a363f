import CanopyFinOps
import CanopyModel
import CanopyPolicy
import CanopyRemediation
import CanopyStore
import Foundation
import Testing

/// Savings recommendations on an inventory whose answers are known.
@Suite struct RecommendationTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    func resource(_ id: String, _ type: String, _ properties: JSONValue, region: String = "us-east-1") -> Resource {
        Resource(uid: "arn:aws:ec2:\(region):111111111111:\(type)/\(id)", provider: .aws, account: "111111111111", region: region, type: "aws.\(type)", name: id, tags: ["App": "grid"], properties: properties, observedAt: Self.now)
    }

    func instance(_ id: String, _ size: String) -> Resource {
        resource(id, "ec2", ["InstanceId": .string(id), "InstanceType": .string(size), "State": ["Name": "running"]])
    }

    @Test func eachKindIsFoundWithItsSaving() async throws {
        let store = try SQLiteStore()
        let scan = try await store.startScan(scope: ScanScope(accounts: ["111111111111"], regions: ["us-east-1"], services: ["ec2"], source: "test"), at: Self.now)
        let resources = [
            instance("i-idle", "m5.large"), instance("i-quiet", "m5.large"), instance("i-old", "m4.large"), instance("i-busy", "t3.medium"),
            resource("vol-gp2", "ebs", ["VolumeId": "vol-gp2", "Size": 100, "VolumeType": "gp2", "State": "in-use"]),
            resource("vol-loose", "ebs", ["VolumeId": "vol-loose", "Size": 50, "VolumeType": "gp3", "State": "available"]),
            resource("snap-old", "ebs-snapshot", ["SnapshotId": "snap-old", "VolumeSize": 20, "StartTime": .string(Timestamps.iso8601(Self.now.addingTimeInterval(-120 * 86_400)))]),
            resource("snap-new", "ebs-snapshot", ["SnapshotId": "snap-new", "VolumeSize": 20, "StartTime": .string(Timestamps.iso8601(Self.now.addingTimeInterval(-10 * 86_400)))]),
            resource("eipalloc-free", "elastic-ip", ["AllocationId": "eipalloc-free", "PublicIp": "198.51.100.7"]),
            resource("eipalloc-used", "elastic-ip", ["AllocationId": "eipalloc-used", "AssociationId": "eipassoc-1"]),
            // Judged by metrics and settings this scan lacks: unknown, so never called idle.
            resource("nat-unmeasured", "nat-gateway", ["NatGatewayId": "nat-unmeasured", "State": "available"]),
            resource("db-unmeasured", "rds", ["DBInstanceIdentifier": "db-unmeasured", "DBInstanceClass": "db.m5.large", "DBInstanceStatus": "available"]),
            resource("bucket-unread", "s3", ["Name": "bucket-unread"]),
        ]
        try await store.stage(CollectedResources(unit: ScanUnit(account: "111111111111", region: "us-east-1", service: "ec2"), resources: resources), scanID: scan.id)
        _ = try await store.completeScan(scan.id, ScanCompletion(succeededUnits: [ScanUnit(account: "111111111111", region: "us-east-1", service: "ec2")], errors: [], throttledRetries: 0, finishedAt: Self.now))
        func hourly(_ uid: String, _ value: (Int) -> Double) -> MetricSeries {
            MetricSeries(
                resourceUID: uid, metric: "AWS/EC2:CPUUtilization:Average", periodSeconds: 3_600,
                points: (0..<(14 * 24)).map { MetricSeries.Point(timestamp: Self.now.addingTimeInterval(-Double($0) * 3_600), value: value($0)) })
        }
        try await store.record([
            hourly(resources[0].uid) { _ in 0.4 }, hourly(resources[1].uid) { $0 % 24 == 0 ? 30 : 3 }, hourly(resources[3].uid) { _ in 55 },
        ])
        let found = try await Recommender().recommend(store: store, now: Self.now)
        let byResource = Dictionary(found.map { ($0.resourceName, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byResource["i-idle"]?.kind == .idleInstance && byResource["i-idle"]?.monthlySaving == Decimal(string: "70.08"))  // 0.096 × 730
        #expect(byResource["i-quiet"]?.kind == .underusedInstance && byResource["i-quiet"]?.monthlySaving == Decimal(string: "35.04"))
        #expect(byResource["i-old"]?.kind == .previousGeneration && byResource["i-old"]?.monthlySaving == Decimal(string: "2.92"))  // (0.10 − 0.096) × 730
        #expect(byResource["i-busy"]?.kind == .graviton && byResource["i-busy"]?.monthlySaving == Decimal(string: "5.84"))  // (0.0416 − 0.0336) × 730
        #expect(byResource["vol-gp2"]?.kind == .gp2ToGp3 && byResource["vol-gp2"]?.monthlySaving == 2 && byResource["vol-gp2"]?.action == "modify-volume")
        #expect(byResource["vol-loose"]?.kind == .unattachedVolume && byResource["vol-loose"]?.monthlySaving == 4)
        #expect(byResource["snap-old"]?.kind == .oldSnapshot && byResource["snap-old"]?.monthlySaving == 1 && byResource["snap-new"] == nil)
        #expect(byResource["eipalloc-free"]?.kind == .unassociatedAddress && byResource["eipalloc-free"]?.monthlySaving == Decimal(string: "3.65") && byResource["eipalloc-used"] == nil)
        #expect(byResource["nat-unmeasured"] == nil && byResource["db-unmeasured"] == nil && byResource["bucket-unread"] == nil)
        #expect(found.allSatisfy { $0.application == "grid" })
        // The safe ones become a policy Canopy's own runner accepts.
        let policies = try PolicyLoader.parse(Recommender.policy(for: found), file: "gp3.yml")
        #expect(policies.map(\.resource) == ["aws.ebs", "aws.elastic-ip"])
        #expect(policies[0].matches(resources[4], in: EvaluationContext(now: Self.now)) && !policies[0].matches(resources[5], in: EvaluationContext(now: Self.now)))
        #expect(policies[1].matches(resources[8], in: EvaluationContext(now: Self.now)) && !policies[1].matches(resources[9], in: EvaluationContext(now: Self.now)))
        #expect(try policies.map(ActionPlan.init(policy:)).map { $0.actions.map(\.name) } == [["modify-volume"], ["release"]])
    }
}
