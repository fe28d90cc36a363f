import CanopyAWS
import CanopyFinOps
import CanopyModel
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

extension MotoIntegrationTests {
    /// The collectors gather what the NAT gateway, RDS and S3 recommendations judge by (daily bytes
    /// out, daily peak connections, lifecycle rules, bucket size and object count) over the wire,
    /// and the recommender finds exactly the idle and unmanaged ones.
    @Test func idleGatewaysDatabasesAndUnmanagedBucketsAreRecommendedFromCollectedMetrics() async throws {
        let manifest = try Moto.seed()
        let corporate = try #require(manifest.value(atPath: "accounts.corporate.id")?.stringValue)
        let idleGateway = try #require(manifest.value(atPath: "resources.corporate.us-east-1.nat_gateway.corp-it-nat-a")?.stringValue)
        let busyGateway = try #require(manifest.value(atPath: "resources.generation.us-east-1.nat_gateway.gen-prod-nat-a")?.stringValue)
        let generation = try #require(manifest.value(atPath: "accounts.generation.id")?.stringValue)
        try Moto.boto3(
            """
            import datetime
            now = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
            days = [now - datetime.timedelta(days=d) for d in range(1, 11)]
            cw = client("cloudwatch", account="\(corporate)")
            def put(cw, namespace, name, dimensions, values):
                cw.put_metric_data(Namespace=namespace, MetricData=[
                    {"MetricName": name, "Dimensions": dimensions, "Timestamp": t, "Value": v} for t, v in zip(days, values)])
            put(cw, "AWS/NATGateway", "BytesOutToDestination", [{"Name": "NatGatewayId", "Value": "\(idleGateway)"}], [0] * 10)
            put(cw, "AWS/RDS", "DatabaseConnections", [{"Name": "DBInstanceIdentifier", "Value": "corp-legacy-crm"}], [0] * 10)
            put(cw, "AWS/RDS", "DatabaseConnections", [{"Name": "DBInstanceIdentifier", "Value": "corp-billing-db"}], [0] * 9 + [3])
            for bucket in ["gridco-corp-hr-legacy", "gridco-corp-finance-reports"]:
                put(cw, "AWS/S3", "BucketSizeBytes", [{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": "StandardStorage"}], [400 * 2**30] * 10)
                put(cw, "AWS/S3", "NumberOfObjects", [{"Name": "BucketName", "Value": bucket}, {"Name": "StorageType", "Value": "AllStorageTypes"}], [200000] * 10)
            client("s3", account="\(corporate)").put_bucket_lifecycle_configuration(
                Bucket="gridco-corp-finance-reports",
                LifecycleConfiguration={"Rules": [{"ID": "archive", "Status": "Enabled", "Filter": {"Prefix": ""},
                                                   "Transitions": [{"Days": 30, "StorageClass": "INTELLIGENT_TIERING"}]}]})
            busy = client("cloudwatch", account="\(generation)")
            put(busy, "AWS/NATGateway", "BytesOutToDestination", [{"Name": "NatGatewayId", "Value": "\(busyGateway)"}], [5e9] * 10)
            """)
        let store = try SQLiteStore()
        _ = try await Self.scan(store, services: ["vpc", "rds", "s3"])
        let gatewaySeries = try await store.series(metric: "AWS/NATGateway:BytesOutToDestination:Sum", since: .distantPast)
        #expect(gatewaySeries.count == 2 && gatewaySeries.allSatisfy { $0.points.count == 10 && $0.periodSeconds == 86_400 })
        let financeBucket = try #require(await store.resource(uid: "arn:aws:s3:::gridco-corp-finance-reports"))
        #expect(financeBucket.properties["Lifecycle"]?["Rules"]?.arrayValue?.first?["Transitions"]?.arrayValue?.first?["StorageClass"] == "INTELLIGENT_TIERING")
        let hrBucket = try #require(await store.resource(uid: "arn:aws:s3:::gridco-corp-hr-legacy"))
        #expect(hrBucket.properties["Lifecycle"]?["Rules"] == [])

        let found = try await Recommender().recommend(store: store, now: Date())
        let gateways = found.filter { $0.kind == .idleNATGateway }
        #expect(gateways.map(\.resourceUID) == ["arn:aws:ec2:us-east-1:\(corporate):natgateway/\(idleGateway)"])
        #expect(gateways.first?.monthlySaving == Decimal(string: "32.85"))  // 0.045 × 730
        let databases = found.filter { $0.kind == .idleDatabase }
        #expect(databases.map(\.resourceName) == ["corp-legacy-crm"])
        #expect(databases.first?.monthlySaving == Decimal(string: "49.64"))  // db.t2.medium 0.068 × 730
        let buckets = found.filter { $0.kind == .bucketWithoutLifecycle }
        #expect(buckets.map(\.resourceName) == ["gridco-corp-hr-legacy"])
        // 400 GB × 50 % cold × (0.023 − 0.0125) − 200 × 0.0025 monitoring = 2.10 − 0.50
        #expect(buckets.first?.monthlySaving == Decimal(string: "1.6"))
        // Buckets with no size metric (every other seeded one) are not judged.
        #expect(!found.contains { $0.kind == .bucketWithoutLifecycle && $0.resourceName == "gridco-gen-telemetry-raw" })
    }
}
