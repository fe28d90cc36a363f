import CanopyModel
import Foundation

/// Renders rows as an aligned table, CSV (RFC 4180 quoting) or JSON, for every listing command.
struct Table {
    var columns: [String]
    var rows: [[String]]

    func render(_ format: OutputFormat, json: () throws -> Data) throws -> String {
        switch format {
        case .json:
            return String(decoding: try json(), as: UTF8.self)
        case .csv:
            return ([columns] + rows).map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\n")
        case .table:
            var widths = columns.map(\.count)
            for row in rows {
                for (index, cell) in row.enumerated() where index < widths.count {
                    widths[index] = max(widths[index], min(cell.count, 60))
                }
            }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { index, cell in
                    let clipped = cell.count > 60 ? String(cell.prefix(59)) + "…" : cell
                    return index == cells.count - 1 ? clipped : clipped.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
            }
            return ([line(columns), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
                .joined(separator: "\n")
        }
    }

    static func csvField(_ text: String) -> String { CSVText.field(text) }
}

enum JSONOutput {
    static func encode(_ value: some Encodable) throws -> Data {
        try CanopyJSON.encoder(pretty: true).encode(value)
    }
}

func printOut(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func printErr(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

extension Date {
    var shortTimestamp: String {
        formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon))
    }
}


