public import ArgumentParser
internal import DopsyncModel
public import DopsyncStore

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Bearer tokens of the HTTP API: only their SHA-256 is kept.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a token and print it once: it cannot be shown again.")
        @OptionGroup var global: GlobalOptions
        @Option(name: .long, help: "federal (reports and the catalogue), operator (conflicts, quarantine, status) or admin (everything).")
        var role: APIRole
        @Option(name: .long, help: "A name for the token, unique among live tokens (letters, digits, '.', '_', '-').")
        var name: String

        func validate() throws {
            if let problem = APIToken.problem(withName: name) { throw ValidationError("--name \(name): \(problem)") }
        }

        func run() throws {
            let context = try Context.open(global)
            guard let issued = try context.store.createToken(name: name, role: role, by: "cli") else {
                printError("token \(name) already exists; revoke it first or choose another name")
                throw ExitCode(1)
            }
            print(issued.token)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every token: name, role, created, revoked. Never the token.")
        @OptionGroup var global: GlobalOptions
        @Flag(name: .long, help: #"One JSON object a line: {"name","role","created_at","revoked_at"}."#)
        var json = false

        func run() throws {
            let context = try Context.open(global)
            var out = StdoutWriter()
            for t in try context.store.tokens() {
                out.line(json ? t.json.serialized() : "\(t.name)\t\(t.role.rawValue)\t\(t.createdAt)\t\(t.revokedAt.map { "revoked \($0)" } ?? "live")")
            }
            out.flush()
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke the live token of that name, at once.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The token's name.")
        var name: String

        func run() throws {
            let context = try Context.open(global)
            guard try context.store.revokeToken(name: name, by: "cli") else {
                printError("no live token is called \(name)")
                throw ExitCode(1)
            }
            print("revoked \(name)")
        }
    }
}

extension APIRole: ExpressibleByArgument {}
