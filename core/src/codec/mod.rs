//! Codec bitstream facts that containers need: header layouts and packet durations.
//! Small, hand-written parsers, each fuzzable on its own; no crate exposes these pieces alone.

pub(crate) mod aac;
pub(crate) mod opus;
pub(crate) mod vorbis;
