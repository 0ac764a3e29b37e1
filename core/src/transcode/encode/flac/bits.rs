//! MSB-first bit writer for FLAC frames.

pub(crate) struct BitWriter {
    pub bytes: Vec<u8>,
    /// Pending bits in the low `n` bits (higher bits are stale).
    acc: u64,
    /// Bits held in `acc` (< 32 after each `put`).
    n: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        BitWriter { bytes: Vec::new(), acc: 0, n: 0 }
    }

    pub fn clear(&mut self) {
        self.bytes.clear();
        self.acc = 0;
        self.n = 0;
    }

    /// Writes the low `bits` (≤ 32) bits of `value`.
    #[inline]
    pub fn put(&mut self, bits: u32, value: u32) {
        if bits == 0 {
            return;
        }
        let v = u64::from(value) & ((1u64 << bits) - 1);
        self.acc = (self.acc << bits) | v;
        self.n += bits;
        if self.n >= 32 {
            self.n -= 32;
            self.bytes.extend_from_slice(&((self.acc >> self.n) as u32).to_be_bytes());
        }
    }

    /// Writes a signed value in two's complement over `bits` bits.
    #[inline]
    pub fn put_signed(&mut self, bits: u32, value: i32) {
        self.put(bits, value as u32);
    }

    /// Writes `q` zero bits then a one (the unary part of a Rice code).
    #[inline]
    pub fn put_unary(&mut self, mut q: u32) {
        while q >= 32 {
            self.put(32, 0);
            q -= 32;
        }
        self.put(q + 1, 1);
    }

    /// Pads with zero bits to a byte boundary and moves every pending bit to `bytes`.
    pub fn align(&mut self) {
        let pad = (8 - self.n % 8) % 8;
        self.acc <<= pad;
        self.n += pad;
        while self.n > 0 {
            self.n -= 8;
            self.bytes.push((self.acc >> self.n) as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_msb_first() {
        let mut w = BitWriter::new();
        w.put(1, 1);
        w.put(3, 0b010);
        w.put_unary(2);
        w.put_signed(4, -1);
        w.align();
        assert_eq!(w.bytes, [0b1010_0011, 0b1110_0000]);
        w.clear();
        w.put_unary(40);
        w.align();
        assert_eq!(w.bytes.len(), 6);
        assert_eq!(w.bytes[5], 0b1000_0000);
    }
}
