//! `normalize`'s measuring pass and its gain (the method is in `loudness`).

use ebur128::{Channel, EbuR128, Mode};

use super::encode::Prep;
use crate::error::{Error, Result};
use crate::loudness::{Normalization, MAX_TRUE_PEAK_DBTP, TARGET_LUFS};

impl Normalization {
    /// The gain for a measured loudness and true peak (both in dB; `-inf` for silence).
    pub(crate) fn from_measurement(lufs: f64, true_peak_db: f64) -> Normalization {
        let finite = |v: f64| v.is_finite().then_some(v);
        let (input_lufs, input_true_peak) = (finite(lufs), finite(true_peak_db));
        let (gain_db, peak_limited) = match (input_lufs, input_true_peak) {
            (Some(l), Some(p)) => {
                let to_target = TARGET_LUFS - l;
                let to_cap = MAX_TRUE_PEAK_DBTP - p;
                if to_cap < to_target {
                    (to_cap, true)
                } else {
                    (to_target, false)
                }
            }
            _ => (0.0, false),
        };
        Normalization { input_lufs, input_true_peak, gain_db, peak_limited }
    }
}

/// The first pass: measures decoded samples as the encoder would receive them.
pub(crate) struct Meter {
    ebu: EbuR128,
    prep: Prep,
    floats: Vec<f32>,
}

fn meter_error(e: ebur128::Error) -> Error {
    Error::extraction_failed("the loudness measurement failed").with_details(e.to_string())
}

impl Meter {
    /// A meter behind `prep` (the encoder's conversion to floats, downmix and resampling), which
    /// puts out `channels` channels (WAV order) at `rate` Hz.
    pub fn new(prep: Prep, channels: usize, rate: u32) -> Result<Meter> {
        let mode = Mode::I | Mode::TRUE_PEAK | Mode::HISTOGRAM;
        let mut ebu = EbuR128::new(channels as u32, rate, mode).map_err(meter_error)?;
        ebu.set_channel_map(&channel_map(channels)).map_err(meter_error)?;
        Ok(Meter { ebu, prep, floats: Vec::new() })
    }

    /// Measures interleaved decoded samples (whole frames).
    pub fn add(&mut self, samples: &[i32]) -> Result<()> {
        self.prep.process(samples, &mut self.floats)?;
        self.ebu.add_frames_f32(&self.floats).map_err(meter_error)
    }

    /// Measures what the conversion still holds and works out the gain.
    pub fn finish(mut self) -> Result<Normalization> {
        self.prep.finish(&mut self.floats)?;
        self.ebu.add_frames_f32(&self.floats).map_err(meter_error)?;
        let lufs = self.ebu.loudness_global().map_err(meter_error)?;
        let mut peak = 0f64;
        for c in 0..self.ebu.channels() {
            peak = peak.max(self.ebu.true_peak(c).map_err(meter_error)?);
        }
        Ok(Normalization::from_measurement(lufs, 20.0 * peak.log10()))
    }
}

/// BS.1770 channel roles for the decoders' WAV channel order (`mux::wav::default_channel_mask`).
fn channel_map(channels: usize) -> Vec<Channel> {
    use Channel::{Center, Left, LeftSurround, Mm090, Mp090, Mp180, Right, RightSurround, Unused};
    let roles: &[Channel] = match channels {
        1 => &[Left],
        2 => &[Left, Right],
        3 => &[Left, Right, Center],
        4 => &[Left, Right, LeftSurround, RightSurround],
        5 => &[Left, Right, Center, LeftSurround, RightSurround],
        6 => &[Left, Right, Center, Unused, LeftSurround, RightSurround],
        7 => &[Left, Right, Center, Unused, LeftSurround, RightSurround, Mp180],
        8 => &[Left, Right, Center, Unused, LeftSurround, RightSurround, Mp090, Mm090],
        _ => &[],
    };
    let mut map = roles.to_vec();
    // Layouts without a standard order: the first two as left and right, the rest counted.
    map.resize(channels, Center);
    if roles.is_empty() && channels >= 2 {
        map[..2].copy_from_slice(&[Left, Right]);
    }
    map
}

/// The second pass: scales integer samples of `bits` bits by the gain, rounding to the nearest
/// value.
pub(crate) struct Gain {
    factor: f64,
    lo: f64,
    hi: f64,
}

impl Gain {
    pub fn new(gain_db: f64, bits: u32) -> Gain {
        let full = (1u64 << (bits - 1)) as f64;
        Gain { factor: 10f64.powf(gain_db / 20.0), lo: -full, hi: full - 1.0 }
    }

    pub fn apply(&self, samples: &mut [i32]) {
        for s in samples {
            // Round half away from zero by hand: `f64::round` is a libm call on wasm32.
            let v = (f64::from(*s) * self.factor).clamp(self.lo, self.hi);
            *s = (v + 0.5f64.copysign(v)).clamp(self.lo, self.hi) as i32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gain_reaches_the_target_unless_the_peak_cap_is_lower() {
        let quiet = Normalization::from_measurement(-30.0, -20.0);
        assert_eq!((quiet.gain_db, quiet.peak_limited), (14.0, false));
        let loud = Normalization::from_measurement(-8.0, -2.0);
        assert_eq!((loud.gain_db, loud.peak_limited), (-8.0, false));
        let peaky = Normalization::from_measurement(-30.0, -0.5);
        assert_eq!((peaky.gain_db, peaky.peak_limited), (-0.5, true));
        let silent = Normalization::from_measurement(f64::NEG_INFINITY, f64::NEG_INFINITY);
        assert_eq!((silent.gain_db, silent.input_lufs), (0.0, None));
    }

    #[test]
    fn gain_rounds_and_stays_in_range() {
        let mut s = [1000, -1000, 32767, -32768, 0, 3];
        Gain::new(6.020_599_913_279_624, 16).apply(&mut s);
        assert_eq!(s, [2000, -2000, 32767, -32768, 0, 6]);
        let mut s = [1001, -1001];
        Gain::new(-6.020_599_913_279_624, 16).apply(&mut s);
        assert_eq!(s, [501, -501], "half away from zero");
    }

    #[test]
    fn measures_a_full_scale_sine_like_the_standard() {
        // BS.1770: a 997 Hz sine at 0 dBFS on one channel of a stereo pair reads −3.01 LUFS.
        let rate = 48_000;
        let prep = Prep::new(2, rate, 16, 2, rate).unwrap();
        let mut m = Meter::new(prep, 2, rate).unwrap();
        let samples: Vec<i32> = (0..rate as usize * 5)
            .flat_map(|i| {
                let v = (std::f64::consts::TAU * 997.0 * i as f64 / f64::from(rate)).sin() * 32767.0;
                [v as i32, 0]
            })
            .collect();
        m.add(&samples).unwrap();
        let n = m.finish().unwrap();
        assert!((n.input_lufs.unwrap() + 3.01).abs() < 0.05, "{n:?}");
        assert!(n.input_true_peak.unwrap().abs() < 0.05, "{n:?}");
        assert!((n.gain_db + 12.99).abs() < 0.05 && !n.peak_limited, "{n:?}");
    }

    #[test]
    fn surround_channel_roles() {
        assert_eq!(channel_map(6)[3], Channel::Unused, "LFE is not counted");
        assert_eq!(channel_map(12).len(), 12);
        assert_eq!(channel_map(12)[..2], [Channel::Left, Channel::Right]);
    }
}
