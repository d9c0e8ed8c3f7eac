import Glibc
import SimCore
import Testing
import Workloads
@testable import Serving

@Suite("A request's live state")
struct ServingRequestTests {
    private func request() -> ServingRequest {
        ServingRequest(Request(id: 7, arrival: .seconds(1), promptTokens: 100, outputTokens: 10), instance: 3)
    }

    /// At a thousand instances the running requests outgrow the last-level cache, and a finishing
    /// request reads all of its object: a field added to the rarely read part belongs in `Moves`.
    @Test func anObjectAsksMallocForAtMost200Bytes() throws {
        // glibc's malloc_usable_size (declared in malloc.h, which the Glibc module leaves out).
        typealias UsableSize = @convention(c) (UnsafeMutableRawPointer?) -> Int
        let symbol = try #require(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_usable_size"))
        let usableSize = unsafeBitCast(symbol, to: UsableSize.self)
        let r = request()
        let bytes = usableSize(Unmanaged.passUnretained(r).toOpaque())
        #expect(bytes <= 200, "malloc gave \(bytes) usable bytes (a 192-byte object gets 200)")
    }

    @Test func optionalTimesStartUnsetAndKeepWhatIsSet() {
        let r = request()
        #expect(r.firstToken == nil && r.firstScheduled == nil)
        r.firstScheduled = .zero
        r.firstToken = .seconds(2)
        #expect(r.firstScheduled == .zero && r.firstToken == .seconds(2))
        r.firstToken = nil
        #expect(r.firstToken == nil && r.firstScheduled == .zero)
    }

    @Test func aMovesStateReadsAsNoneUntilSetAndKeepsEachField() {
        let r = request()
        #expect(r.migrationTarget == nil && r.liveMigration == nil && r.swapTier == nil && !r.isMigrating)
        #expect(r.kvWait == .zero && r.kvTransfer == .zero && r.transferStart == .zero)
        r.kvWait += .seconds(0.5)
        r.migrationTarget = 4
        r.swapTier = .nvme
        #expect(r.kvWait == .seconds(0.5) && r.migrationTarget == 4 && r.swapTier == .nvme && r.isMigrating)
        r.migrationTarget = nil
        r.liveMigration = 9
        r.transferStart = .seconds(3)
        r.kvTransfer += .seconds(1)
        #expect(r.migrationTarget == nil && r.liveMigration == 9 && r.isMigrating)
        #expect(r.kvWait == .seconds(0.5) && r.transferStart == .seconds(3) && r.kvTransfer == .seconds(1))
        r.preemptions += 1
        r.migrations += 2
        r.gapsLogged += 5
        #expect(r.preemptions == 1 && r.migrations == 2 && r.gapsLogged == 5 && r.id == 7 && r.instance == 3)
    }
}
