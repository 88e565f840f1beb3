// swift-tools-version: 6.1
import PackageDescription

/// Settings every target gets: Swift 6 mode with complete concurrency
/// checking, explicit `any`, and imports that stay inside their owner.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "dopsync",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "dopsync", targets: ["dopsync"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // libcurl, seen only by Transport.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(
            name: "DopsyncModel"
        ),
        .target(
            name: "DopsyncConfig",
            dependencies: [
                "DopsyncModel",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "DopsyncStore",
            dependencies: [
                "DopsyncModel",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "Transport",
            dependencies: [
                "CCurl",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Regions",
            dependencies: [
                "DopsyncModel",
                "DopsyncConfig",
                "Transport",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SyncEngine",
            dependencies: [
                "DopsyncModel",
                "DopsyncConfig",
                "DopsyncStore",
                "Regions",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Reporting",
            dependencies: ["DopsyncModel", "DopsyncStore"]
        ),
        .target(
            name: "Simulator",
            dependencies: [
                "DopsyncModel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "DopsyncModel",
                "DopsyncStore",
                "SyncEngine",
                "Reporting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "DopsyncCLI",
            dependencies: [
                "DopsyncModel",
                "DopsyncConfig",
                "DopsyncStore",
                "Transport",
                "Regions",
                "SyncEngine",
                "Reporting",
                "Gateway",
                "Simulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "dopsync",
            dependencies: ["DopsyncCLI"]
        ),
        .target(
            name: "DopsyncTesting",
            dependencies: [
                "DopsyncModel",
                "DopsyncConfig",
                "DopsyncStore",
                "Transport",
                "Regions",
                "SyncEngine",
                "Simulator",
                "Gateway",
                // Reads the regions' OpenAPI contracts for contract tests.
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "DopsyncModelTests", dependencies: ["DopsyncModel"]),
        .testTarget(name: "DopsyncConfigTests", dependencies: ["DopsyncConfig"]),
        .testTarget(name: "DopsyncStoreTests", dependencies: ["DopsyncStore", "DopsyncModel",
                                                            .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "TransportTests", dependencies: ["Transport", "Simulator", "DopsyncTesting"]),
        .testTarget(
            name: "RegionsTests",
            dependencies: ["Regions", "DopsyncModel", "DopsyncConfig", "DopsyncTesting"],
            resources: []
        ),
        .testTarget(
            name: "SyncEngineTests",
            dependencies: ["SyncEngine", "DopsyncStore", "Regions", "Simulator", "DopsyncTesting"]
        ),
        .testTarget(name: "ReportingTests", dependencies: ["Reporting", "DopsyncStore", "DopsyncModel"]),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["Gateway", "DopsyncStore", "DopsyncModel", "Reporting", "Transport", "DopsyncTesting", "Simulator",
                           .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(name: "DopsyncTests", dependencies: ["DopsyncCLI", "DopsyncTesting", "Simulator", "DopsyncModel", "Transport"]),
    ]
)

for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + swiftSettings
}
