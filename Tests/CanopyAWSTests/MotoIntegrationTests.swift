import CanopyAWS
import CanopyInventory
import CanopyModel
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

/// Collectors against moto seeded with the shared GridCo estate. Serialized: they share one server.
@Suite(.serialized, .enabled(if: Moto.isAvailable, Comment(rawValue: Moto.unavailableReason)))
struct MotoIntegrationTests {
    static let regions = ["us-east-1", "ap-northeast-1"]
    static let transport = AsyncHTTPClientTransport()
    static let motoCredentials = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    static func client(transport: any HTTPTransport = transport, attempts: Int = 8, budget: Int = 2_000) -> AWSClient {
        AWSClient(
            transport: transport, credentials: StaticCredentialProvider(motoCredentials),
            endpoints: EndpointResolver(globalOverride: Moto.endpoint),
            retryPolicy: RetryPolicy(maxAttempts: attempts, baseDelay: .milliseconds(2), maxDelay: .milliseconds(50)),
            budget: RetryBudget(retries: budget))
    }

    static func scan(
        _ store: any CanopyStore, client: AWSClient = client(), services: [String] = [], concurrency: Int = 16
    ) async throws -> Scan {
        try await InventoryScanner(client: client, store: store).run(
            ScanConfiguration(regions: regions, services: services, concurrency: concurrency))
    }

    /// Manifest kinds → the Custodian type and the property that carries the manifest's id.
    static let kinds: [String: (type: String, key: String)] = [
        "vpc": ("aws.vpc", "VpcId"), "subnet": ("aws.subnet", "SubnetId"),
        "security_group": ("aws.security-group", "GroupId"), "instance": ("aws.ec2", "InstanceId"),
        "volume": ("aws.ebs", "VolumeId"), "snapshot": ("aws.ebs-snapshot", "SnapshotId"),
        "elastic_ip": ("aws.elastic-ip", "AllocationId"), "nat_gateway": ("aws.nat-gateway", "NatGatewayId"),
        "kms_key": ("aws.kms-key", "KeyId"), "s3_bucket": ("aws.s3", "Name"), "rds_instance": ("aws.rds", "DBInstanceArn"),
        "rds_snapshot": ("aws.rds-snapshot", "DBSnapshotIdentifier"), "iam_user": ("aws.iam-user", "Arn"),
        "cloudtrail": ("aws.cloudtrail", "Name"), "config_recorder": ("aws.config-recorder", "name"),
        "guardduty_detector": ("aws.guardduty-detector", "DetectorId"), "lambda_function": ("aws.lambda", "FunctionName"),
        "load_balancer": ("aws.app-elb", "LoadBalancerArn"), "autoscaling_group": ("aws.asg", "AutoScalingGroupName"),
        "dynamodb_table": ("aws.dynamodb-table", "TableName"),
    ]
    /// Kinds whose manifest value is a description, not an id: they are found by their name.
    static let identifiedByName: Set<String> = ["cloudtrail", "config_recorder", "autoscaling_group"]

    @Test func everyManifestResourceIsCollectedInItsAccountRegionAndType() async throws {
        let manifest = try Moto.seed()
        let store = try SQLiteStore()
        let scan = try await Self.scan(store)
        #expect(scan.status == .complete)
        #expect(scan.errors.isEmpty, "\(scan.errors)")
        let accounts = manifest["accounts"]!.objectValue!.mapValues { $0["id"]!.stringValue! }
        #expect(Set(scan.scope.accounts) == Set(accounts.values))
        let all = try await store.resources(ResourceQuery())
        var missing: [String] = []
        var checked = 0
        for (accountKey, regions) in manifest["resources"]!.objectValue! {
            let accountID = accounts[accountKey]!
            for (region, kinds) in regions.objectValue! {
                for (kind, entries) in kinds.objectValue! {
                    for (name, value) in entries.objectValue! {
                        checked += 1
                        if kind == "access_key" {
                            let parts = name.split(separator: "/").map(String.init)
                            let found = all.contains { resource in
                                resource.type == "aws.iam-user" && resource.account == accountID && resource.name == parts[0]
                                    && (resource.properties["AccessKeys"]?.arrayValue ?? []).contains {
                                        $0["AccessKeyId"]?.stringValue == parts[1] && $0["Status"] == value
                                    }
                            }
                            if !found { missing.append("\(accountKey)/\(region)/\(kind)/\(name)") }
                            continue
                        }
                        guard let (type, key) = Self.kinds[kind] else {
                            missing.append("unmapped kind \(kind)")
                            continue
                        }
                        let expected = Self.identifiedByName.contains(kind) ? name : value.stringValue ?? ""
                        let matches = all.filter {
                            $0.type == type && $0.account == accountID && $0.properties[key]?.stringValue == expected
                        }
                        guard let resource = matches.first, matches.count == 1 else {
                            missing.append("\(accountKey)/\(region)/\(kind)/\(name) (\(matches.count) matches)")
                            continue
                        }
                        let expectedRegion = region == "global" ? "global" : region
                        if resource.region != expectedRegion {
                            missing.append("\(kind)/\(name) in \(resource.region), expected \(expectedRegion)")
                        }
                        if ["instance", "vpc", "subnet", "volume", "nat_gateway"].contains(kind), resource.tags["Name"] != name {
                            missing.append("\(kind)/\(name) has Name tag \(resource.tags["Name"] ?? "none")")
                        }
                        if kind == "autoscaling_group" {
                            let members = Set((resource.properties["Instances"]?.arrayValue ?? []).compactMap { $0["InstanceId"]?.stringValue })
                            if members != Set(value.arrayValue?.compactMap(\.stringValue) ?? []) {
                                missing.append("asg \(name) members \(members)")
                            }
                        }
                    }
                }
            }
        }
        #expect(checked > 200)
        #expect(missing.isEmpty, "\(missing)")
    }

    @Test func collectedPropertiesHaveBoto3Shapes() async throws {
        let store = try SQLiteStore()
        _ = try await Self.scan(store, services: ["ec2", "ebs", "s3", "iam", "account", "kms"])
        let snapshots = try await store.resources(ResourceQuery(types: ["aws.ebs-snapshot"]))
        #expect(snapshots.count == 2, "only the estate's own snapshots, not moto's AMI catalogue")
        #expect(snapshots.allSatisfy { $0.properties["OwnerId"]?.stringValue == $0.account })
        #expect(snapshots.filter { snapshot in
            (snapshot.properties["CreateVolumePermissions"]?.arrayValue ?? []).contains { $0["Group"] == "all" }
        }.count == 1)
        let instances = try await store.resources(ResourceQuery(types: ["aws.ec2"]))
        #expect(instances.count == 50)
        #expect(instances.allSatisfy { $0.properties.value(atPath: "State.Name")?.stringValue != nil })
        let stopped = instances.filter { $0.properties.value(atPath: "State.Name") == "stopped" }
        #expect(stopped.count == 3)
        let cpu = try await store.series(resourceUID: instances[0].uid, metric: "AWS/EC2:CPUUtilization:Average")
        #expect((cpu?.points.count ?? 0) >= 70, "14 days of 4-hourly CPU datapoints")
        let buckets = try await store.resources(ResourceQuery(types: ["aws.s3"]))
        let unencrypted = buckets.filter { $0.properties["ServerSideEncryptionConfiguration"] == .null }
        #expect(!unencrypted.isEmpty && unencrypted.count < buckets.count)
        let users = try await store.resources(ResourceQuery(types: ["aws.iam-user"]))
        #expect(users.contains { $0.properties["LoginProfile"] != .null && $0.properties["MFADevices"] == [] })
        #expect(users.allSatisfy { $0.properties["c7n:credential-report"] != .null })
        let accounts = try await store.resources(ResourceQuery(types: ["aws.account"]))
        #expect(accounts.count == 4)
        #expect(accounts.contains { $0.properties["organizational_unit"] == "Generation" })
        let keys = try await store.resources(ResourceQuery(types: ["aws.kms-key"]))
        #expect(keys.contains { $0.properties["KeyRotationEnabled"] == false })
        #expect(keys.contains { $0.properties["KeyRotationEnabled"] == true })
    }

    @Test func diffShowsANewOpenSecurityGroupAndAChangedOne() async throws {
        let manifest = try Moto.seed()
        let generation = manifest.value(atPath: "accounts.generation.id")!.stringValue!
        let store = try SQLiteStore()
        let before = try await Self.scan(store, services: ["vpc"])
        let appInternal = manifest.value(atPath: "resources.generation.us-east-1.security_group.app-internal")!.stringValue!
        try Moto.boto3(
            """
            ec2 = client("ec2", account="\(generation)")
            vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["gen-prod"]}])["Vpcs"][0]["VpcId"]
            sg = ec2.create_security_group(GroupName="vendor-remote-access", Description="opened by a vendor", VpcId=vpc)["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            ec2.create_tags(Resources=["\(appInternal)"], Tags=[{"Key": "Owner", "Value": "changed@gridco.example"}])
            """)
        let after = try await Self.scan(store, services: ["vpc"])
        let diff = try await store.diff(from: before.id, to: after.id)
        let added = diff.filter { $0.kind == .added }
        #expect(added.count == 1)
        #expect(added.first?.type == "aws.security-group")
        #expect(added.first?.name == "vendor-remote-access")
        #expect(added.first?.account == generation)
        let changed = diff.filter { $0.kind == .modified }
        #expect(changed.map(\.uid) == ["arn:aws:ec2:us-east-1:\(generation):security-group/\(appInternal)"])
        #expect(changed.first?.differences.contains { $0.path == "tag:Owner" && $0.after == "changed@gridco.example" } == true)
        #expect(diff.allSatisfy { $0.kind != .removed })
        let created = try #require(await store.resource(uid: added[0].uid))
        let rule = created.properties["IpPermissions"]?.arrayValue?.first
        #expect(rule?["FromPort"] == 3389)
        #expect(rule?["IpRanges"]?.arrayValue?.first?["CidrIp"] == "0.0.0.0/0")
    }

    @Test func inventoryUnderThirtyPercentFaultsEqualsTheFaultFreeOne() async throws {
        try Moto.seed()
        let clean = try SQLiteStore()
        _ = try await Self.scan(clean)
        let faults = FaultInjectingTransport(wrapping: Self.transport, failureRate: 0.3, seed: 20_261_129)
        let faulty = try SQLiteStore()
        let scan = try await Self.scan(faulty, client: Self.client(transport: faults, attempts: 14, budget: 100_000))
        #expect(scan.errors.isEmpty, "\(scan.errors)")
        #expect(faults.injected > 100)
        #expect(scan.throttledRetries > 0)
        let expected = try await clean.resources(ResourceQuery())
        let actual = try await faulty.resources(ResourceQuery())
        #expect(actual.count == expected.count)
        let expectedByUID = Dictionary(uniqueKeysWithValues: expected.map { ($0.uid, $0.observedState) })
        let mismatched = actual.filter { resource in
            guard let clean = expectedByUID[resource.uid] else { return true }
            return !StateDiff.differences(from: clean, to: resource.observedState).isEmpty
        }.map(\.uid)
        #expect(mismatched.isEmpty, "\(mismatched.prefix(5))")
    }

    @Test func aFailingServiceIsRecordedAgainstItsUnitsAndTheRestCompletes() async throws {
        try Moto.seed()
        let store = try SQLiteStore()
        _ = try await Self.scan(store, services: ["rds", "dynamodb"])
        let rdsBefore = try await store.resources(ResourceQuery(types: ["aws.rds"])).count
        // Every RDS call is denied, as an SCP or a missing permission would.
        let denyRDS = InterceptingTransport(wrapping: Self.transport) { request in
            guard request.header("Authorization")?.contains("/rds/aws4_request") == true else { return nil }
            return AWSHTTPResponse(
                status: 403,
                body: Data("<ErrorResponse><Error><Code>AccessDenied</Code><Message>explicit deny in an SCP</Message></Error></ErrorResponse>".utf8))
        }
        let scan = try await Self.scan(store, client: Self.client(transport: denyRDS), services: ["rds", "dynamodb"])
        #expect(scan.status == .complete)
        #expect(scan.unitsFailed == 8, "4 accounts × 2 regions of rds")
        #expect(scan.errors.allSatisfy { $0.unit.service == "rds" && $0.code == "AccessDenied" })
        // What could not be collected is kept as last seen, never reported as deleted.
        #expect(try await store.resources(ResourceQuery(types: ["aws.rds"])).count == rdsBefore)
        #expect(try await store.changes(scanID: scan.id).isEmpty)
        #expect(try await store.resources(ResourceQuery(types: ["aws.dynamodb-table"])).count == 2)
    }

    @Test func anInterruptedScanLeavesThePreviousInventoryIntact() async throws {
        try Moto.seed()
        let store = try SQLiteStore()
        let complete = try await Self.scan(store, services: ["vpc", "ec2"])
        let before = try await store.resources(ResourceQuery()).count
        // Latency on every call, so the scan can be interrupted part-way.
        let slow = InterceptingTransport(wrapping: Self.transport) { _ in
            try await Task.sleep(for: .milliseconds(50))
            return nil
        }
        let task = Task { try await Self.scan(store, client: Self.client(transport: slow), services: ["vpc", "ec2"], concurrency: 2) }
        try await Task.sleep(for: .milliseconds(400))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        let scans = try await store.scans(limit: 5)
        #expect(scans.first?.status == .incomplete)
        #expect(scans.first?.errors.first?.code == "Interrupted")
        #expect(try await store.resources(ResourceQuery()).count == before)
        #expect(try await store.diff(from: complete.id, to: complete.id).isEmpty)
    }

    @Test func motoInAuthModeAcceptsOurSignatureAndRejectsABadOne() async throws {
        try Moto.seed()
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-key-\(UUID().uuidString).json")
        try Moto.boto3(
            """
            import json
            iam = client("iam")
            iam.create_user(UserName="canopy-auditor")
            iam.put_user_policy(UserName="canopy-auditor", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            key = iam.create_access_key(UserName="canopy-auditor")["AccessKey"]
            open("\(keyFile.path)", "w").write(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
            """)
        let key = try JSONValue.parse(Data(contentsOf: keyFile))
        try Moto.control("/moto-api/reset-auth", body: "0")
        defer { try? Moto.control("/moto-api/reset-auth", body: "inf") }
        let good = Self.client().with(
            credentials: StaticCredentialProvider(
                AWSCredentials(accessKeyID: key["id"]!.stringValue!, secretAccessKey: key["secret"]!.stringValue!)))
        let identity = try await good.query("sts", "GetCallerIdentity", region: "us-east-1")
        #expect(identity["Arn"]?.stringValue?.hasSuffix("user/canopy-auditor") == true)
        let vpcs = try await good.queryPages("ec2", "DescribeVpcs", region: "us-east-1", itemsKey: "Vpcs")
        #expect(!vpcs.isEmpty)
        let bad = Self.client().with(
            credentials: StaticCredentialProvider(AWSCredentials(accessKeyID: key["id"]!.stringValue!, secretAccessKey: "not-the-secret")))
        do {
            _ = try await bad.query("sts", "GetCallerIdentity", region: "us-east-1")
            Issue.record("a bad signature was accepted")
        } catch let error as AWSServiceError {
            #expect(error.code == "SignatureDoesNotMatch")
        }
    }

    @Test func anUnreachableEndpointIsNamedInTheError() async throws {
        let client = AWSClient(
            transport: Self.transport, credentials: StaticCredentialProvider(Self.motoCredentials),
            endpoints: EndpointResolver(globalOverride: URL(string: "http://127.0.0.1:9")!),
            retryPolicy: RetryPolicy(maxAttempts: 2, baseDelay: .milliseconds(1)))
        do {
            _ = try await InventoryScanner(client: client, store: try SQLiteStore()).run(ScanConfiguration(regions: ["us-east-1"]))
            Issue.record("expected an error")
        } catch let error as TransportError {
            #expect("\(error)".contains("127.0.0.1:9"))
        }
    }

    @Test func regionsAllMeansEveryEnabledRegion() async throws {
        try Moto.seed()
        let store = try SQLiteStore()
        let scan = try await InventoryScanner(client: Self.client(), store: store).run(
            ScanConfiguration(accounts: .caller, regions: ["all"], services: ["vpc"]))
        #expect(scan.scope.regions.count > 10)
        #expect(Set(Self.regions).isSubset(of: scan.scope.regions))
        #expect(scan.unitsTotal == scan.scope.regions.count)
        #expect(scan.errors.isEmpty, "\(scan.errors.prefix(3))")
        #expect(try await store.resources(ResourceQuery(types: ["aws.vpc"], regions: ["ap-northeast-1"])).isEmpty == false)
    }

    @Test func accountsFileScansOnlyTheListedAccountsAndRegions() async throws {
        let manifest = try Moto.seed()
        let gridops = manifest.value(atPath: "accounts.gridops.id")!.stringValue!
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("accounts-\(UUID().uuidString).yml")
        try """
            accounts:
              - account_id: "\(gridops)"
                name: gridco-gridops-prod
                regions: [ap-northeast-1]
                tags: [bu:gridops]
            """.write(to: file, atomically: true, encoding: .utf8)
        let store = try SQLiteStore()
        let scan = try await InventoryScanner(client: Self.client(), store: store).run(
            ScanConfiguration(accounts: .file(path: file.path, defaultRole: "OrganizationAccountAccessRole"), regions: Self.regions, services: ["ec2"]))
        #expect(scan.scope.accounts == [gridops])
        #expect(scan.scope.regions == ["ap-northeast-1"])
        let instances = try await store.resources(ResourceQuery(types: ["aws.ec2"]))
        #expect(instances.count == 3)
        #expect(instances.allSatisfy { $0.account == gridops && $0.region == "ap-northeast-1" })
    }
}
