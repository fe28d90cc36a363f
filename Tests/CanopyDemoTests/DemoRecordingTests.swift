import CanopyDemo
import CanopyModel
import CanopyStore
import Foundation
import Testing

@Suite struct DemoRecordingTests {
    @Test func bundledDemoLoadsTheFourAccountEstateWithItsHistory() async throws {
        let store = try SQLiteStore()
        try await DemoRecording.bundled().load(into: store)
        let accounts = try await store.accounts()
        #expect(accounts.count == 4)
        #expect(Set(accounts.compactMap(\.organizationalUnit)) == ["Generation", "Grid-Operations", "Corporate"])
        let counts = try await store.countsByType()
        #expect(counts["aws.ec2"] == 50)
        #expect(counts["aws.account"] == 4)
        let scans = try await store.scans(limit: 10)
        #expect(scans.count == 2)
        #expect(scans.allSatisfy { $0.status == .complete })
        let diff = try await store.diff(from: scans[1].id, to: scans[0].id)
        #expect(diff.contains { $0.kind == .added && $0.name == "vendor-remote-access" })
        #expect(diff.contains { $0.kind == .removed && $0.type == "aws.elastic-ip" })
        #expect(diff.contains { change in
            change.kind == .modified && change.differences.contains { $0.path == "State.Name" && $0.after == "stopped" }
        })
        // Replaying recorded changes through the store reproduces them as the scan's own change records.
        #expect(try await store.changes(scanID: scans[0].id).count == diff.count)
        let instance = try #require(await store.resources(ResourceQuery(types: ["aws.ec2"], limit: 1)).first)
        #expect(try await store.series(resourceUID: instance.uid, metric: "AWS/EC2:CPUUtilization:Average") != nil)
    }

    @Test func recordingARoundTripPreservesTheInventory() async throws {
        let original = try SQLiteStore()
        try await DemoRecording.bundled().load(into: original)
        let rerecorded = try await DemoRecording.record(from: original, description: "round trip")
        let copy = try SQLiteStore()
        try await rerecorded.load(into: copy)
        let before = try await original.resources(ResourceQuery())
        let after = try await copy.resources(ResourceQuery())
        #expect(before == after)
    }
}
