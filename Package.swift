// swift-tools-version:6.0
// sluice: a streaming filter. No package dependencies: the toolchain's modules,
// plus the system zlib (CZlib) and libzstd (CZstd), and a header-only module for what Glibc lacks (CSys), which
// also holds the one C kernel: CRC-32 folded with PCLMULQDQ (crc32.h).
// Release builds use -O, bounds and overflow checks on, as the fuzz builds do: the few
// hot loops that need more speed say so locally, with unsafe pointers.
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
        .systemLibrary(
            name: "CZstd",
            path: "Sources/CZstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(name: "CSys", path: "Sources/CSys"),
        .target(
            name: "SluiceCore",
            dependencies: ["CZlib", "CZstd", "CSys"],
            path: "Sources/SluiceCore"
        ),
        .executableTarget(
            name: "sluice",
            dependencies: ["SluiceCore"],
            path: "Sources/sluice"
        ),
        // Oracles and the stage harness, for the tests and the fuzz targets only: the
        // shipped binary does not link them.
        .target(
            name: "SluiceTestSupport",
            dependencies: ["SluiceCore", "CZlib", "CZstd"],
            path: "Sources/SluiceTestSupport"
        ),
        .testTarget(
            name: "SluiceCoreTests",
            dependencies: ["SluiceCore", "SluiceTestSupport", "CZlib", "CZstd"],
            path: "Tests/SluiceCoreTests"
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [],
            path: "Tests/EndToEndTests"
        ),
    ]
)
