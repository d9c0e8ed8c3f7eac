import Foundation
import TestSupport
import HardwareModels
@testable import Experiments

let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

func tempDir() -> URL {
    Scratch.folder()
}

/// Writes a scenario into a fresh folder (next to a copy of the sample data) and returns its path.
func writeScenario(_ json: String, in dir: URL = tempDir()) throws -> String {
    let path = dir.appendingPathComponent("scenario.json").path
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A small, valid scenario to mutate.
let smallScenario = """
{
  "name": "small",
  "seed": 7,
  "instances": [{ "count": 2, "gpu": "A100-80GB", "model": "Llama-2-7B" }],
  "router": "least_outstanding_tokens",
  "workload": {
    "arrivals": { "process": "gamma", "rate": 6, "cv": 2 },
    "lengths": {
      "prompt": { "dist": "lognormal", "mean": 400, "sigma": 1, "min": 4, "max": 4000 },
      "output": { "dist": "uniform", "min": 1, "max": 300 }
    },
    "num_requests": 300
  },
  "slo": { "ttft_s": 0.5, "tpot_s": 0.05 },
  "run": { "sample_interval_s": 0.5, "check_invariants": true }
}
"""

/// The simrun executable built beside the test bundle.
var simrunBinary: URL {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let url = candidate.appendingPathComponent("simrun")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    return repoRoot.appendingPathComponent(".build/debug/simrun")
}

struct ProcessResult {
    /// The exit status, or the signal's number when `signalled`.
    let status: Int32
    let signalled: Bool
    let stdout: String
    let stderr: String
}

/// Foundation's Process.run() on Linux copies the environment, and crashed doing so while a host
/// calibration test set OPENBLAS_CORETYPE: that setting is made once, before any launch, and tests
/// start processes one at a time.
private let launchLock = NSLock()

/// Starts a process, one launch at a time, once the environment is settled.
func launch(_ p: Process) throws {
    OpenBLAS.environmentPrepared
    launchLock.lock()
    defer { launchLock.unlock() }
    try p.run()
}

/// Runs simrun; a run past `timeout` seconds is killed (and so reported as signalled).
func runSimrun(_ args: [String], cwd: URL, timeout: Double = 300) throws -> ProcessResult {
    try runProcess(simrunBinary, args, cwd: cwd, timeout: timeout)
}

/// Runs `executable`; a run past `timeout` seconds is killed (and so reported as signalled).
func runProcess(_ executable: URL, _ args: [String], cwd: URL, timeout: Double = 300) throws -> ProcessResult {
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    p.currentDirectoryURL = cwd
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try launch(p)
    let pid = p.processIdentifier
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { if p.isRunning { kill(pid, SIGKILL) } }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ProcessResult(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal, stdout: String(decoding: o, as: UTF8.self),
                         stderr: String(decoding: e, as: UTF8.self))
}
