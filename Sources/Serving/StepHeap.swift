/// Step numbers, least first: a binary min-heap in memory its owner holds (see OwnedValues), for a
/// decode stretch's finishing steps. (The package's min-max heap checked its storage's uniqueness
/// at each change, and its removal took 155 instructions a finishing request on a 7B cluster.)
struct StepHeap: ~Copyable {
    private var steps = OwnedValues<Int>()

    init() {}

    var isEmpty: Bool { steps.count == 0 }
    /// The least step, nil when there is none.
    var min: Int? { steps.count > 0 ? steps[0] : nil }

    mutating func insert(_ step: Int) {
        steps.append(step)
        let s = steps.buffer
        var i = s.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard step < s[parent] else { break }
            s[i] = s[parent]
            i = parent
        }
        s[i] = step
    }

    /// Takes out the least step (there is one).
    mutating func removeMin() {
        precondition(steps.count > 0, "no step to remove")
        let s = steps.buffer, n = s.count - 1, last = s[n]
        var i = 0
        while true {
            var child = 2 * i + 1
            guard child < n else { break }
            if child + 1 < n, s[child + 1] < s[child] { child += 1 }
            guard s[child] < last else { break }
            s[i] = s[child]
            i = child
        }
        s[i] = last
        steps.truncate(to: n)
    }

    mutating func removeAll() { steps.truncate(to: 0) }
}
