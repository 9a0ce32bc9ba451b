//! A small deterministic generator for seeded test workloads and fault plans (splitmix64): a run
//! that fails can be replayed from its seed. Not for anything cryptographic.

/// The generator's state.
pub struct Draw(pub u64);

impl Draw {
    /// The next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// A number in `[0, 1]`.
    pub fn fraction(&mut self) -> f64 {
        self.next_u64() as f64 / u64::MAX as f64
    }
}
