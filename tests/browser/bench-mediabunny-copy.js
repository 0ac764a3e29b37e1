// What an app needs from mediabunny to copy a video's audio into its own file (bench.mjs
// bundles this to measure mediabunny's download size for that use).
export { ALL_FORMATS, AdtsOutputFormat, BlobSource, BufferTarget, Conversion, Input, OggOutputFormat, Output } from 'mediabunny';
