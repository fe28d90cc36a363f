import ArgumentParser
import CanopyAWS
import CanopyCompliance
import CanopyModel
import CanopyPolicy
import CanopyRemediation
import CanopyStore
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Evaluate Custodian policies over the stored inventory; with --apply, carry out their actions.",
        discussion: """
            Runs the filters of Cloud Custodian policy files against the current inventory (the last scans),
            without calling AWS. With --output-dir it writes DIR/<policy>/resources.json and metadata.json
            as Custodian does. Actions are a dry run (listed, not executed) unless --apply is given; applied
            actions call AWS with the caller's credentials (assuming --role in member accounts) and each
            one is written to the audit log. Rescan to see their effect in the inventory.
            """)

    @OptionGroup var database: DatabaseOptions
    @Option(name: .customLong("policy"), help: "A Custodian policy file (repeatable).") var policyFiles: [String] = []
    @Option(help: "Write Custodian-style output under this directory.") var outputDir: String?
    @Option(help: "table or json.") var format: OutputFormat = .table
    @Flag(help: "Carry out the policies' actions (default: dry run).") var apply = false
    @OptionGroup var actor: ActorOption
    @Option(help: "AWS profile for --apply.") var profile: String?
    @Option(help: "Role to assume in member accounts for --apply.") var role = "OrganizationAccountAccessRole"
    @Option(help: "Endpoint URL for every AWS service (e.g. a moto server).") var endpoint: String?

    func validate() throws {
        guard !policyFiles.isEmpty else { throw ValidationError("give at least one --policy FILE") }
    }

    func run() async throws {
        var policies: [Policy] = []
        var plans: [ActionPlan] = []
        for file in policyFiles {
            do {
                let loaded = try PolicyLoader.load(path: file)
                policies += loaded
                plans += try loaded.map(ActionPlan.init(policy:))
            } catch let error as PolicyError {
                throw ValidationError("\(error)")
            }
        }
        let store = try database.open()
        let context = try await EvaluationContext.load(from: store)
        let results = PolicyRunner.run(policies, context: context)
        if let outputDir {
            try PolicyRunner.writeCustodianOutput(results, to: URL(fileURLWithPath: outputDir))
        }
        struct Row: Encodable {
            var policy: String
            var resource: String
            var matched: [String]
            var evaluated: Int
        }
        let rows = results.map {
            Row(policy: $0.policy.name, resource: $0.policy.resource, matched: $0.matched.map(\.uid), evaluated: $0.evaluated)
        }
        let table = Table(
            columns: ["policy", "resource", "matched", "evaluated"],
            rows: rows.map { [$0.policy, $0.resource, String($0.matched.count), String($0.evaluated)] })
        printOut(try table.render(format) { try JSONOutput.encode(rows) })

        guard plans.contains(where: { !$0.actions.isEmpty }) else { return }
        let transport = AsyncHTTPClientTransport()
        let outcomes: [ActionOutcome]
        do {
            let clients = try await AccountClients(transport: transport, profile: profile, role: role, endpoint: endpoint, needed: apply)
            let remediator = Remediator(client: { try await clients.client(for: $0) }, audit: store, transport: transport)
            outcomes = await remediator.run(plans, results: results, context: context, apply: apply, actor: actor.resolved)
        } catch {
            try? await transport.shutdown()
            throw error
        }
        try await transport.shutdown()
        printOut("\nactions" + (apply ? "" : " (dry run: add --apply to carry them out)") + ":")
        let actionTable = Table(
            columns: ["policy", "action", "status", "resource", "detail"],
            rows: outcomes.map { [$0.policy, $0.action, $0.status.rawValue, $0.resource, $0.detail] })
        printOut(try actionTable.render(format) { try JSONOutput.encode(outcomes) })
        if outcomes.contains(where: { $0.status == .failed }) { throw ExitCode(CanopyExit.runtime) }
    }
}

/// AWS clients per account for actions: the caller's own, or an assumed role in a member account.
actor AccountClients {
    let base: AWSClient?
    let caller: String?
    let role: String
    var cache: [String: AWSClient] = [:]

    init(transport: any HTTPTransport, profile: String?, role: String, endpoint: String?, needed: Bool) async throws {
        self.role = role
        guard needed else {
            base = nil
            caller = nil
            return
        }
        let (client, _) = try await CallerClient.resolve(
            transport: transport, environment: ProcessInfo.processInfo.environment, profile: profile, endpoint: endpoint)
        base = client
        caller = try await client.query("sts", "GetCallerIdentity", region: "us-east-1")["Account"]?.stringValue
    }

    func client(for account: String) throws -> AWSClient {
        guard let base else { throw ValidationError("internal: no AWS client in a dry run") }
        if account == caller { return base }
        if let known = cache[account] { return known }
        let assumed = base.with(
            credentials: AssumeRoleProvider(roleARN: "arn:aws:iam::\(account):role/\(role)", sessionName: "canopy-remediation", externalID: nil, client: base))
        cache[account] = assumed
        return assumed
    }
}
