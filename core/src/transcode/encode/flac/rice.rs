//! Partitioned Rice coding of FLAC residuals (FLAC §9.2.7): choosing the partition order and
//! each partition's parameter, then writing the bits.

use super::bits::BitWriter;

/// Highest partition order tried (64 partitions).
const MAX_PARTITION_ORDER: u32 = 6;

/// How a residual will be coded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RicePlan {
    pub order: u32,
    pub params: Vec<u32>,
    /// Five-bit parameters (RICE2) are needed when a parameter exceeds 14.
    pub wide: bool,
    /// Estimated size in bits, partition headers included.
    pub bits: u64,
}

#[inline]
fn zigzag(r: i32) -> u32 {
    ((r << 1) ^ (r >> 31)) as u32
}

/// Best parameter and its estimated cost for `n` values summing to `sum`.
fn best_param(sum: u64, n: u64) -> (u32, u64) {
    if n == 0 {
        return (0, 0);
    }
    let mean = sum / n;
    let k0 = if mean == 0 { 0 } else { 63 - mean.leading_zeros() };
    let cost = |k: u32| n * u64::from(k + 1) + (sum >> k);
    [k0.saturating_sub(1), k0, k0 + 1]
        .into_iter()
        .filter(|&k| k <= 30)
        .map(|k| (k, cost(k)))
        .min_by_key(|&(_, c)| c)
        .unwrap_or((k0.min(30), cost(k0.min(30))))
}

/// Estimated bits for `n` residuals in one partition whose zigzag values sum to `sum`.
pub(crate) fn single_partition_bits(sum: u64, n: usize) -> u64 {
    best_param(sum, n as u64).1
}

/// Plans the coding of `residual`, the last `block − predictor_order` samples of a block.
pub(crate) fn plan(residual: &[i32], block: usize, predictor_order: usize, sums: &mut Vec<u64>) -> RicePlan {
    // Finest usable partition order: partitions must divide the block and the first one must
    // hold more than the warm-up samples.
    let mut max_order = 0;
    while max_order < MAX_PARTITION_ORDER
        && block.is_multiple_of(1 << (max_order + 1))
        && (block >> (max_order + 1)) > predictor_order
    {
        max_order += 1;
    }
    let parts = 1usize << max_order;
    let size = block >> max_order;
    sums.clear();
    sums.resize(parts, 0);
    let mut start = 0;
    for (p, s) in sums.iter_mut().enumerate() {
        let len = if p == 0 { size - predictor_order } else { size };
        *s = residual[start..start + len].iter().map(|&r| u64::from(zigzag(r))).sum();
        start += len;
    }
    let mut best: Option<RicePlan> = None;
    let mut order = max_order;
    loop {
        let parts = 1usize << order;
        let size = block >> order;
        let mut params = Vec::with_capacity(parts);
        let mut bits = 0;
        for (p, &sum) in sums.iter().take(parts).enumerate() {
            let n = (if p == 0 { size - predictor_order } else { size }) as u64;
            let (k, c) = best_param(sum, n);
            params.push(k);
            bits += c;
        }
        let wide = params.iter().any(|&k| k > 14);
        bits += 6 + parts as u64 * if wide { 5 } else { 4 };
        if best.as_ref().is_none_or(|b| bits < b.bits) {
            best = Some(RicePlan { order, params, wide, bits });
        }
        if order == 0 {
            break;
        }
        // Merge neighbouring partitions for the next coarser order.
        for p in 0..parts / 2 {
            sums[p] = sums[2 * p] + sums[2 * p + 1];
        }
        order -= 1;
    }
    best.unwrap_or(RicePlan { order: 0, params: vec![0], wide: false, bits: u64::MAX })
}

/// Writes `residual` as planned.
pub(crate) fn write(w: &mut BitWriter, residual: &[i32], block: usize, predictor_order: usize, plan: &RicePlan) {
    w.put(2, u32::from(plan.wide));
    w.put(4, plan.order);
    let size = block >> plan.order;
    let mut start = 0;
    for (p, &k) in plan.params.iter().enumerate() {
        let len = if p == 0 { size - predictor_order } else { size };
        w.put(if plan.wide { 5 } else { 4 }, k);
        for &r in &residual[start..start + len] {
            let u = zigzag(r);
            let q = u >> k;
            if q + 1 + k <= 32 {
                // Unary zeros, the stop bit and the low bits in one write.
                w.put(q + 1 + k, (1 << k) | (u & ((1u64 << k) - 1) as u32));
            } else {
                w.put_unary(q);
                w.put(k, u);
            }
        }
        start += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_maps_signs() {
        assert_eq!([0, -1, 1, -2, 2].map(zigzag), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn plans_fit_the_data() {
        let small: Vec<i32> = (0..4094).map(|i| (i % 5) - 2).collect();
        let mut sums = Vec::new();
        let p = plan(&small, 4096, 2, &mut sums);
        assert!(p.params.iter().all(|&k| k <= 2));
        assert!(!p.wide);
        let big: Vec<i32> = (0..4096).map(|i| if i % 2 == 0 { 1 << 20 } else { -(1 << 20) }).collect();
        let p = plan(&big, 4096, 0, &mut sums);
        assert!(p.wide && p.params.iter().all(|&k| k > 14));
        let mut w = BitWriter::new();
        write(&mut w, &small, 4096, 2, &plan(&small, 4096, 2, &mut sums));
        w.align();
        assert!(w.bytes.len() * 8 < 4094 * 4);
    }
}
