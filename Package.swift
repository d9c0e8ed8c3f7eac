// swift-tools-version:6.0
import PackageDescription

/// Release builds skip Swift's run-time exclusivity checks in the simulation
/// hot path: profiling the 1M-request benchmark showed them taking over half
/// the time (every access to a request's or instance's stored properties).
/// The workloads, drawn ahead for each run, skip them too: two checks per
/// request, each a call into the runtime. Debug builds, and so the tests, keep
/// them.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "ServingClusterSim",
    products: [
        .executable(name: "simrun", targets: ["simrun"]),
        .library(name: "Experiments", targets: ["Experiments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", exact: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CGSL", pkgConfig: "gsl", providers: [.apt(["libgsl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "SimCore", dependencies: [
            "CGSL", "CSQLite",
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hotPath),
        .target(name: "HardwareModels", dependencies: ["SimCore"],
                resources: [.copy("Resources/device-profiles.json"), .copy("Resources/models"), .copy("Resources/engines"), .copy("Resources/accelerators")], swiftSettings: hotPath),
        .target(name: "Workloads", dependencies: ["SimCore"], swiftSettings: hotPath),
        .target(name: "Serving", dependencies: [
            "SimCore", "HardwareModels", "Workloads",
            .product(name: "DequeModule", package: "swift-collections"),
        ], swiftSettings: hotPath),
        .target(name: "Policies", dependencies: ["Serving", "SimCore"], swiftSettings: hotPath),
        /// Scenarios, runs, sweeps, searches and result files: everything `simrun` does, as a library
        /// that tests and other programs drive without a process per run.
        .target(name: "Experiments", dependencies: [
            "SimCore", "HardwareModels", "Workloads", "Serving", "Policies",
            .product(name: "DequeModule", package: "swift-collections"),
        ],
                plugins: ["BuildCommit"]),
        .plugin(name: "BuildCommit", capability: .buildTool()),
        /// The command line: it parses arguments and calls Experiments.
        .executableTarget(name: "simrun", dependencies: [
            "Experiments", "SimCore", "HardwareModels", "Workloads", "Serving", "Policies",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        /// Test helpers: where tests write their files.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore", "TestSupport"]),
        .testTarget(name: "HardwareModelsTests", dependencies: ["HardwareModels", "TestSupport"]),
        .testTarget(name: "WorkloadsTests", dependencies: ["Workloads", "TestSupport"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Policies", "Workloads", "HardwareModels", "TestSupport"]),
        .testTarget(name: "PoliciesTests", dependencies: ["Policies", "Serving", "SimCore", "HardwareModels", "Workloads"]),
        .testTarget(name: "SimRunTests", dependencies: ["Experiments", "simrun", "TestSupport"]),
    ]
)
