import CanopyModel
import CanopyPolicy
import Foundation
import Testing

@Suite("Ownership file")
struct OwnershipFileTests {
    static let text = """
        business_units:
          - id: generation
            name: Generation
            name_zh: 發電事業部
            owners: [ot@example.com]
            cost_center: CC-1100
            organizational_units: [Generation]
            accounts: ["599006413549"]
        applications:
          - id: scada
            name: SCADA Historian
            business_unit: generation
            tier: tier-1
            rto_minutes: 60
            rpo_minutes: 15
            selector:
              tags: {App: [scada-historian, scada-dr]}
              types: [ec2, aws.rds]
        """

    @Test("parses every field and round-trips through render")
    func roundTrip() throws {
        let ownership = try OwnershipFile.parse(Self.text, file: "org.yaml")
        let unit = try #require(ownership.businessUnit("generation"))
        #expect(unit.nameZh == "發電事業部" && unit.costCenter == "CC-1100" && unit.accounts == ["599006413549"])
        let app = try #require(ownership.application("scada"))
        #expect(app.rtoMinutes == 60 && app.rpoMinutes == 15 && app.selector.types == ["aws.ec2", "aws.rds"])
        #expect(app.selector.tags == ["App": ["scada-historian", "scada-dr"]])
        let again = try OwnershipFile.parse(try OwnershipFile.render(ownership), file: "export.yaml")
        #expect(again == ownership)
    }

    @Test("errors name the file, line and field", arguments: [
        ("business_units:\n  - id: a\n", "org.yaml:2:5: business unit 'a': 'name' is required"),
        ("applications:\n  - id: x\n    name: X\n    business_unit: b\n", "org.yaml:2:5: application 'x': 'selector' is required (tags, accounts, types or regions)"),
        ("business_units:\n  - id: a\n    name: A\n    colour: red\n", "org.yaml:4:13: business unit 'a': unknown field 'colour'"),
        ("applications:\n  - id: x\n    name: X\n    business_unit: b\n    rto_minutes: soon\n    selector: {tags: {App: [x]}}\n",
         "org.yaml:5:18: application 'x': 'rto_minutes' must be a whole number of minutes"),
        ("business_units:\n  - id: a\n    name: A\napplications:\n  - id: x\n    name: X\n    business_unit: b\n    selector: {tags: {App: [x]}}\n",
         "org.yaml:5:5: application 'x': business_unit 'b' is not defined"),
        ("teams: []\n", "org.yaml:1:8: unknown top-level field 'teams' (expected business_units or applications)"),
    ])
    func errors(text: String, message: String) {
        #expect {
            _ = try OwnershipFile.parse(text, file: "org.yaml")
        } throws: { error in
            "\(error)" == message
        }
    }
}
