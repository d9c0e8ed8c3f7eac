/// A hash that is the same in every process and on every machine.
///
/// Swift's `Hasher` is seeded per process, so it must never derive random seeds.
/// This is 64-bit FNV-1a over UTF-8 bytes followed by the SplitMix64 finaliser,
/// which spreads nearby inputs ("arrivals", "arrivals2") over the whole range.
public enum StableHash {
    public static func hash(_ text: String, seed: UInt64 = 0) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 ^ mix(seed)
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h &*= 0x0000_0100_0000_01b3
        }
        return mix(h)
    }

    /// SplitMix64's output function.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
