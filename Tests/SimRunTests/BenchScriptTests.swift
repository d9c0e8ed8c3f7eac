import Foundation
import Testing

/// The measurement scripts a speed figure names answer a misuse as simrun does: one line on
/// stderr naming the script and what was expected, exit status 2, nothing run.
@Suite("Bench scripts refuse bad arguments")
struct BenchScriptTests {
    @Test(arguments: [
        (["scripts/scaling-bench.sh", "/nonexistent/simrun"], "no such executable"),
        (["scripts/scaling-bench.sh", "SIMRUN", "16", "x"], "expected positive whole numbers, got 'x'"),
        (["scripts/scaling-bench.sh", "SIMRUN", "0"], "expected positive whole numbers, got '0'"),
        (["scripts/thread-cpu.sh", "SIMRUN"], "expected a simrun executable and its arguments"),
        (["scripts/thread-cpu.sh", "/nonexistent/simrun", "bench"], "no such executable"),
        (["scripts/read-latency.sh", "32", "12x"], "expected whole numbers from 1 to 99999999, got '12x'"),
        (["scripts/read-latency.sh", "0"], "expected whole numbers from 1 to 99999999, got '0'"),
        (["scripts/coalescing-fuzz.py", "SIMRUN"], "expected 3 arguments"),
        (["scripts/coalescing-fuzz.py", "/nonexistent/simrun", "5", "1"], "no such executable"),
        (["scripts/coalescing-fuzz.py", "SIMRUN", "five", "1"], "TRIALS: expected a positive whole number, got 'five'"),
        (["scripts/coalescing-fuzz.py", "SIMRUN", "5", "-1"], "SEED: expected a positive whole number, got '-1'"),
        (["scripts/footprint-probe.sh", "QUICKSTART", "2"], "expected a scenario, ROUNDS and at least one VARIANT"),
        (["scripts/footprint-probe.sh", "/nonexistent/scenario.json", "2", "base"], "no such scenario file"),
        (["scripts/footprint-probe.sh", "QUICKSTART", "two", "base"], "ROUNDS: expected a whole number from 1 to 999, got 'two'"),
        (["scripts/footprint-probe.sh", "QUICKSTART", "2", "base", "request+12"], "got 'request+12'"),
        (["scripts/footprint-probe.sh", "QUICKSTART", "2", "instance+0"], "got 'instance+0'"),
        (["scripts/scale-scenario.py", "1024"], "expected 2 arguments (N OUT.json), got 1"),
        (["scripts/scale-scenario.py", "0", "scale.json"], "N: expected a whole number from 1 to 1000000, got '0'"),
        (["scripts/scale-scenario.py", "16", "QUICKSTART"], "already exists"),
    ])
    func aMisuseGetsOneLineAndStatus2(args: [String], expected: String) throws {
        let script = repoRoot.appendingPathComponent(args[0]).path
        let quickstart = repoRoot.appendingPathComponent("scenarios/quickstart.json").path
        let rest = args.dropFirst().map { $0 == "SIMRUN" ? simrunBinary.path : $0 == "QUICKSTART" ? quickstart : $0 }
        let interpreter = args[0].hasSuffix(".py") ? ["python3"] : ["bash"]
        let result = try runProcess(URL(fileURLWithPath: "/usr/bin/env"), interpreter + [script] + rest, cwd: tempDir(), timeout: 60)
        #expect(result.status == 2 && !result.signalled, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        let name = URL(fileURLWithPath: args[0]).lastPathComponent
        #expect(result.stderr.hasPrefix("\(name): ") && result.stderr.contains(expected), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }
}
