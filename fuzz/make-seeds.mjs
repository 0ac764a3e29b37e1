// Seed corpora for the fuzz targets, derived from the test fixtures (scripts/make-fixtures):
//
//   node fuzz/make-seeds.mjs FIXTURES_DIR OUT_DIR
//
// writes OUT_DIR/<target>/seed-* for each target that takes files or codec data. Media seeds are
// the fixtures cut by ffmpeg to their first 0.15 s (3–35 KB, so an execution stays fast), plus
// audio-only FLAC, MP3, ADTS and WAV files; codec seeds (OpusHead, dOps, Vorbis headers and
// packets, STREAMINFO) are taken out of them. Targets whose input is built with `arbitrary`
// (adts, tags, flac_encode) start from nothing. Needs ffmpeg.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [fixtures, out] = process.argv.slice(2);
if (!fixtures || !out) {
  console.error("usage: node fuzz/make-seeds.mjs FIXTURES_DIR OUT_DIR");
  process.exit(2);
}

// The cut files are made in a directory of this run's own, so runs side by side do not meet.
const media = mkdtempSync(join(tmpdir(), "converso-seeds-"));
const ffmpeg = (...args) => execFileSync("ffmpeg", ["-v", "error", "-y", ...args], { stdio: "inherit" });

// The first 0.15 s of each readable and refused fixture, every stream kept.
for (const name of readdirSync(fixtures).sort()) {
  if (name.startsWith(".") || name.startsWith("long_") || name.startsWith("broken_") || name.endsWith(".json")) continue;
  ffmpeg("-i", join(fixtures, name), "-t", "0.15", "-map", "0", "-c", "copy", "-fflags", "+bitexact", join(media, name));
}
// Audio-only containers the fixtures only hold inside videos, some tagged.
const audioOnly = [
  ["mkv_h264_flac.mkv", "audio.flac", ["-metadata", "title=Seed"]],
  ["mkv_h264_mp3.mkv", "audio.mp3", ["-metadata", "title=Seed"]],
  ["mp4_h264_aac_stereo44k.mp4", "audio.aac", []],
  ["mkv_h264_pcm_s16le.mkv", "audio.wav", ["-metadata", "title=Seed", "-metadata", "artist=A"]],
];
for (const [from, to, tags] of audioOnly) {
  ffmpeg("-i", join(fixtures, from), "-t", "0.05", "-vn", "-c:a", "copy", ...tags, "-fflags", "+bitexact", join(media, to));
}

const files = readdirSync(media).sort().map((n) => [n, readFileSync(join(media, n))]);
const broken = ["broken_text_as.mp4", "broken_empty.mp4"].map((n) => readFileSync(join(fixtures, n)));
const prefixes = files.filter(([n]) => /\.(mp4|mov|webm|mkv)$/.test(n)).map(([, b]) => b.subarray(0, 2048));

const seeds = {};
const add = (target, bytes) => (seeds[target] ??= []).push(Buffer.from(bytes));

/** Pieces behind 2-byte little-endian lengths, as `converso_fuzz::pieces` reads them. */
const pieces = (parts) =>
  Buffer.concat(parts.flatMap((p) => [Buffer.from([p.length & 0xff, p.length >> 8]), Buffer.from(p)]));

/** The first `n` packets of the first stream of an Ogg file. */
function oggPackets(b, n) {
  const packets = [];
  let cur = [];
  for (let at = 0; at + 27 <= b.length && packets.length < n; ) {
    const segments = b[at + 26];
    let p = at + 27 + segments;
    for (let s = 0; s < segments; s++) {
      const len = b[at + 27 + s];
      cur.push(b.subarray(p, p + len));
      p += len;
      if (len < 255) {
        packets.push(Buffer.concat(cur));
        cur = [];
      }
    }
    at = p;
  }
  return packets.slice(0, n);
}

/** The payload of the first box of `kind` (a 4-character code) found anywhere in `b`. */
function boxBody(b, kind) {
  const at = b.indexOf(kind);
  return at < 4 ? null : b.subarray(at + 4, at - 4 + b.readUInt32BE(at - 4));
}

const file = (name) => files.find(([n]) => n === name)[1];

for (const [, b] of files) {
  add("probe", b);
}
for (const b of [...broken, ...prefixes]) {
  add("probe", b);
}
files.forEach(([, b], i) => {
  // One seed per output format; quality, normalize and preserveMetadata vary with the file.
  for (let format = 0; format < 6; format++) add("extract", Buffer.concat([Buffer.from([format | ((i * 16 + format * 64) & 0xf0)]), b]));
});
for (const [n, b] of files) {
  if (/\.(mp4|mov)$/.test(n)) add("mp4_tables", b);
}
add("riff_info", file("audio.wav").subarray(0, 1024));
add("riff_info", file("avi_mpeg4_pcm_mono8k.avi").subarray(0, 1024));

const opus = oggPackets(file("ogg_opus.opus"), 6);
const dops = boxBody(file("mp4_h264_opus.mp4"), "dOps");
add("opus", opus[0]);
add("opus", Buffer.concat([Buffer.from("OpusHead"), dops]));
opus.slice(2).forEach((p) => add("opus", p));
add("ogg_mux", Buffer.concat([Buffer.from([0]), pieces([opus[0], ...opus.slice(2).map((p) => [0, ...p])])]));
add("ogg_mux", Buffer.concat([Buffer.from([2 | (8 << 2)]), pieces([opus[0], ...opus.slice(2).map((p, i) => [i, ...p])])]));

const vorbis = oggPackets(file("ogg_vorbis.ogg"), 8);
const [ident, comment, setup] = vorbis;
const laced = Buffer.concat([Buffer.from([2, ident.length, comment.length]), ident, comment, setup]);
const audio = vorbis.slice(3);
for (const extra of [Buffer.concat([ident, comment, setup]), Buffer.concat([ident, setup]), laced]) {
  add("vorbis", pieces([extra, ...audio]));
  add("ogg_mux", Buffer.concat([Buffer.from([1]), pieces([extra, ...audio.map((p) => [0, ...p])])]));
}

const flac = file("audio.flac");
add("flac_header", pieces([flac.subarray(0, 42), Buffer.from("TITLE=x")]));
add("flac_header", pieces([flac.subarray(8, 42)]));

const head = Buffer.from([0, 0, 2, 0x89, 0x15, 16, 32, 3]); // AAC-LC stereo 44.1 kHz
for (const json of [
  '{"format":"mp3","quality":"medium"}',
  '{"format":"opus","bitrate":"96k","normalize":true}',
  '{"format":"flac","preserveMetadata":true}',
  '{"format":"aac","quality":"extreme","bitrate":"320000"}',
  '{"format":"ogg","quality":"low"}',
  '{"format":"wav"}',
]) {
  add("options", Buffer.concat([head, Buffer.from(json)]));
}
for (const json of [
  '{"source":{"type":"url","url":"https://example.com/video.mp4"},"output":{"format":"mp3","quality":"medium"}}',
  '{"source":{"type":"url","url":"https://example.com/a/My%20Video.webm?x=1"},"output":{"format":"opus","bitrate":"64k"},"options":{"filename":"my-audio","webhook":"https://example.com/hook","priority":"high"}}',
  '{"source":{"type":"url","url":"http://127.0.0.1:8080/v.mp4"},"output":{"format":"flac","normalize":true,"preserveMetadata":true}}',
]) {
  add("edge_request", Buffer.concat([Buffer.from([0]), Buffer.from(json)]));
}

for (const [target, list] of Object.entries(seeds)) {
  const dir = join(out, target);
  mkdirSync(dir, { recursive: true });
  list.forEach((b, i) => writeFileSync(join(dir, `seed-${String(i).padStart(3, "0")}`), b));
}
rmSync(media, { recursive: true, force: true });
console.log(Object.entries(seeds).map(([t, l]) => `${t}: ${l.length}`).join(", "));
