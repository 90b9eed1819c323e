// swift-tools-version:6.2
import Foundation
import PackageDescription

// The modules where concurrency lives (the HTTP server, the database, the worker pool, the
// service) are checked for data races in the Swift 6 language mode, and build without warnings.
let checked: [SwiftSetting] = [.swiftLanguageMode(.v6), .treatAllWarnings(as: .error)]
// The numeric modules (and the environments and tests built on them) stay in the Swift 5
// mode: tensors and environments are handed from thread to thread, never used by two at once,
// which strict checking could only express by wrapping every buffer in a lock or a box.
let numeric: [SwiftSetting] = [.swiftLanguageMode(.v5)] + hostCPU

/// The numeric kernels' SIMD code is built for the host's vector units: with AVX2 and FMA
/// (every x86 machine since 2013), 8-lane float vectors are one instruction instead of two SSE
/// ones. Floating-point results are unchanged (no fused multiply-adds are formed). Set
/// `AMAGO_TARGET_CPU` to an LLVM CPU name to choose (`x86-64` builds for any x86-64 machine).
var hostCPU: [SwiftSetting] {
    if let chosen = ProcessInfo.processInfo.environment["AMAGO_TARGET_CPU"], !chosen.isEmpty {
        return [.unsafeFlags(["-target-cpu", chosen])]
    }
    #if arch(x86_64) && os(Linux)
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
    let present = Set(flags.split(separator: " ").map(String.init))
    return ["avx2", "fma", "bmi2", "f16c", "movbe"].allSatisfy(present.contains) ? [.unsafeFlags(["-target-cpu", "haswell"])] : []
    #else
    return []
    #endif
}

let package = Package(
    name: "Amago",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "amago", targets: ["AmagoCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS"),
        .target(name: "Autograd", dependencies: ["COpenBLAS"], swiftSettings: numeric),
        .target(name: "NeuralNet", dependencies: ["Autograd"], swiftSettings: numeric),
        .target(name: "JSON", swiftSettings: checked),
        .target(name: "Environments", dependencies: ["JSON"], swiftSettings: numeric),
        .target(name: "AMAGO", dependencies: ["NeuralNet", "Autograd", "Environments", "JSON"], swiftSettings: numeric),
        .target(name: "HTTPCore", swiftSettings: checked),
        .target(name: "Storage", dependencies: [.product(name: "GRDB", package: "GRDB.swift"),
                                                .product(name: "PostgresNIO", package: "postgres-nio")],
                swiftSettings: checked),
        .target(name: "Jobs", dependencies: ["Storage"], swiftSettings: checked),
        .target(name: "Service", dependencies: ["HTTPCore", "Storage", "Jobs", "AMAGO", "Environments", "JSON"], swiftSettings: checked),
        .executableTarget(
            name: "AmagoCLI",
            dependencies: [
                "Autograd", "NeuralNet", "AMAGO", "Environments", "JSON", "HTTPCore", "COpenBLAS", "Service", "Storage", "Jobs",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: numeric),
        .target(name: "TestSupport", dependencies: ["Autograd", "Environments", "JSON", "Storage"], path: "Tests/TestSupport", swiftSettings: numeric),
        .testTarget(name: "AutogradTests", dependencies: ["Autograd", "TestSupport"], swiftSettings: numeric),
        .testTarget(name: "AMAGOTests", dependencies: ["AMAGO", "NeuralNet", "Autograd", "Environments", "JSON", "TestSupport"],
                    swiftSettings: numeric),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Autograd", "TestSupport"], swiftSettings: numeric),
        .testTarget(name: "JSONTests", dependencies: ["JSON", "Environments"], swiftSettings: numeric),
        .testTarget(name: "EnvironmentsTests", dependencies: ["Environments", "TestSupport"], swiftSettings: numeric),
        .testTarget(name: "HTTPCoreTests", dependencies: ["HTTPCore"], swiftSettings: numeric),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"], swiftSettings: numeric),
        .testTarget(name: "JobsTests", dependencies: ["Jobs", "Storage", "TestSupport"], swiftSettings: numeric),
        .testTarget(name: "ServiceTests", dependencies: ["Service", "HTTPCore", "Storage", "AMAGO", "Jobs", "Environments", "JSON", "TestSupport"],
                    swiftSettings: numeric),
        .testTarget(name: "DashboardTests", dependencies: ["Service", "Storage", "AMAGO"], exclude: ["JS"], swiftSettings: numeric),
    ]
)
