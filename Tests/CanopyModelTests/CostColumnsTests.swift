import CanopyModel
import Testing

/// A row's untyped columns behave as the dictionary they stand for, whether their names are
/// shared with other rows or their own.
@Suite struct CostColumnsTests {
    @Test func sharedNamesReadAndCompareLikeADictionary() {
        let names = CostColumns.Names(["PricingUnit", "x_Team", "ResourceName"])
        let row = CostColumns(names: names, values: ["Hours", nil, "web-1"])
        #expect(row["PricingUnit"] == "Hours" && row["x_Team"] == nil && row["Missing"] == nil)
        #expect(row.keys == ["PricingUnit", "ResourceName"] && row.count == 2 && !row.isEmpty)
        #expect(row.dictionary == ["PricingUnit": "Hours", "ResourceName": "web-1"])
        // The same values under names of another order (or their own) are the same columns.
        let own: CostColumns = ["ResourceName": "web-1", "PricingUnit": "Hours"]
        #expect(row == own && row.hashValue == own.hashValue)
        #expect(row != CostColumns(names: names, values: ["Hours", "grid", "web-1"]))
        #expect(CostColumns(names: names, values: [nil, nil, nil]) == CostColumns() && CostColumns().isEmpty)
        #expect(Array(row.map(\.name)) == ["PricingUnit", "ResourceName"])
    }

    @Test func settingANewNameLeavesTheSharedNamesAlone() {
        let names = CostColumns.Names(["PricingUnit"])
        let first = CostColumns(names: names, values: ["Hours"])
        var second = first
        second["x_Late"] = "yes"
        second["PricingUnit"] = nil
        #expect(first.dictionary == ["PricingUnit": "Hours"] && names.names == ["PricingUnit"])
        #expect(second.dictionary == ["x_Late": "yes"])
        second["Absent"] = nil
        #expect(second.keys == ["x_Late"])
    }
}
