import CanopyAWS
import CanopyCompliance
import CanopyInventory
import CanopyModel
import CanopyPolicy
import CanopyRemediation
import CanopyStore
import CanopyTestSupport
import Foundation
import Testing

extension MotoIntegrationTests {
    static let remediationPolicies = """
        policies:
          - name: tag-untagged
            resource: ec2
            filters:
              - "tag:CostCenter": absent
            actions:
              - {type: tag, key: CostCenter, value: CC-UNASSIGNED}
              - {type: mark-for-op, op: stop, days: 7}
          - name: encrypt-buckets
            resource: s3
            filters:
              - {type: bucket-encryption, state: false}
            actions:
              - {type: set-bucket-encryption, crypto: AES256}
              - set-public-block
          - name: rotate-keys
            resource: kms-key
            filters:
              - KeyManager: CUSTOMER
              - {type: key-rotation-status, key: KeyRotationEnabled, value: false}
            actions:
              - {type: set-rotation, state: true}
          - name: close-ssh
            resource: security-group
            filters:
              - {type: ingress, Ports: [22], Cidr: {value: 0.0.0.0/0}}
            actions:
              - {type: remove-permissions, ingress: matched}
          - name: unattached-gp2
            resource: ebs
            filters:
              - VolumeType: gp2
              - State: available
            actions:
              - {type: modify-volume, volume-type: gp3}
              - delete
          - name: free-addresses
            resource: elastic-ip
            filters:
              - {type: value, key: AssociationId, value: empty}
              - {type: value, key: NetworkInterfaceId, value: empty}
            actions:
              - release
          - name: db-review
            resource: rds
            filters:
              - MultiAZ: false
            actions:
              - {type: tag, key: ResilienceReview, value: due}
        """

    @Test func appliedActionsAreAuditedAndVisibleInTheNextScan() async throws {
        let manifest = try Moto.seed()
        let management = try #require(manifest.value(atPath: "accounts.management.id")?.stringValue)
        let store = try SQLiteStore()
        _ = try await Self.scan(store)
        let policies = try PolicyLoader.parse(Self.remediationPolicies, file: "remediate.yml")
        let plans = try policies.map(ActionPlan.init(policy:))
        let base = Self.client()
        let remediator = Remediator(
            client: { account in
                account == management
                    ? base
                    : base.with(credentials: AssumeRoleProvider(
                        roleARN: "arn:aws:iam::\(account):role/OrganizationAccountAccessRole", sessionName: "test", externalID: nil, client: base))
            },
            audit: store, transport: Self.transport)

        // A dry run plans, calls nothing and audits nothing.
        var context = try await EvaluationContext.load(from: store)
        let planned = await remediator.run(plans, results: PolicyRunner.run(policies, context: context), context: context, apply: false, actor: "test")
        #expect(!planned.isEmpty && planned.allSatisfy { $0.status == .planned || $0.status == .skipped })
        #expect(try await store.auditLog(limit: 10).isEmpty)

        let outcomes = await remediator.run(plans, results: PolicyRunner.run(policies, context: context), context: context, apply: true, actor: "test")
        let failed = outcomes.filter { $0.status == .failed }
        #expect(failed.isEmpty, "\(failed.map { "\($0.action) \($0.resource): \($0.detail)" })")
        let applied = outcomes.filter { $0.status == .applied }
        #expect(Set(applied.map(\.action)) == ["tag", "mark-for-op", "set-bucket-encryption", "set-public-block", "set-rotation", "remove-permissions", "modify-volume", "delete", "release"])
        let audit = try await store.auditLog(limit: 1_000)
        #expect(audit.count == applied.count && audit.allSatisfy { $0.action.hasPrefix("remediation.") && $0.actor == "test" })
        #expect(try await store.firstBrokenAuditEntry() == nil)

        // The next scan sees the changes: the filters that selected them now match nothing
        // (except the database tag, which does not make a database Multi-AZ).
        _ = try await Self.scan(store)
        context = try await EvaluationContext.load(from: store)
        let after = Dictionary(uniqueKeysWithValues: PolicyRunner.run(policies, context: context).map { ($0.policy.name, $0.matched) })
        for name in ["tag-untagged", "encrypt-buckets", "rotate-keys", "close-ssh", "unattached-gp2", "free-addresses"] {
            #expect(after[name]?.isEmpty == true, "\(name) still matches \(after[name]?.map(\.uid) ?? [])")
        }
        let databases = try #require(after["db-review"])
        #expect(!databases.isEmpty && databases.allSatisfy { $0.tags["ResilienceReview"] == "due" })
        let marked = context.inventory.filter { $0.type == "aws.ec2" && $0.tags["CostCenter"] == "CC-UNASSIGNED" }
        #expect(!marked.isEmpty && marked.allSatisfy { ($0.tags["maid_status"] ?? "").contains(": stop@") })
    }

    @Test func actionsAreCheckedBeforeAnythingRuns() throws {
        func error(_ yaml: String) -> String {
            do {
                _ = try PolicyLoader.parse(yaml, file: "a.yml").map(ActionPlan.init(policy:))
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(error("policies:\n  - name: x\n    resource: s3\n    actions:\n      - stop\n").contains("action 'stop' does not apply to aws.s3"))
        #expect(error("policies:\n  - name: x\n    resource: ec2\n    actions:\n      - {type: invoke-lambda}\n").hasPrefix("a.yml:2:5: policy 'x': unknown or unsupported action 'invoke-lambda'"))
        #expect(error("policies:\n  - name: x\n    resource: ebs\n    actions:\n      - modify-volume\n").contains("volume-type"))
    }
}

@Suite struct WebhookActionTests {
    @Test func webhookPostsThePolicyAndResourceAndAuditsWithoutTheURLPath() async throws {
        let hook = ScriptedTransport([ScriptedTransport.xml(204, "")])
        let store = try SQLiteStore()
        let policy = try #require(
            try PolicyLoader.parse(
                "policies:\n  - name: notify-public\n    resource: s3\n    filters:\n      - Name: public-bucket\n    actions:\n      - {type: notify, transport: {type: webhook, url: 'https://hooks.example.com/services/T000/SECRET'}}\n",
                file: "n.yml"
            ).first)
        let bucket = Resource(
            uid: "arn:aws:s3:::public-bucket", account: "111111111111", region: "us-east-1", type: "aws.s3", name: "public-bucket",
            properties: ["Name": "public-bucket"], observedAt: Date())
        let context = EvaluationContext(inventory: [bucket])
        let remediator = Remediator(client: { _ in throw RemediationError.unsupported("aws", "test") }, audit: store, transport: hook)
        let outcomes = await remediator.run(
            [try ActionPlan(policy: policy)], results: PolicyRunner.run([policy], context: context), context: context,
            apply: true, actor: "bot")
        #expect(outcomes.map(\.status) == [.applied])
        let request = try #require(hook.requests.first)
        #expect(request.method == "POST" && request.endpoint.host == "hooks.example.com" && request.encodedPath == "/services/T000/SECRET")
        let body = try JSONValue.parse(request.body)
        #expect(body["policy"] == "notify-public" && body["resource"]?["Name"] == "public-bucket")
        let entry = try #require(try await store.auditLog(limit: 1).first)
        #expect(entry.action == "remediation.webhook" && !entry.details.canonicalJSON().contains("SECRET"))
    }
}
