internal import ArgumentParser
internal import DopsyncConfig
internal import DopsyncModel
internal import DopsyncStore
internal import Foundation
internal import Regions
internal import SyncEngine

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Pull every configured region (or the named ones), then push what the gateway has to send.",
        discussion: "Exit status: 0 when every region was pulled and pushed, 1 when any failed (the others still complete and are kept), 2 for a usage or configuration error.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Sync only this region (repeatable).")
    var region: [String] = []

    @Flag(name: .long, help: "Re-read everything instead of the changes since the last sync.")
    var full = false

    func run() async throws {
        let context = try Context.open(global)
        var selected = context.configuration.regions
        if !region.isEmpty {
            var errors: [String] = []
            for name in region where !selected.contains(where: { $0.name == name }) {
                errors.append("--region \(name): not in the configuration \(context.configuration.path) (configured: \(selected.map(\.name).joined(separator: ", ")))")
            }
            if !errors.isEmpty {
                errors.forEach(printError)
                throw ExitCode(2)
            }
            selected = selected.filter { region.contains($0.name) }
        }
        let link: LinkKey
        do {
            link = try LinkKey.loadOrCreate(path: context.configuration.keyFilePath)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        var adapters: [(settings: RegionSettings, adapter: any RegionAdapter)] = []
        for settings in selected {
            guard let type = adapterType(named: settings.name) else { continue }
            do {
                adapters.append((settings, try type.init(settings: settings)))
            } catch {
                printError("regions.\(settings.name): \(error.message)")
                throw ExitCode(2)
            }
        }
        let progress = StderrProgress(terminal: isatty(STDERR_FILENO) == 1)
        let engine = SyncEngine(store: context.store, link: link, regions: adapters, progress: progress)
        let report = await engine.run(full: full)
        var out = StdoutWriter()
        for s in report.summaries {
            let c = s.counts
            out.line("\(s.region) \(s.collection.rawValue): fetched \(c.fetched), created \(c.created), updated \(c.updated), deleted \(c.deleted), unchanged \(c.unchanged), quarantined \(c.quarantined), conflicts opened \(c.conflictsOpened)")
        }
        for name in selected.map(\.name) + ["checks"] {
            if let failure = report.failures[name] {
                out.line("\(name): FAILED: \(failure)")
            }
        }
        out.flush()
        if !report.succeeded { throw ExitCode(1) }
    }
}
