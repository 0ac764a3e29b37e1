//! Linear prediction for FLAC subframes: fixed polynomial predictors (FLAC §9.2.5) and
//! quantised LPC from a windowed autocorrelation (Levinson–Durbin), as libFLAC does.

/// Highest LPC order tried.
pub(crate) const MAX_LPC_ORDER: usize = 8;

/// The fixed predictor order (0–4) with the smallest sum of absolute residuals, and that sum.
pub(crate) fn best_fixed_order(x: &[i32]) -> (usize, u64) {
    let mut sums = [0u64; 5];
    if x.len() > 4 {
        // Successive differences are the fixed predictors' residuals (FLAC §9.2.5).
        let (mut p1, mut p2, mut p3) = (x[3] - x[2], x[3] - 2 * x[2] + x[1], x[3] - 3 * x[2] + 3 * x[1] - x[0]);
        for i in 4..x.len() {
            let e0 = x[i];
            let e1 = e0 - x[i - 1];
            let e2 = e1 - p1;
            let e3 = e2 - p2;
            let e4 = e3 - p3;
            sums[0] += u64::from(e0.unsigned_abs());
            sums[1] += u64::from(e1.unsigned_abs());
            sums[2] += u64::from(e2.unsigned_abs());
            sums[3] += u64::from(e3.unsigned_abs());
            sums[4] += u64::from(e4.unsigned_abs());
            (p1, p2, p3) = (e1, e2, e3);
        }
    }
    sums.iter().copied().enumerate().min_by_key(|&(_, s)| s).unwrap_or((0, 0))
}

/// Residual of fixed predictor `order` (0–4) into `out`; `false` if a residual overflows.
pub(crate) fn fixed_residual(x: &[i32], order: usize, out: &mut Vec<i32>) -> bool {
    out.clear();
    out.reserve(x.len().saturating_sub(order));
    let x64 = |v: i32| i64::from(v);
    let mut ok = true;
    let mut push = |r: i64| {
        ok &= r.unsigned_abs() < 1 << 30;
        out.push(r as i32);
    };
    // One loop per order, with no branch inside.
    match order {
        0 => x.iter().for_each(|&v| push(x64(v))),
        1 => x.windows(2).for_each(|w| push(x64(w[1]) - x64(w[0]))),
        2 => x.windows(3).for_each(|w| push(x64(w[2]) - 2 * x64(w[1]) + x64(w[0]))),
        3 => x.windows(4).for_each(|w| push(x64(w[3]) - 3 * x64(w[2]) + 3 * x64(w[1]) - x64(w[0]))),
        _ => x.windows(5).for_each(|w| {
            push(x64(w[4]) - 4 * x64(w[3]) + 6 * x64(w[2]) - 4 * x64(w[1]) + x64(w[0]));
        }),
    }
    ok
}

/// Quantised LPC coefficients: `residual = x[i] − (Σ coefs[j]·x[i−1−j]) >> shift`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Quantized {
    pub coefs: Vec<i32>,
    pub precision: u32,
    pub shift: u32,
}

/// LPC coefficients for orders 1..=`max_order` from `x` (Tukey(0.5)-windowed), each with its
/// prediction error energy, or `None` for a silent or degenerate block.
pub(crate) fn lpc(x: &[i32], max_order: usize, window: &[f64]) -> Option<Vec<(Vec<f64>, f64)>> {
    let n = x.len();
    if n <= max_order * 2 {
        return None;
    }
    let w: Vec<f64> = x.iter().zip(window).map(|(&s, &w)| f64::from(s) * w).collect();
    let mut autoc = [0f64; MAX_LPC_ORDER + 1];
    for (lag, a) in autoc.iter_mut().enumerate().take(max_order + 1) {
        // Four partial sums let the compiler vectorise the dot product.
        let (head, tail) = (&w[lag..], &w[..n - lag]);
        let mut acc = [0f64; 4];
        let chunks = head.len() / 4;
        for i in 0..chunks {
            for k in 0..4 {
                acc[k] += head[4 * i + k] * tail[4 * i + k];
            }
        }
        let rest: f64 = head[4 * chunks..].iter().zip(&tail[4 * chunks..]).map(|(a, b)| a * b).sum();
        *a = acc.iter().sum::<f64>() + rest;
    }
    if autoc[0] <= 0.0 {
        return None;
    }
    // Levinson–Durbin for x̂[n] = Σ a[j]·x[n−1−j]; keep every order's coefficients.
    let mut out: Vec<(Vec<f64>, f64)> = Vec::with_capacity(max_order);
    let mut a: Vec<f64> = Vec::with_capacity(max_order);
    let mut err = autoc[0];
    for i in 0..max_order {
        let acc = autoc[i + 1] - a.iter().enumerate().map(|(j, c)| c * autoc[i - j]).sum::<f64>();
        let k = acc / err;
        let prev = a.clone();
        for (j, c) in a.iter_mut().enumerate() {
            *c -= k * prev[i - 1 - j];
        }
        a.push(k);
        err *= 1.0 - k * k;
        if !err.is_finite() || err <= 0.0 || !k.is_finite() {
            break;
        }
        out.push((a.clone(), err));
    }
    (!out.is_empty()).then_some(out)
}

/// The Tukey(0.5) window libFLAC uses by default.
pub(crate) fn tukey(n: usize) -> Vec<f64> {
    let p = 0.5;
    let np = (p / 2.0 * n as f64) as usize;
    (0..n)
        .map(|i| {
            if np == 0 || (i >= np && i < n - np) {
                1.0
            } else {
                let k = if i < np { i } else { n - 1 - i };
                0.5 - 0.5 * (std::f64::consts::PI * k as f64 / np as f64).cos()
            }
        })
        .collect()
}

/// Quantises coefficients to `precision` bits with error feedback (libFLAC's method).
pub(crate) fn quantize(coefs: &[f64], precision: u32) -> Option<Quantized> {
    let cmax = coefs.iter().fold(0f64, |m, c| m.max(c.abs()));
    if cmax <= 0.0 || !cmax.is_finite() {
        return None;
    }
    let log2cmax = cmax.log2().floor() as i32 + 1;
    let shift = (precision as i32 - 1 - log2cmax).clamp(0, 15);
    let (lo, hi) = (-(1i32 << (precision - 1)), (1i32 << (precision - 1)) - 1);
    let mut err = 0.0;
    let scale = f64::from(1u32 << shift);
    let q = coefs
        .iter()
        .map(|c| {
            err += c * scale;
            let q = (err.round() as i32).clamp(lo, hi);
            err -= f64::from(q);
            q
        })
        .collect();
    Some(Quantized { coefs: q, precision, shift: shift as u32 })
}

/// Residual of a quantised predictor into `out`; `false` if a residual overflows.
pub(crate) fn lpc_residual(x: &[i32], q: &Quantized, out: &mut Vec<i32>) -> bool {
    let mut c = [0i64; MAX_LPC_ORDER];
    for (d, s) in c.iter_mut().zip(&q.coefs) {
        *d = i64::from(*s);
    }
    // One monomorphised loop per order keeps the inner product unrolled.
    match q.coefs.len() {
        1 => residual_n::<1>(x, &c, q.shift, out),
        2 => residual_n::<2>(x, &c, q.shift, out),
        3 => residual_n::<3>(x, &c, q.shift, out),
        4 => residual_n::<4>(x, &c, q.shift, out),
        5 => residual_n::<5>(x, &c, q.shift, out),
        6 => residual_n::<6>(x, &c, q.shift, out),
        7 => residual_n::<7>(x, &c, q.shift, out),
        _ => residual_n::<8>(x, &c, q.shift, out),
    }
}

fn residual_n<const N: usize>(x: &[i32], c: &[i64; MAX_LPC_ORDER], shift: u32, out: &mut Vec<i32>) -> bool {
    out.clear();
    out.reserve(x.len().saturating_sub(N));
    let mut ok = true;
    for w in x.windows(N + 1) {
        let mut sum = 0i64;
        for j in 0..N {
            sum += c[j] * i64::from(w[N - 1 - j]);
        }
        let r = i64::from(w[N]) - (sum >> shift);
        ok &= r.unsigned_abs() < 1 << 30;
        out.push(r as i32);
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_is_predicted_closely() {
        let x: Vec<i32> = (0..4096).map(|i| (10000.0 * (i as f64 * 0.05).sin()) as i32).collect();
        let orders = lpc(&x, 8, &tukey(4096)).unwrap();
        let q = quantize(&orders[1].0, 14).unwrap();
        let mut r = Vec::new();
        assert!(lpc_residual(&x, &q, &mut r));
        assert!(r.iter().skip(10).all(|v| v.abs() <= 3), "{:?}", &r[..20]);
        assert!(fixed_residual(&x, 2, &mut r));
        assert_eq!(r.len(), 4094);
    }

    #[test]
    fn silence_has_no_lpc() {
        assert!(lpc(&[0; 1000], 8, &tukey(1000)).is_none());
    }
}
