import SimCore

/// One move of a request's KV cache between instances, as it ended.
public struct MigrationRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case handOff = "hand_off", blocking, live }
    public enum Outcome: String, Sendable {
        case committed
        /// The destination could not reserve a stage's blocks, or the request ended, was preempted or
        /// left the source during a stage; every reserved block was freed.
        case aborted
        /// The destination could not take the last stage: the request stayed on the source.
        case failedLastStage = "failed_last_stage"
    }
    public let request: Int
    public let from: Int
    public let to: Int
    public let kind: Kind
    public let start: SimTime
    public let end: SimTime
    public let stages: Int
    public let bytes: Double
    /// Time the request could not run because of the move: its last stage (live), the whole copy
    /// (blocking or hand-off).
    public let downtime: SimTime
    public let outcome: Outcome
}

/// A live migration under way (Llumnix): stages copy the KV blocks the destination lacks while the
/// request keeps decoding on the source; the last stage pauses it, copies the rest and commits.
struct LiveMigration {
    let request: ServingRequest
    let from: Int
    let to: Int
    let start: SimTime
    /// The request's preemption count when it began: a preemption at the source aborts it.
    let preemptions: Int
    var stages = 0
    /// Blocks copied to the destination (and reserved there).
    var copied = 0
    var bytes = 0.0
    var pausedAt: SimTime?
    /// The last stage waits for the iteration the request is in to end.
    var awaitingPause = false
}

extension Cluster {
    /// Starts moving a running request to another instance in stages, as Llumnix does: first every
    /// block but the one still filling, then repeatedly the blocks added since, while the request
    /// keeps decoding on the source; once those are at most `lastStageMaxBlocks` (or after
    /// `maxStages`), the request pauses, the rest is copied and it resumes on the destination. The
    /// destination reserves each stage's blocks first. Returns false when the move cannot start.
    @discardableResult
    public func migrateLive(_ r: ServingRequest, to destination: Int) -> Bool {
        if r.instance >= 0 { instances[r.instance].catchUp() }
        guard r.instance >= 0, destination != r.instance, instances[destination].state == .active, !r.isMigrating,
              r.phase == .running, r.computedTokens > 0 else { return false }
        let id = nextLiveID
        nextLiveID += 1
        live[id] = LiveMigration(request: r, from: r.instance, to: destination, start: loop.now, preemptions: r.preemptions)
        r.liveMigration = id
        continueLiveMigration(id)
        return live[id] != nil
    }

    /// The next stage of a live migration, or its end: aborted if the request no longer runs on the
    /// source (it ended, was preempted or moved) or the destination cannot reserve the blocks.
    func continueLiveMigration(_ id: Int) {
        guard var m = live[id] else { return }
        let r = m.request, src = instances[m.from], dst = instances[m.to]
        src.catchUp()
        m.awaitingPause = false
        guard r.phase == .running, r.instance == m.from, r.preemptions == m.preemptions, dst.state == .active else {
            endLiveMigration(id, .aborted)
            return
        }
        let increment = max(0, r.kvBlocks - 1) - m.copied
        if increment > liveMigrationLimits.lastStageMaxBlocks && m.stages < liveMigrationLimits.maxStages {
            guard dst.canReserve(blocks: increment) else {
                live[id] = m
                endLiveMigration(id, .aborted)
                return
            }
            copy(&m, blocks: increment, last: false, id: id)
            live[id] = m
            return
        }
        // The last stage pauses the request, so it waits for an iteration the request is in.
        if r.inFlight {
            m.awaitingPause = true
            live[id] = m
            return
        }
        let rest = r.kvBlocks - m.copied
        guard dst.canReserve(blocks: rest) else {
            live[id] = m
            endLiveMigration(id, .failedLastStage)
            return
        }
        src.detachForMigration(r)
        m.pausedAt = loop.now
        r.transferStart = loop.now
        copy(&m, blocks: rest, last: true, id: id)
        live[id] = m
    }

    private func copy(_ m: inout LiveMigration, blocks: Int, last: Bool, id: Int) {
        let src = instances[m.from], dst = instances[m.to]
        dst.reserve(blocks: blocks)
        m.copied += blocks
        m.stages += 1
        m.bytes += Double(blocks) * src.blockBytesPerGPU * Double(src.gpus.count)
        startGroup(.liveStage(migration: id, last: last),
                   flows: kvFlows(from: src, to: dst, bytesPerGPU: Double(blocks) * src.blockBytesPerGPU))
    }

    /// The last stage arrived: the request leaves the source and continues on the destination.
    func commitLiveMigration(_ id: Int) {
        guard let m = live[id] else { return }
        let r = m.request, src = instances[m.from], dst = instances[m.to]
        src.release(r)
        dst.acceptMigrated(r, blocks: m.copied)
        r.kvTransfer += loop.now - r.transferStart
        r.migrations += 1
        migrations += 1
        endLiveMigration(id, .committed)
        if r.abandoned, dst.abort(r) { end(r, reason: .clientTimeout) }
        retireIfDrained(src)
        startIterationIfIdle(src)
        startIterationIfIdle(dst)
    }

    private func endLiveMigration(_ id: Int, _ outcome: MigrationRecord.Outcome) {
        guard let m = live.removeValue(forKey: id) else { return }
        if outcome != .committed { instances[m.to].unreserve(blocks: m.copied) }
        m.request.liveMigration = nil
        migrationRecords.append(MigrationRecord(
            request: m.request.id, from: m.from, to: m.to, kind: .live, start: m.start, end: loop.now, stages: m.stages,
            bytes: m.bytes, downtime: m.pausedAt.map { loop.now - $0 } ?? .zero, outcome: outcome))
        if outcome != .committed { retireIfDrained(instances[m.to]) }
    }
}
