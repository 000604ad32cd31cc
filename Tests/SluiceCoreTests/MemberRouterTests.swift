import Testing
@testable import SluiceCore
import SluiceTestSupport

/// gunzip's routing, driven as a value: no stage, no thread, no zlib stream.
@Suite struct MemberRouterTests {
    static let bgzf = BGZFFixture.member(Array("routed to the pool\n".utf8))
    static let plain = GzipFixture.member(Array("read here\n".utf8))

    /// `next` on the bytes of `data` from `offset` to its end.
    func next(_ router: inout MemberRouter, _ data: [UInt8], from offset: Int = 0,
              decoder: MemberRouter.DecoderPosition = .memberStart, poolIsIdle: Bool = true) -> MemberRouter.Action {
        Array(data[offset...]).withUnsafeBytes { router.next($0, decoder: decoder, poolIsIdle: poolIsIdle) }
    }

    @Test func oneThreadDecodesEverything() {
        var router = MemberRouter(threads: 1)
        #expect(next(&router, Self.bgzf) == .decode)
        #expect(next(&router, [0x1f], decoder: .betweenMembers) == .decode)
        #expect(next(&router, [0], decoder: .betweenMembers) == .decode)
        #expect(router.inputEnded(poolIsIdle: true) == nil)
    }

    /// A member without its size goes to the decoder from its first byte: nothing is held
    /// or collected for it.
    @Test func aPlainMemberNeverEntersTheCollection() {
        var router = MemberRouter(threads: 2)
        #expect(next(&router, Self.plain) == .startMember)
        #expect(router.head.isEmpty)
        #expect(router.state == .routing)
        #expect(next(&router, Self.plain, from: 10, decoder: .inside) == .decode)
    }

    /// A BGZF member whose header is in the chunk at hand is routed in place, then
    /// collected across chunks to its last byte.
    @Test func aSizedMemberIsCollectedToItsEnd() {
        var router = MemberRouter(threads: 2)
        let size = Self.bgzf.count
        #expect(next(&router, Self.bgzf) == .beginMember(bytes: size))
        #expect(router.takeHead().isEmpty)
        #expect(next(&router, Array(Self.bgzf.prefix(20))) == .collect(count: 20, ends: false))
        #expect(next(&router, Self.bgzf + Self.plain, from: 20) == .collect(count: size - 20, ends: true))
        #expect(router.state == .routing)
    }

    /// A header cut by chunk ends is held until `locate` can tell, taking no more than it
    /// asks for; the held bytes begin the member, and collection goes on after them.
    @Test func aCutHeaderIsHeldThenHandedOver() {
        var router = MemberRouter(threads: 2)
        let size = Self.bgzf.count
        #expect(next(&router, Array(Self.bgzf.prefix(5))) == .hold(count: 5))
        #expect(next(&router, Array(Self.bgzf.prefix(30)), from: 5) == .hold(count: 7), "up to XLEN")
        #expect(next(&router, Array(Self.bgzf.prefix(30)), from: 12) == .hold(count: 6), "up to the BC subfield's end")
        #expect(next(&router, Array(Self.bgzf.prefix(30)), from: 18) == .beginMember(bytes: size))
        #expect(router.takeHead() == Array(Self.bgzf.prefix(18)))
        #expect(next(&router, Self.bgzf, from: 18) == .collect(count: size - 18, ends: true))
    }

    /// A plain member's cut header: held while it might have a size, then the decoder
    /// reads the held bytes first.
    @Test func aCutPlainHeaderGoesToTheDecoder() {
        var router = MemberRouter(threads: 2)
        #expect(next(&router, Array(Self.plain.prefix(3))) == .hold(count: 3))
        #expect(next(&router, Self.plain, from: 3) == .hold(count: 9), "up to XLEN, where locate looks first")
        #expect(next(&router, Self.plain, from: 12) == .startMember)
        #expect(router.takeHead() == Array(Self.plain.prefix(12)))
    }

    /// A header that needs more than `maxHeadBytes` to be located is not held for it.
    @Test func aLongExtraFieldIsNotHeld() {
        var router = MemberRouter(threads: 2)
        let xlen = MemberRouter.maxHeadBytes
        let head: [UInt8] = [0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff, UInt8(xlen & 0xff), UInt8(xlen >> 8)]
        #expect(next(&router, head) == .startMember)
        #expect(router.head.isEmpty)
    }

    /// The decoder reads nothing of a member while the pool holds members before it; the
    /// step from a member's end to the next one's first byte reads nothing, and need not
    /// wait; padding or garbage after pool members waits.
    @Test func theDecoderWaitsForThePool() {
        var router = MemberRouter(threads: 2)
        #expect(next(&router, Self.plain, poolIsIdle: false) == .drain)
        #expect(next(&router, Self.plain, poolIsIdle: false) == .drain, "until it is idle")
        #expect(next(&router, Self.plain, poolIsIdle: true) == .startMember)
        #expect(next(&router, [0x1f, 0x8b], decoder: .betweenMembers, poolIsIdle: false) == .decode)
        #expect(next(&router, [0, 0], decoder: .betweenMembers, poolIsIdle: false) == .drain)
        #expect(next(&router, [7], decoder: .inside, poolIsIdle: false) == .drain)
        #expect(next(&router, [7], decoder: .inside, poolIsIdle: true) == .decode)
    }

    @Test func theEndOfInput() {
        var collecting = MemberRouter(threads: 2)
        _ = next(&collecting, Self.bgzf)
        _ = next(&collecting, Array(Self.bgzf.prefix(20)))
        #expect(collecting.inputEnded(poolIsIdle: false) == .replay, "a member cut short is read by the decoder")
        #expect(collecting.inputEnded(poolIsIdle: true) == nil)

        var holding = MemberRouter(threads: 2)
        _ = next(&holding, Array(Self.bgzf.prefix(5)))
        #expect(holding.inputEnded(poolIsIdle: false) == .drain)
        #expect(holding.inputEnded(poolIsIdle: true) == .startMember)
        _ = holding.takeHead()
        #expect(holding.inputEnded(poolIsIdle: true) == nil)
    }

    /// Once the pool is abandoned, every byte goes to the decoder, the held ones first.
    @Test func afterThePoolEnded() {
        var router = MemberRouter(threads: 2)
        _ = next(&router, Array(Self.bgzf.prefix(5)))
        router.poolEnded()
        #expect(next(&router, Self.bgzf, from: 5) == .startMember)
        _ = router.takeHead()
        #expect(next(&router, Self.bgzf, from: 5) == .decode)
        #expect(next(&router, Self.bgzf) == .decode, "a sized member too")
    }

    @Test func theDecoderSettlesBeforeThePoolWrites() {
        var router = MemberRouter(threads: 2)
        #expect(!router.mustSettle(emittedBytes: 0))
        #expect(router.mustSettle(emittedBytes: 10))
        router.settled(emittedBytes: 10)
        #expect(!router.mustSettle(emittedBytes: 10))
        #expect(router.mustSettle(emittedBytes: 11))
    }
}
