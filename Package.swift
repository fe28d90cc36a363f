// swift-tools-version: 6.1
import PackageDescription

/// One set of compiler settings for every target: Swift 6 language mode is the package default;
/// `ExistentialAny` keeps existential costs visible.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Canopy",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "canopy", targets: ["canopy"]),
        .library(name: "CanopyModel", targets: ["CanopyModel"]),
        .library(name: "CanopyStore", targets: ["CanopyStore"]),
        .library(name: "CanopyAWS", targets: ["CanopyAWS"]),
        .library(name: "CanopyInventory", targets: ["CanopyInventory"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .target(name: "CanopyModel", swiftSettings: swiftSettings),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(
            name: "CanopyIngest", dependencies: ["CanopyModel", "CZlib", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: swiftSettings),
        .target(name: "CanopyFinOps", dependencies: ["CanopyModel", "CanopyStore"], swiftSettings: swiftSettings),
        .target(
            name: "CanopyLake",
            dependencies: [
                "CanopyModel", "CanopyStore", "CanopyIngest", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings),
        .target(
            name: "CanopySecurity",
            dependencies: [
                "CanopyModel", "CanopyStore", "CanopyLake", "CanopyIngest", "CanopyAWS", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Resources/rules")],
            swiftSettings: swiftSettings),
        .target(
            name: "CanopyHost",
            dependencies: [
                "CanopyModel", "CanopyStore", "CanopyIngest", "CanopyAWS", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            resources: [.copy("Resources/os-lifecycle.csv")],
            swiftSettings: swiftSettings),
        .target(
            name: "CanopyCarbon", dependencies: ["CanopyModel", "CanopyStore", "CanopyFinOps", "CanopyIngest"],
            resources: [.copy("Resources/aws-instances.csv"), .copy("Resources/microarchitectures.csv"), .copy("Resources/grid-factors-aws.csv"), .copy("Resources/CCF-LICENSE")],
            swiftSettings: swiftSettings),
        .target(
            name: "CanopyStore",
            dependencies: [
                "CanopyModel", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyAWS",
            dependencies: [
                "CanopyModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources/shapes")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyPolicy",
            dependencies: [
                "CanopyModel", .product(name: "Yams", package: "Yams"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Resources/packs"), .copy("Resources/frameworks"), .copy("Resources/pack-tests")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyCompliance",
            dependencies: ["CanopyModel", "CanopyStore", "CanopyPolicy"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyRemediation",
            dependencies: ["CanopyModel", "CanopyPolicy", "CanopyStore", "CanopyAWS", "CanopyCompliance"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyServer",
            dependencies: [
                "CanopyModel", "CanopyStore", "CanopyPolicy", "CanopyCompliance", "CanopyRemediation", "CanopyFinOps", "CanopyCarbon", "CanopyLake", "CanopySecurity", "CanopyHost",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [
                .copy("Resources/strings.json"), .copy("Resources/canopy.css"), .copy("Resources/openapi.yaml"),
                .copy("Resources/favicon.svg"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyInventory",
            dependencies: [
                "CanopyModel", "CanopyStore", "CanopyAWS", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyDemo",
            dependencies: ["CanopyModel", "CanopyStore", "CanopyPolicy", "CanopyCompliance", "CanopyFinOps", "CanopyCarbon", "CanopyLake", "CanopySecurity", "CanopyHost"],
            resources: [.copy("Resources/demo-estate.json"), .copy("Resources/demo-ownership.yaml"), .copy("Resources/demo-allocation.yaml"), .copy("Resources/security"), .copy("Resources/hosts")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "canopy",
            dependencies: [
                "CanopyModel", "CanopyStore", "CanopyAWS", "CanopyInventory", "CanopyPolicy", "CanopyCompliance", "CanopyRemediation",
                "CanopyDemo", "CanopyServer", "CanopyIngest", "CanopyFinOps", "CanopyCarbon", "CanopyLake", "CanopySecurity", "CanopyHost", .product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"), .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CanopyTestSupport",
            dependencies: ["CanopyModel", "CanopyStore", "CanopyAWS"],
            path: "Tests/CanopyTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanopyDemoTests", dependencies: ["CanopyDemo", "CanopyStore", "CanopyCompliance", "CanopyHost"], swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanopyServerTests",
            dependencies: [
                "CanopyServer", "CanopyStore", "CanopyDemo", "CanopyCompliance", "CanopyPolicy", "CanopyRemediation", "CanopyTestSupport", "CanopyLake", "CanopySecurity",
                "CanopyHost", "CanopyAWS", .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanopyFinOpsTests",
            dependencies: ["CanopyFinOps", "CanopyStore", "CanopyModel", "CanopyDemo", "CanopyPolicy", "CanopyIngest", "CanopyRemediation", "CanopyTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanopyIngestTests",
            dependencies: ["CanopyIngest", "CanopyStore", "CanopyModel", "CanopyTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanopyComplianceTests",
            dependencies: ["CanopyCompliance", "CanopyPolicy", "CanopyStore", "CanopyDemo"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanopyPolicyTests", dependencies: ["CanopyPolicy", "CanopyStore", "CanopyDemo", "CanopyTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "CanopyModelTests", dependencies: ["CanopyModel"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CanopyLakeTests",
            dependencies: ["CanopyLake", "CanopyStore", "CanopyModel", "CanopyTestSupport", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CanopyHostTests",
            dependencies: [
                "CanopyHost", "CanopyModel", "CanopyStore", "CanopyPolicy", "CanopyCompliance", "CanopyTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // Host file trees read by path as a collector root, not bundled.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CanopySecurityTests",
            dependencies: [
                "CanopySecurity", "CanopyLake", "CanopyStore", "CanopyModel", "CanopyTestSupport", "CanopyDemo", "CanopyCompliance",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Crypto", package: "swift-crypto"),
            ],
            // Read by path (the OCSF schema is handed to Scripts/ocsf-validate.py), not bundled.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CanopyCarbonTests", dependencies: ["CanopyCarbon", "CanopyFinOps", "CanopyStore", "CanopyModel", "CanopyDemo", "CanopyTestSupport", "CanopyIngest"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "CanopyStoreTests",
            dependencies: ["CanopyStore", "CanopyTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CanopyAWSTests",
            dependencies: [
                "CanopyAWS", "CanopyStore", "CanopyInventory", "CanopyPolicy", "CanopyCompliance", "CanopyRemediation",
                "CanopyTestSupport", "CanopyIngest", "CanopyFinOps", "CanopyLake", "CanopySecurity", "CanopyDemo",
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
    ]
)
