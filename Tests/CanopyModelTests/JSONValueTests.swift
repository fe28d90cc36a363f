import CanopyModel
import Foundation
import Testing

@Suite struct JSONValueTests {
    @Test func integersStayIntegersThroughARoundTrip() throws {
        let value = try JSONValue.parse(#"{"Size": 8, "Ratio": 0.5, "On": true, "Name": "x", "None": null, "L": [1, "a"]}"#)
        #expect(value["Size"] == .int(8))
        #expect(value["Ratio"] == .double(0.5))
        #expect(value["On"] == .bool(true))
        #expect(value["None"] == .null)
        #expect(try JSONValue.parse(value.canonicalJSON()) == value)
    }

    @Test func canonicalJSONSortsKeys() {
        let value: JSONValue = ["b": 1, "a": ["d": 2, "c": 3]]
        #expect(value.canonicalJSON() == #"{"a":{"c":3,"d":2},"b":1}"#)
    }

    @Test func dottedPathsFollowObjects() {
        let value: JSONValue = ["State": ["Name": "running"]]
        #expect(value.value(atPath: "State.Name") == "running")
        #expect(value.value(atPath: "State.Missing") == nil)
    }

    @Test func tagListsBecomeDictionaries() {
        let tags: JSONValue = [["Key": "Env", "Value": "prod"], ["Key": "Owner", "Value": "ops"]]
        #expect(tagDictionary(tags) == ["Env": "prod", "Owner": "ops"])
    }
}
