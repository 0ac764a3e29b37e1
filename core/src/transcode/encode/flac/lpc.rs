//! Linear prediction for FLAC subframes: fixed polynomial predictors (FLAC §9.2.5) and
//! quantised LPC from a windowed autocorrelation (Levinson–Durbin), as libFLAC does.

/// Highest LPC order tried.
pub(crate) const MAX_LPC_ORDER: usize = 8;

/// The fixed predictor order (0–4) with the smallest sum of absolute residuals, and that sum,
/// for samples of at most `bps` bits (≤ 25: 24-bit side channels).
pub(crate) fn best_fixed_order(x: &[i32], bps: u32) -> (usize, u64) {
    let mut sums = [0u64; 5];
    if x.len() > 4 {
        // The fixed predictors' residuals (FLAC §9.2.5) straight from the samples, with no
        // recurrence from one sample to the next, and 32-bit partial sums, so the loop
        // vectorises. A residual is at most 2^(bps + 3); a run of `run` of them below 2^32.
        let run = 1usize << 28u32.saturating_sub(bps).min(12);
        let m = x.len() - 4;
        let mut start = 0;
        while start < m {
            let end = (start + run).min(m);
            let (a, b, c) = (&x[start..end], &x[start + 1..end + 1], &x[start + 2..end + 2]);
            let (d, e) = (&x[start + 3..end + 3], &x[start + 4..end + 4]);
            let mut part = [0u32; 5];
            for k in 0..end - start {
                let (a, b, c, d, e) = (a[k], b[k], c[k], d[k], e[k]);
                part[0] += e.unsigned_abs();
                part[1] += (e - d).unsigned_abs();
                part[2] += (e - 2 * d + c).unsigned_abs();
                part[3] += (e - 3 * d + 3 * c - b).unsigned_abs();
                part[4] += (e - 4 * d + 6 * c - 4 * b + a).unsigned_abs();
            }
            for (s, p) in sums.iter_mut().zip(part) {
                *s += u64::from(p);
            }
            start = end;
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
///
/// The autocorrelation runs in `f32` (as libFLAC's did for years), which vectorises twice as
/// wide; its relative error (near 10⁻⁶) is far below real audio's prediction error. A block
/// predicted almost perfectly runs out of that precision: Levinson–Durbin stops where the
/// error energy comes out zero or negative, and higher orders could only model rounding. Only
/// when that happens before order 2 (pure tones, which order 2 predicts exactly) is the block
/// done again in `f64`. (On the benchmark's tones, redoing every stopped block in `f64` to reach
/// order 8 made files 8 % larger, not smaller: those orders quantise worse.)
pub(crate) fn lpc(x: &[i32], max_order: usize, window: &[f32]) -> Option<Vec<(Vec<f64>, f64)>> {
    if x.len() <= max_order * 2 {
        return None;
    }
    match levinson(&autocorrelation::<f32>(x, window, max_order), max_order) {
        Some(fast) if fast.len() >= 2 => Some(fast),
        _ => levinson(&autocorrelation::<f64>(x, window, max_order), max_order),
    }
}

/// Floating-point types the autocorrelation runs in.
trait Real: Copy + Default + std::ops::Mul<Output = Self> + std::ops::AddAssign + Into<f64> {
    /// A sample times its window value.
    fn windowed(sample: i32, window: f32) -> Self;
}

impl Real for f32 {
    fn windowed(sample: i32, window: f32) -> f32 {
        sample as f32 * window
    }
}

impl Real for f64 {
    fn windowed(sample: i32, window: f32) -> f64 {
        f64::from(sample) * f64::from(window)
    }
}

/// Autocorrelation of the windowed `x` at lags 0..=`max_order`, in eight partial sums per lag
/// so the products vectorise.
fn autocorrelation<F: Real>(x: &[i32], window: &[f32], max_order: usize) -> [f64; MAX_LPC_ORDER + 1] {
    let n = x.len();
    let w: Vec<F> = x.iter().zip(window).map(|(&s, &w)| F::windowed(s, w)).collect();
    let mut autoc = [0f64; MAX_LPC_ORDER + 1];
    for (lag, a) in autoc.iter_mut().enumerate().take(max_order + 1) {
        let (head, tail) = (w[lag..].chunks_exact(8), w[..n - lag].chunks_exact(8));
        let rest: f64 = head.remainder().iter().zip(tail.remainder()).map(|(&a, &b)| (a * b).into()).sum();
        let mut acc = [F::default(); 8];
        for (h, t) in head.zip(tail) {
            for k in 0..8 {
                acc[k] += h[k] * t[k];
            }
        }
        *a = acc.iter().map(|&v| v.into()).sum::<f64>() + rest;
    }
    autoc
}

/// Levinson–Durbin for x̂[n] = Σ a[j]·x[n−1−j], keeping every order's coefficients until the
/// error energy stops being positive; `None` for a silent block.
fn levinson(autoc: &[f64; MAX_LPC_ORDER + 1], max_order: usize) -> Option<Vec<(Vec<f64>, f64)>> {
    if autoc[0] <= 0.0 {
        return None;
    }
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
pub(crate) fn tukey(n: usize) -> Vec<f32> {
    let p = 0.5;
    let np = (p / 2.0 * n as f64) as usize;
    (0..n)
        .map(|i| {
            if np == 0 || (i >= np && i < n - np) {
                1.0
            } else {
                let k = if i < np { i } else { n - 1 - i };
                (0.5 - 0.5 * (std::f64::consts::PI * k as f64 / np as f64).cos()) as f32
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
    let mut c = [0i32; MAX_LPC_ORDER];
    for (d, s) in c.iter_mut().zip(&q.coefs) {
        *d = *s;
    }
    // The prediction fits 32 bits when Σ|coef| · max|sample| does: then a 32-bit sum, which
    // vectorises, else a 64-bit one.
    let peak = x.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    let gain: u64 = q.coefs.iter().map(|v| u64::from(v.unsigned_abs())).sum();
    let narrow = gain * u64::from(peak) < 1 << 31;
    // One monomorphised loop per order and width keeps the inner product unrolled.
    macro_rules! by_order {
        ($acc:ty) => {
            match q.coefs.len() {
                1 => residual_n::<1, $acc>(x, &c, q.shift, out),
                2 => residual_n::<2, $acc>(x, &c, q.shift, out),
                3 => residual_n::<3, $acc>(x, &c, q.shift, out),
                4 => residual_n::<4, $acc>(x, &c, q.shift, out),
                5 => residual_n::<5, $acc>(x, &c, q.shift, out),
                6 => residual_n::<6, $acc>(x, &c, q.shift, out),
                7 => residual_n::<7, $acc>(x, &c, q.shift, out),
                _ => residual_n::<8, $acc>(x, &c, q.shift, out),
            }
        };
    }
    if narrow {
        by_order!(i32)
    } else {
        by_order!(i64)
    }
}

/// The residual with sums in `A` (`i32` only where the caller checked they cannot overflow):
/// each residual from the samples before it, no dependency between residuals, so the loop
/// vectorises.
fn residual_n<const N: usize, A>(x: &[i32], c: &[i32; MAX_LPC_ORDER], shift: u32, out: &mut Vec<i32>) -> bool
where
    A: Copy
        + Default
        + From<i32>
        + Into<i64>
        + std::ops::Mul<Output = A>
        + std::ops::AddAssign
        + std::ops::Shr<u32, Output = A>,
{
    out.clear();
    out.resize(x.len().saturating_sub(N), 0);
    let mut ok = true;
    for (i, (o, &t)) in out.iter_mut().zip(&x[N.min(x.len())..]).enumerate() {
        let past = &x[i..i + N];
        let mut sum = A::default();
        for j in 0..N {
            sum += A::from(c[j]) * A::from(past[N - 1 - j]);
        }
        let r = i64::from(t) - (sum >> shift).into();
        ok &= r.unsigned_abs() < 1 << 30;
        *o = r as i32;
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
