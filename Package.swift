// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "LLMServingSim",
    products: [.executable(name: "simrun", targets: ["simrun"])],
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
        ]),
        .target(name: "HardwareModels", dependencies: ["SimCore"]),
        .target(name: "Workloads", dependencies: ["SimCore"]),
        .target(name: "Serving", dependencies: [
            "SimCore", "HardwareModels", "Workloads",
            .product(name: "DequeModule", package: "swift-collections"),
        ]),
        .target(name: "Policies", dependencies: ["Serving", "SimCore"]),
        .executableTarget(name: "simrun", dependencies: [
            "SimCore", "HardwareModels", "Workloads", "Serving", "Policies",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore"]),
        .testTarget(name: "HardwareModelsTests", dependencies: ["HardwareModels"]),
        .testTarget(name: "WorkloadsTests", dependencies: ["Workloads"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Policies", "Workloads", "HardwareModels"]),
        .testTarget(name: "SimRunTests", dependencies: ["simrun"]),
    ]
)
