//! Downmix to stereo, for layouts an encoder cannot carry (anything above stereo for MP3; quad,
//! 6.1 and more than eight channels for AAC; more than eight for Opus).
//!
//! The decoders hand over channels in WAV order with the default layout for their count
//! (`mux::wav::default_channel_mask`): 3 = FL FR FC, 4 = FL FR BL BR, 5 = FL FR FC BL BR,
//! 6 = 5.1 (FL FR FC LFE BL BR), 7 = 6.1 (… BC), 8 = 7.1 (… SL SR). The coefficients are
//! ITU-R BS.775's: front left and right at 1, centre and each surround at −3 dB (1/√2) into
//! their side, a back centre at −6 dB into both, and the LFE left out. The whole matrix is then
//! scaled so that the louder output's coefficients sum to 1, so no input can clip (5.1: ×0.414).
//! Layouts of more than eight channels, which have no default order, alternate left/right.

use std::f32::consts::FRAC_1_SQRT_2;

/// Where one input channel goes: its gain into left and into right.
type Gains = [f32; 2];

pub(crate) struct Downmix {
    from: usize,
    matrix: Vec<Gains>,
}

impl Downmix {
    /// A downmix of `channels` (more than two) to stereo.
    pub fn to_stereo(channels: usize) -> Downmix {
        const FL: Gains = [1.0, 0.0];
        const FR: Gains = [0.0, 1.0];
        const C: Gains = [FRAC_1_SQRT_2, FRAC_1_SQRT_2];
        const LFE: Gains = [0.0, 0.0];
        const SL: Gains = [FRAC_1_SQRT_2, 0.0];
        const SR: Gains = [0.0, FRAC_1_SQRT_2];
        const BC: Gains = [0.5, 0.5];
        let mut matrix: Vec<Gains> = match channels {
            3 => vec![FL, FR, C],
            4 => vec![FL, FR, SL, SR],
            5 => vec![FL, FR, C, SL, SR],
            6 => vec![FL, FR, C, LFE, SL, SR],
            7 => vec![FL, FR, C, LFE, SL, SR, BC],
            8 => vec![FL, FR, C, LFE, SL, SR, SL, SR],
            n => (0..n).map(|i| if i % 2 == 0 { FL } else { FR }).collect(),
        };
        let loudest = (0..2).map(|o| matrix.iter().map(|g| g[o]).sum::<f32>()).fold(0.0f32, f32::max);
        for g in &mut matrix {
            g[0] /= loudest;
            g[1] /= loudest;
        }
        Downmix { from: channels, matrix }
    }

    /// Mixes interleaved `input` (whole frames of the source's channels) into interleaved
    /// stereo appended to `out`.
    pub fn apply(&self, input: &[f32], out: &mut Vec<f32>) {
        out.reserve(input.len() / self.from * 2);
        for frame in input.chunks_exact(self.from) {
            let (mut l, mut r) = (0.0f32, 0.0f32);
            for (s, g) in frame.iter().zip(&self.matrix) {
                l += s * g[0];
                r += s * g[1];
            }
            out.push(l);
            out.push(r);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_one_keeps_fronts_and_never_clips() {
        let d = Downmix::to_stereo(6);
        let mut out = Vec::new();
        // FL only; then every channel at full scale.
        d.apply(&[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], &mut out);
        let k = 1.0 / (1.0 + 2.0 * FRAC_1_SQRT_2);
        assert!((out[0] - k).abs() < 1e-6 && out[1] == 0.0, "{out:?}");
        assert!((out[2] - 1.0).abs() < 1e-6 && (out[3] - 1.0).abs() < 1e-6, "{out:?}");
    }

    #[test]
    fn lfe_is_left_out_and_centre_is_shared() {
        let d = Downmix::to_stereo(6);
        let mut out = Vec::new();
        d.apply(&[0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], &mut out);
        assert_eq!(&out[..2], &[0.0, 0.0]);
        assert!(out[2] > 0.0 && out[2] == out[3]);
    }

    #[test]
    fn wide_layouts_alternate() {
        let d = Downmix::to_stereo(10);
        let mut out = Vec::new();
        d.apply(&[1.0; 10], &mut out);
        assert!((out[0] - 1.0).abs() < 1e-6 && (out[1] - 1.0).abs() < 1e-6);
    }
}
