// swift-tools-version:6.0
import PackageDescription

// Swift 5 language mode: the numeric modules share mutable tensor state across
// threads deliberately (tensors are handed between workers, never used concurrently),
// which strict Swift 6 checking cannot express without wrapping every buffer.
let settings: [SwiftSetting] = [.swiftLanguageMode(.v5)]

let package = Package(
    name: "Amago",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "amago", targets: ["amago"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "Autograd", dependencies: ["COpenBLAS"], swiftSettings: settings),
        .target(name: "NeuralNet", dependencies: ["Autograd"], swiftSettings: settings),
        .target(name: "AMAGO", dependencies: ["NeuralNet", "Autograd", "Environments"], swiftSettings: settings),
        .target(name: "HTTPCore", swiftSettings: settings),
        .target(name: "Environments", swiftSettings: settings),
        .target(name: "Storage", dependencies: [.product(name: "GRDB", package: "GRDB.swift")], swiftSettings: settings),
        .target(name: "Jobs", dependencies: ["Storage"], swiftSettings: settings),
        .target(name: "Service", dependencies: ["HTTPCore", "Storage", "Jobs", "AMAGO", "Environments"], swiftSettings: settings),
        .executableTarget(
            name: "amago",
            dependencies: [
                "Autograd", "NeuralNet", "AMAGO", "Environments", "HTTPCore", "COpenBLAS",
                "Service", "Storage", "Jobs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: settings),
        .target(name: "TestSupport", dependencies: ["Autograd", "Environments"], path: "Tests/TestSupport", swiftSettings: settings),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "TestSupport"], swiftSettings: settings),
        .testTarget(name: "AMAGOTests", dependencies: ["AMAGO", "NeuralNet", "Autograd", "Environments", "TestSupport"], swiftSettings: settings),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Autograd", "TestSupport"], swiftSettings: settings),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments"], swiftSettings: settings),
        .testTarget(name: "HTTPCoreTests", dependencies: ["HTTPCore"], swiftSettings: settings),
        .testTarget(name: "StorageTests", dependencies: ["Storage"], swiftSettings: settings),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Storage"], swiftSettings: settings),
        .testTarget(name: "ServiceTests", dependencies: ["Service", "HTTPCore", "Storage", "AMAGO", "Jobs", "TestSupport"], swiftSettings: settings),
        .testTarget(name: "DashboardTests", dependencies: ["Service", "Storage", "AMAGO"], exclude: ["JS"], swiftSettings: settings),
    ]
)
