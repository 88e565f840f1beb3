// The benchmark of scripts/bench-decode: CPU time per record of the model's
// part of the decode path, best of five rounds. Its argument is a directory of
// <collection>.raw (wire records, one a line) and <collection>.norm (their
// normalized JSON) files; the second, optional, one collection.
import DopsyncModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func lines(_ path: String) -> [String] {
    guard let f = fopen(path, "r") else { fatalError(path) }
    defer { fclose(f) }
    var out: [String] = []
    var line: UnsafeMutablePointer<CChar>? = nil
    var cap = 0
    while getline(&line, &cap, f) > 0 {
        var s = String(cString: line!)
        if s.hasSuffix("\n") { s.removeLast() }
        out.append(s)
    }
    return out
}

/// Runs `body` (which handles `count` records) `reps` times, five rounds;
/// prints the best round's CPU time per record. What `body` returns is summed
/// and printed so that the work cannot be optimized away.
func bench(_ name: String, count: Int, reps: Int, _ body: () -> Int) {
    var best = Double.infinity
    var sink = 0
    for _ in 0..<5 {
        let t0 = now()
        for _ in 0..<reps { sink &+= body() }
        best = min(best, (now() - t0) / Double(reps * count) * 1e9)
    }
    let pad = String(repeating: " ", count: max(0, 40 - name.count))
    print("\(name)\(pad)\(String(Int(best.rounded()))) ns each   (\(sink % 7))")
}

let dir = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "."
let only = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : ""
for c in CollectionName.allCases where only.isEmpty || only == c.rawValue {
    let raws = lines("\(dir)/\(c.rawValue).raw")
    let norms = lines("\(dir)/\(c.rawValue).norm")
    let page = Array(("{\"data\":[" + raws.joined(separator: ",") + "],\"meta\":{\"next_cursor\":\"abc\",\"total\":1000}}").utf8)
    bench("\(c.rawValue) parsePage", count: raws.count, reps: 20) {
        (try? JSONParser.parsePage(page, arrayKey: "data"))?.items.count ?? 0
    }
    let records = norms.map { try! Record(json: try! JSONParser.parse($0), collection: c) }
    bench("\(c.rawValue) record.json", count: records.count, reps: 20) {
        var n = 0
        for r in records { if case .object(let m) = r.json { n &+= m.count } }
        return n
    }
    let jsons = records.map(\.json)
    bench("\(c.rawValue) serialized()", count: jsons.count, reps: 20) {
        var n = 0
        for j in jsons { n &+= j.serialized().utf8.count }
        return n
    }
}
if only.isEmpty {
    let times = (0..<1000).map { Timestamp(seconds: 1_780_000_000 + Int64($0) * 7919) }
    bench("Timestamp.iso(+06:00)", count: times.count, reps: 50) {
        var n = 0
        for t in times { n &+= t.iso(offsetSeconds: 21600).utf8.count }
        return n
    }
    let texts = times.map { $0.iso(offsetSeconds: 21600) }
    bench("Timestamp(iso:)", count: texts.count, reps: 50) {
        var n = 0
        for t in texts { n &+= Int((try? Timestamp(iso: t))?.seconds ?? 0) }
        return n
    }
    let names = ["Петров-Водкин", "Александр", " Иван  Иванович ", "Smith", "Мамедов Али Гасан оглы"]
    bench("normalizeName(trimmed(name))", count: names.count, reps: 100_000) {
        var n = 0
        for s in names { n &+= normalizeName(trimmed(s)).utf8.count }
        return n
    }
}
