import CanopyModel
import Foundation
import Testing

@Suite("Ownership")
struct OwnershipTests {
    let generation = Account(id: "111111111111", name: "gen", organizationalUnit: "Generation")
    let shared = Account(id: "222222222222", name: "shared", organizationalUnit: "Platform")
    let loose = Account(id: "333333333333", name: "loose")

    func resource(_ account: String, tags: [String: String], type: String = "aws.ec2") -> Resource {
        Resource(uid: "r-\(account)-\(tags.description)", provider: .aws, account: account, region: "us-east-1", type: type, name: "r", tags: tags, properties: .object([:]), observedAt: Date())
    }

    @Test("until anything is defined, organizational units are units and App tags are applications")
    func implicit() {
        let ownership = Ownership()
        #expect(ownership.businessUnitID(of: generation) == "Generation")
        #expect(ownership.businessUnitID(of: loose) == nil)
        #expect(ownership.applicationID(of: resource(generation.id, tags: ["App": "scada"])) == "scada")
        #expect(ownership.effectiveBusinessUnits(accounts: [generation, shared, loose]).map(\.id) == ["Generation", "Platform"])
    }

    @Test("accounts listed outright win over organizational units; applications carry their unit across accounts")
    func defined() {
        let ownership = Ownership(
            businessUnits: [
                BusinessUnit(id: "gen", name: "Generation", organizationalUnits: ["Generation", "Platform"]),
                BusinessUnit(id: "sec", name: "Security", accounts: ["222222222222"]),
            ],
            applications: [
                Application(id: "siem", name: "SIEM", businessUnit: "sec", selector: ResourceSelector(tags: ["app": ["siem", "siem-dr"]])),
                Application(id: "gen-all", name: "Everything in gen", businessUnit: "gen", selector: ResourceSelector(accounts: ["111111111111"])),
            ])
        #expect(ownership.problems().isEmpty)
        #expect(ownership.businessUnitID(of: shared) == "sec")
        #expect(ownership.businessUnitID(of: generation) == "gen")
        #expect(ownership.businessUnitID(of: loose) == nil)
        // Tag keys compare without case or separators; the first matching application wins.
        let siem = resource(generation.id, tags: ["APP": "siem-dr"])
        #expect(ownership.applicationID(of: siem) == "siem")
        #expect(ownership.businessUnitID(of: siem, account: generation) == "sec")
        #expect(ownership.applicationID(of: resource(generation.id, tags: ["App": "other"])) == "gen-all")
        // With applications defined, an App tag no application claims is unassigned.
        #expect(ownership.applicationID(of: resource(loose.id, tags: ["App": "other"])) == nil)
        #expect(ownership.accounts(ofBusinessUnit: "gen", among: [generation, shared, loose]) == ["111111111111"])
        #expect(ResourceSelector.normalised("Cost-Center") == ResourceSelector.normalised("costcenter"))
    }

    @Test("problems name the object and field")
    func problems() {
        let ownership = Ownership(
            businessUnits: [BusinessUnit(id: "a b", name: ""), BusinessUnit(id: "x", name: "X", accounts: ["1"]), BusinessUnit(id: "y", name: "Y", accounts: ["1"])],
            applications: [Application(id: "app", name: "App", businessUnit: "nope", rtoMinutes: -1, selector: ResourceSelector())])
        let problems = ownership.problems()
        #expect(problems.contains("business unit 'a b': id must be 1-64 letters, digits, '-' or '_'"))
        #expect(problems.contains("business unit 'a b': name is empty"))
        #expect(problems.contains("business unit 'y': account 1 is already owned by 'x'"))
        #expect(problems.contains("application 'app': business_unit 'nope' is not defined"))
        #expect(problems.contains("application 'app': selector is empty, so it would own nothing"))
        #expect(problems.contains("application 'app': rto_minutes is negative"))
    }
}

/// The ledger calendar's arithmetic against Foundation's calendar.
@Suite struct CostCalendarTests {
    @Test func daysAndMonthsMatchTheGregorianCalendar() {
        var random = SystemRandomNumberGenerator()
        let instants = [-86_400.0 * 365 * 300, -1, 0, 951_782_400, 4_107_542_399, 1_709_164_800] + (0..<2_000).map { _ in
            Double.random(in: -6_000_000_000...8_000_000_000, using: &random)
        }
        for instant in instants {
            let date = Date(timeIntervalSince1970: instant)
            let c = CostCalendar.utc.dateComponents([.year, .month, .day], from: date)
            let expected = String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
            #expect(CostCalendar.day(date) == expected, "\(instant)")
            #expect(CostCalendar.month(date) == String(expected.prefix(7)), "\(instant)")
        }
    }
}

/// The ledger's decimal reader against Foundation's, digit for digit.
@Suite struct DecimalTextTests {
    @Test func exactTextAgreesWithFoundation() {
        var random = SystemRandomNumberGenerator()
        var samples = ["0", "-0", "0.00", "007", "1e5", "1E+5", "8.940000000000001e-9", "-12.5", "123456789012345678901234567.123", "0.0000000001",
            "99999999999999999999", "1.5e-120", ".5", "5.", "+3.25", "-0.000"]
        for _ in 0..<3_000 {
            let digits = Int.random(in: 1...24, using: &random)
            var text = Bool.random(using: &random) ? "-" : ""
            text += String((0..<digits).map { _ in Character(String(Int.random(in: 0...9, using: &random))) })
            if Bool.random(using: &random) { text.insert(".", at: text.index(text.startIndex, offsetBy: Int.random(in: text.hasPrefix("-") ? 1...text.count : 0...text.count, using: &random))) }
            if Int.random(in: 0..<5, using: &random) == 0 { text += "e\(Int.random(in: -20...20, using: &random))" }
            samples.append(text)
        }
        for text in samples {
            let foundation = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
            #expect(Decimal(exactText: text) == foundation, "\(text)")
        }
        for bad in ["", "-", ".", "1e", "e5", "1,5", "1.2.3", "12a", " 1", "1e--5", "NaN", "--1"] {
            #expect(Decimal(exactText: bad) == nil, "\(bad)")
        }
    }

    /// Decimal text written directly reads back to the same number, and agrees with Foundation's.
    @Test func exactTextWritesTheNumber() {
        var random = SystemRandomNumberGenerator()
        var cases: [Decimal] = [0, 1, -1, Decimal(string: "0.00000000894")!, Decimal(string: "1E-7")!, Decimal(string: "12345678901234567890.5")!]
        for _ in 0..<5_000 {
            let mantissa = Decimal(UInt64.random(in: 0...UInt64.max, using: &random) >> UInt64.random(in: 0..<64, using: &random))
            cases.append(Decimal(sign: Bool.random(using: &random) ? .plus : .minus, exponent: Int.random(in: -30...30, using: &random), significand: mantissa))
        }
        for value in cases {
            let text = value.exactText
            #expect(Decimal(exactText: text) == value, "\(value) wrote \(text)")
            #expect(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) == Decimal(string: NSDecimalNumber(decimal: value).stringValue, locale: Locale(identifier: "en_US_POSIX")))
        }
    }

    /// Sums kept as integers where they can be agree with Foundation's decimal sum to the last
    /// digit: amounts of up to 18 places, others with more places or above a unit (kept apart),
    /// and totals that overflow 128 bits. (Every total here fits Decimal's 38 digits, so
    /// Foundation's own sum is exact too.)
    @Test func exactSumsAgreeWithDecimalArithmetic() {
        var random = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var values: [Decimal] = (0..<2_000).map { _ in
                Decimal(
                    sign: Bool.random(using: &random) ? .plus : .minus, exponent: Int.random(in: -18...0, using: &random),
                    significand: Decimal(UInt64.random(in: 0..<1_000_000_000_000, using: &random)))
            }
            values += (0..<50).map { _ in
                Decimal(sign: .plus, exponent: Int.random(in: -20 ... -19, using: &random), significand: Decimal(UInt64.random(in: 0..<1_000_000, using: &random)))
            }
            values += (0..<20).map { _ in Decimal(sign: .minus, exponent: Int.random(in: 1...2, using: &random), significand: Decimal(UInt64.random(in: 0..<1_000_000, using: &random))) }
            values.shuffle(using: &random)
            var sum = ExactSum()
            for value in values { sum.add(value) }
            #expect(sum.value == values.reduce(0, +), "round \(round)")
            // Sums of sums, as slices fold into days.
            var halves = (ExactSum(), ExactSum())
            for (index, value) in values.enumerated() { index % 2 == 0 ? halves.0.add(value) : halves.1.add(value) }
            halves.0.add(halves.1)
            #expect(halves.0.value == sum.value)
        }
        // Ten amounts of 1.8 × 10¹⁹ overflow 128 bits counted in units of 10⁻¹⁸.
        var large = ExactSum()
        let amount = Decimal(UInt64.max - 7)
        for _ in 0..<10 { large.add(amount) }
        #expect(large.value == amount * 10)
    }
}
