import CanopyLake
import CanopyModel
import CanopyServer
import CanopyStore
import CanopyTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// The activity lake through the API and console: who may read it, scoped to their accounts,
/// filters named when wrong, and the integrity check.
@Suite struct LakeAPITests {
    @Test func lakeEventsAreScopedFilteredAndVerified() async throws {
        let fixture = try await Fixture.make()
        let store = fixture.dependencies.store
        let generation = try #require(try await store.accounts().first { $0.organizationalUnit == "Generation" }?.id)
        // Two events in the generation account, one elsewhere.
        func record(_ id: String, _ account: String, _ name: String) -> String {
            #"{"eventID":"\#(id)","eventTime":"2026-11-01T10:00:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"\#(name)","recipientAccountId":"\#(account)","sourceIPAddress":"198.51.100.7","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::\#(account):user/ops"}}"#
        }
        let text = "{\"Records\": [\(record("e1", generation, "StopLogging")), \(record("e2", generation, "ConsoleLogin")), \(record("e3", "508722232647", "StopLogging"))]}"
        let read = try CloudTrailReader.parse(Data(text.utf8), file: "t.json")
        let signer = try await LakeSigner.load(store: store, box: .ephemeral())
        _ = try await store.appendLakeEvents(read.events, source: "t.json", actor: "test") { try signer.sign($0) }
        try await buildApplication(fixture.dependencies).test(.router) { client in
            func get(_ uri: String, _ role: Role) async throws -> (HTTPResponse.Status, String) {
                let response = try await client.execute(uri: uri, method: .get, headers: fixture.bearer(role))
                return (response.status, response.text)
            }
            let all = try JSONValue.parse(Data(try await get("/api/v1/lake/events?q=\(encode("eventName=StopLogging"))", .auditor).1.utf8))
            #expect(all.arrayValue?.compactMap { $0["eventID"]?.stringValue }.sorted() == ["e1", "e3"])
            let owner = try JSONValue.parse(Data(try await get("/api/v1/lake/events", .buOwner).1.utf8))
            #expect(owner.arrayValue?.compactMap { $0["eventID"]?.stringValue }.sorted() == ["e1", "e2"], "a bu-owner sees their accounts' events only")
            #expect(try await get("/api/v1/lake/events", .viewer).0 == .forbidden)
            // As a GET form sends it: spaces as '+'.
            let form = try JSONValue.parse(Data(try await get("/api/v1/lake/events?q=eventName%3DStopLogging+and+account%3D\(generation)", .ccoe).1.utf8))
            #expect(form.arrayValue?.compactMap { $0["eventID"]?.stringValue } == ["e1"])
            let bad = try await get("/api/v1/lake/events?q=\(encode("colour=blue"))", .ccoe)
            #expect(bad.0 == .badRequest && bad.1.contains("\"field\":\"q\""))
            let csv = try await get("/api/v1/lake/events?format=csv", .ccoe)
            #expect(csv.0 == .ok && csv.1.hasPrefix(LakeExport.header))
            let verified = try JSONValue.parse(Data(try await get("/api/v1/lake/verify", .auditor).1.utf8))
            #expect(verified["intact"] == true && verified["events"] == 3 && verified["digests"] == 1)
            #expect(try await get("/api/v1/lake/verify", .buOwner).0 == .forbidden)
            let session = try #require(try await signIn(client, name: "user-auditor", password: fixture.passwords["user-auditor"]!))
            for (language, heading) in [("en", "Activity lake"), ("zh-TW", "活動紀錄庫")] {
                let page = try await client.execute(uri: "/lake?q=\(encode("eventName=StopLogging"))&lang=\(language)", method: .get, headers: [.cookie: "canopy_session=\(session)"])
                #expect(page.status == .ok && page.text.contains(heading) && page.text.contains("198.51.100.7"))
            }
        }
    }
}
