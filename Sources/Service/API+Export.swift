import Foundation
import HTTPCore
import JSON
import Storage

extension API {
    /// `GET /experiments/{id}/metrics/{key}.csv?x=`: every point of one metric as CSV, in
    /// increasing `x` (default environment steps).
    func metricCSV(_ request: HTTPRequest, id: String, key: String) throws -> HTTPResponse {
        let axis = try Self.axisQuery(request.query)
        let points = try store.points(experimentID: id, key: key, axis: axis)
        var csv = CSVText(header: MetricCSV.columns)
        for p in points { csv.row(MetricCSV.cells(p)) }
        return Self.download(csv.bytes, type: "text/csv; charset=utf-8",
                             filename: "\(id)-\(Self.fileSafe(key)).csv")
    }

    /// `GET /experiments/{id}/export?format=jsonl|zip`: the spec, status history, checkpoint
    /// list and every metric point, as JSON lines (one object per line, `type` first) or as a
    /// zip of JSON and CSV files.
    func exportExperiment(_ request: HTTPRequest, id: String) throws -> HTTPResponse {
        let format = request.query["format"].flatMap { $0.isEmpty ? nil : $0 } ?? "jsonl"
        guard format == "jsonl" || format == "zip" else {
            throw ServiceError.invalidQuery(field: "format", expected: "jsonl or zip")
        }
        let experiment = try store.experiment(id: id)
        let detail = try experimentJSON(experiment, detailed: true)
        let history = try store.statusHistory(id: id)
        let checkpoints = try store.checkpoints(experimentID: id)
        let points = try store.allPoints(experimentID: id)
        if format == "jsonl" {
            var out: [UInt8] = []
            func line(_ type: String, _ value: JSONValue) {
                guard case .object(var o) = value else { return }
                o["type"] = .string(type)
                out += JSONBody.encode(.object(o))
                out.append(UInt8(ascii: "\n"))
            }
            line("experiment", detail)
            for change in history { line("status_change", Self.statusChangeJSON(change)) }
            for checkpoint in checkpoints { line("checkpoint", Self.checkpointJSON(checkpoint)) }
            for p in points {
                line("metric", .object([
                    "key": .string(p.key), "env_steps": JSONBody.int(p.environmentSteps), "grad_steps": JSONBody.int(p.gradientSteps),
                    "epoch": JSONBody.int(p.epoch), "wall_time": JSONBody.number(p.wallTime), "value": JSONBody.number(p.value),
                ]))
            }
            return Self.download(out, type: "application/x-ndjson", filename: "\(id).jsonl")
        }
        var zip = ZipArchive()
        zip.add("\(id)/experiment.json", JSONBody.encode(detail))
        zip.add("\(id)/spec.json", Array(experiment.spec.utf8))
        var historyCSV = CSVText(header: ["at", "from", "to", "reason"])
        for c in history {
            historyCSV.row([JSONBody.timestamp(c.at), c.from?.rawValue ?? "", c.to.rawValue, c.reason])
        }
        zip.add("\(id)/status_history.csv", historyCSV.bytes)
        var checkpointCSV = CSVText(header: ["id", "epoch", "env_steps", "grad_steps", "eval_return", "size_bytes", "created_at", "url"])
        for c in checkpoints {
            checkpointCSV.row([c.id, String(c.epoch), String(c.environmentSteps), String(c.gradientSteps),
                               c.evalReturn.map(MetricCSV.number) ?? "", String(c.sizeBytes), JSONBody.timestamp(c.createdAt),
                               "/checkpoints/\(c.id)"])
        }
        zip.add("\(id)/checkpoints.csv", checkpointCSV.bytes)
        var all = CSVText(header: ["key"] + MetricCSV.columns)
        var perKey: [(key: String, csv: CSVText)] = []
        for p in points {
            all.row([p.key] + MetricCSV.cells(p))
            if perKey.last?.key != p.key { perKey.append((p.key, CSVText(header: MetricCSV.columns))) }
            perKey[perKey.count - 1].csv.row(MetricCSV.cells(p))
        }
        zip.add("\(id)/metrics.csv", all.bytes)
        for (key, csv) in perKey { zip.add("\(id)/metrics/\(Self.fileSafe(key)).csv", csv.bytes) }
        return Self.download(zip.bytes, type: "application/zip", filename: "\(id).zip")
    }

    /// A response that browsers save as `filename`.
    static func download(_ bytes: [UInt8], type: String, filename: String) -> HTTPResponse {
        var response = HTTPResponse(status: .ok, body: .bytes(bytes))
        response.headers.set("Content-Type", type)
        response.headers.set("Content-Disposition", "attachment; filename=\"\(filename)\"")
        return response
    }

    /// A metric key as a relative file path: `/` keeps its folders, other unsafe characters become `_`.
    static func fileSafe(_ key: String) -> String {
        let parts = key.split(separator: "/").map { part in
            String(part.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
        }.filter { !$0.isEmpty && $0 != "." && $0 != ".." }
        return parts.isEmpty ? "metric" : parts.joined(separator: "/")
    }
}

/// The columns of a metric's CSV and how a point fills them (numbers round-trip exactly).
enum MetricCSV {
    static let columns = ["env_steps", "grad_steps", "epoch", "wall_time", "value"]

    static func cells(_ p: MetricPointRecord) -> [String] {
        [String(p.environmentSteps), String(p.gradientSteps), String(p.epoch), number(p.wallTime), number(p.value)]
    }

    /// The shortest text that parses back to the same double; `NaN` for NaN.
    static func number(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "inf" : "-inf" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return "\(x)"
    }
}

/// RFC 4180 CSV text: CRLF line ends, fields quoted when they hold a comma, quote or line break.
struct CSVText {
    private(set) var bytes: [UInt8] = []

    init(header: [String]) { row(header) }

    mutating func row(_ fields: [String]) {
        for (i, field) in fields.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                bytes += Array(("\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"").utf8)
            } else {
                bytes += Array(field.utf8)
            }
        }
        bytes += [13, 10]
    }
}

/// A zip archive of stored (uncompressed) files, written in memory.
struct ZipArchive {
    private var body: [UInt8] = []
    private var directory: [UInt8] = []
    private var count = 0
    private let time: UInt16
    private let date: UInt16

    init(now: Date = Date()) {
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: now)
        time = UInt16((c.hour ?? 0) << 11 | (c.minute ?? 0) << 5 | (c.second ?? 0) / 2)
        date = UInt16(max((c.year ?? 1980) - 1980, 0) << 9 | (c.month ?? 1) << 5 | (c.day ?? 1))
    }

    mutating func add(_ name: String, _ data: [UInt8]) {
        let nameBytes = Array(name.utf8)
        let crc = CRC32.checksum(data)
        let offset = UInt32(body.count)
        // Local file header.
        Self.put32(&body, 0x0403_4b50)
        Self.put16(&body, 20); Self.put16(&body, 0x0800)  // version 2.0; names are UTF-8
        Self.put16(&body, 0); Self.put16(&body, time); Self.put16(&body, date)  // stored
        Self.put32(&body, crc); Self.put32(&body, UInt32(data.count)); Self.put32(&body, UInt32(data.count))
        Self.put16(&body, UInt16(nameBytes.count)); Self.put16(&body, 0)
        body += nameBytes
        body += data
        // Its central directory entry.
        Self.put32(&directory, 0x0201_4b50)
        Self.put16(&directory, 20); Self.put16(&directory, 20); Self.put16(&directory, 0x0800)
        Self.put16(&directory, 0); Self.put16(&directory, time); Self.put16(&directory, date)
        Self.put32(&directory, crc); Self.put32(&directory, UInt32(data.count)); Self.put32(&directory, UInt32(data.count))
        Self.put16(&directory, UInt16(nameBytes.count)); Self.put16(&directory, 0); Self.put16(&directory, 0)
        Self.put16(&directory, 0); Self.put16(&directory, 0); Self.put32(&directory, 0o100644 << 16)
        Self.put32(&directory, offset)
        directory += nameBytes
        count += 1
    }

    /// The archive: the files, the central directory and its end record.
    var bytes: [UInt8] {
        var out = body + directory
        Self.put32(&out, 0x0605_4b50)
        Self.put16(&out, 0); Self.put16(&out, 0)
        Self.put16(&out, UInt16(count)); Self.put16(&out, UInt16(count))
        Self.put32(&out, UInt32(directory.count)); Self.put32(&out, UInt32(body.count))
        Self.put16(&out, 0)
        return out
    }

    private static func put16(_ out: inout [UInt8], _ v: UInt16) { out += [UInt8(v & 0xff), UInt8(v >> 8)] }
    private static func put32(_ out: inout [UInt8], _ v: UInt32) {
        out += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8(v >> 24)]
    }
}

/// CRC-32 (IEEE 802.3, as zip uses).
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xedb8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xffff_ffff
        for byte in data { c = table[Int((c ^ UInt32(byte)) & 0xff)] ^ (c >> 8) }
        return c ^ 0xffff_ffff
    }
}
