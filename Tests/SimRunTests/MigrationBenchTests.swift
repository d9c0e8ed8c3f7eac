import Foundation
import Testing
@testable import Experiments

@Suite("Migration benchmark")
struct MigrationBenchTests {
    /// Two lengths on the small scenario's two instances: live downtime the same at both (the last stage),
    /// blocking copy and recompute about twice as long at twice the length.
    @Test func liveDowntimeIsFlatWhileTheAlternativesGrow() throws {
        let dir = tempDir()
        let scenario = try writeScenario(smallScenario, in: dir)
        let r = try runSimrun(["migration-bench", scenario, "--lengths", "1024,2048"], cwd: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").dropFirst().prefix(2).map { $0.split(separator: " ").compactMap { Double($0) } }
        #expect(rows.count == 2 && rows.allSatisfy { $0.count == 5 })
        guard rows.count == 2, rows.allSatisfy({ $0.count == 5 }) else { return }
        #expect(rows[0][1] == rows[1][1])
        #expect(rows[1][3] > 1.8 * rows[0][3] && rows[1][4] > 1.8 * rows[0][4] && rows[0][3] > 5 * rows[0][1])
    }
}
