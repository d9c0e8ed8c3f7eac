/// When a run should end, besides running out of events.
public struct StopConditions: Sendable, Equatable {
    /// Events at or after this time are not processed.
    public var horizon: SimTime?
    /// The most events to process.
    public var maxEvents: Int?

    public init(horizon: SimTime? = nil, maxEvents: Int? = nil) {
        self.horizon = horizon
        self.maxEvents = maxEvents
    }
}

/// Why a run ended.
public enum StopReason: String, Sendable, Equatable {
    /// No events remained.
    case drained = "drained"
    /// The model asked to stop (for example, every request has ended).
    case completed = "completed"
    /// The next event lay at or beyond the time horizon.
    case horizon = "horizon"
    /// The event budget was used up.
    case eventBudget = "event_budget"
}

/// The clock and event queue of one simulation.
///
/// The loop owns time: models schedule events and react to them in `run`'s
/// handler, and never move the clock themselves.
public final class EventLoop<Event: BitwiseCopyable> {
    @usableFromInline var currentTime: SimTime = .zero
    @usableFromInline var processed = 0
    @usableFromInline var queue = EventQueue<Event>()
    @usableFromInline var stopRequested = false

    public init() {}

    /// The time of the event being handled (or of the last one).
    @inlinable public var now: SimTime { currentTime }
    @inlinable public var eventsProcessed: Int { processed }
    public var pendingEvents: Int { queue.count }

    @inlinable public func schedule(_ event: Event, at time: SimTime) {
        precondition(time >= currentTime, "cannot schedule an event in the past")
        queue.push(event, at: time)
    }

    @inlinable public func schedule(_ event: Event, after delay: SimTime) {
        queue.push(event, at: currentTime + delay)
    }

    /// Ends the run after the current event.
    public func requestStop() { stopRequested = true }

    /// Processes events in (time, sequence) order until a stop condition holds.
    @inlinable public func run(_ stop: StopConditions = .init(), handle: (Event) -> Void) -> StopReason {
        stopRequested = false
        let horizon = stop.horizon ?? .max
        let budget = stop.maxEvents ?? .max
        while true {
            if stopRequested { return .completed }
            if processed >= budget { return .eventBudget }
            let place = queue.leastPlace()
            if place == EventQueue<Event>.none { return .drained }
            if queue.time(at: place) >= horizon { currentTime = horizon; return .horizon }
            let (time, event) = queue.remove(at: place)
            currentTime = time
            processed += 1
            handle(event)
        }
    }
}
