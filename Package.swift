// swift-tools-version:6.0
// sluice: a streaming filter. No package dependencies: the toolchain's modules,
// plus the system zlib (CZlib) and a header-only module for what Glibc lacks (CSys).
import PackageDescription

let package = Package(
    name: "sluice",
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(name: "CSys", path: "Sources/CSys"),
        .target(
            name: "SluiceCore",
            dependencies: ["CZlib", "CSys"],
            path: "Sources/SluiceCore",
            swiftSettings: [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
        ),
        .executableTarget(
            name: "sluice",
            dependencies: ["SluiceCore"],
            path: "Sources/sluice"
        ),
        .testTarget(
            name: "SluiceCoreTests",
            dependencies: ["SluiceCore", "CZlib"],
            path: "Tests/SluiceCoreTests"
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [],
            path: "Tests/EndToEndTests"
        ),
    ]
)
