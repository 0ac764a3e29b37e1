// The demo page: extraction in the browser with the converso-audio package (www/pkg, built by
// scripts/build-wasm), and a job through the HTTP API of the same server.

const $ = (id) => document.getElementById(id);

// The engine is built into www/pkg by scripts/build-wasm (scripts/run does it). Without it the
// in-browser tab says so; the API tab still works.
const engine = await import('./pkg/index.js').catch(() => null);
const { extract, plan, probe } = engine ?? {};

// Plain words for the error codes a person can meet here.
const EXPLAIN = {
  INVALID_VIDEO: 'The file is not a video or audio file converso can read, or it has no audio it can decode.',
  INVALID_OUTPUT: 'These output settings cannot be produced; pick another format or quality.',
  EXTRACTION_FAILED: 'The audio could not be extracted: the file breaks off or is damaged part-way.',
  INTERNAL_ERROR: 'Something went wrong on our side.',
  UNAUTHORIZED: 'The API key is missing or not valid.',
  FORBIDDEN: 'This API key is not allowed to do that.',
  INVALID_URL: 'The video URL is not acceptable (http or https, and a public address).',
  DOWNLOAD_FAILED: 'The server could not download the video from that URL.',
  QUEUE_FULL: 'The service is busy; try again in a moment.',
  RATE_LIMIT_EXCEEDED: 'Too many requests; wait a little.',
  FILE_EXPIRED: 'The result has expired; submit the job again.',
};

function showError(box, e) {
  const code = e.code ?? 'INTERNAL_ERROR';
  box.replaceChildren();
  const title = document.createElement('strong');
  title.textContent = `${code}: `;
  const text = document.createElement('span');
  text.textContent = EXPLAIN[code] ?? e.message;
  const detail = document.createElement('p');
  detail.className = 'detail';
  detail.textContent = [e.message, e.details].filter(Boolean).join(' — ');
  box.append(title, text, detail);
  box.dataset.code = code;
  box.hidden = false;
}

const seconds = (ms) => (ms == null ? '…' : `${(ms / 1000).toFixed(1)} s`);
const duration = (s) => (s == null ? '' : s >= 60 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`);
const bytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`);

// Tabs: arrow keys move between them, as the ARIA tabs pattern has it.
const tabs = [...document.querySelectorAll('[role=tab]')];
function selectTab(tab) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  tab.focus();
}
for (const tab of tabs) {
  tab.addEventListener('click', () => selectTab(tab));
  tab.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(tab);
    if (e.key === 'ArrowRight') selectTab(tabs[(i + 1) % tabs.length]);
    if (e.key === 'ArrowLeft') selectTab(tabs[(i - 1 + tabs.length) % tabs.length]);
  });
}

// ---- In the browser ----

// The format that keeps each source codec as it is (a lossless copy).
const COPY_FORMAT = { aac: 'aac', mp3: 'mp3', opus: 'opus', vorbis: 'ogg', flac: 'flac', pcm: 'wav' };

let file = null;
let running = null;
let resultUrl = null;

function outputOptions() {
  const options = { format: $('format').value, quality: $('quality').value };
  if ($('normalize').checked) options.normalize = true;
  return options;
}

async function choose(f) {
  file = f;
  $('error').hidden = true;
  $('result').hidden = true;
  $('source').hidden = true;
  $('plan').textContent = '';
  try {
    const info = await probe(f);
    $('source-name').textContent = `— ${f.name}`;
    $('source-summary').textContent = `${info.container}, ${duration(info.duration)}, ${bytes(info.size)}`;
    const rows = info.tracks.map((t) => {
      const tr = document.createElement('tr');
      const cells = [t.index, t.kind + (t.default ? ' (default)' : ''), t.codec + (t.profile ? ` ${t.profile}` : ''),
        t.channels ?? '', t.sampleRate ? `${t.sampleRate} Hz` : '', duration(t.duration), t.language ?? ''];
      for (const c of cells) tr.insertCell().textContent = c;
      return tr;
    });
    $('tracks').tBodies[0].replaceChildren(...rows);
    const audio = info.tracks.find((t) => t.kind === 'audio' && t.default) ?? info.tracks.find((t) => t.kind === 'audio');
    $('format').value = COPY_FORMAT[audio?.codec] ?? 'flac';
    $('source').hidden = false;
    await replan();
  } catch (e) {
    showError($('error'), e);
  }
}

let planSeq = 0;

async function replan() {
  const seq = ++planSeq;
  const box = $('plan');
  box.className = '';
  delete box.dataset.code;
  $('error').hidden = true;
  $('extract').disabled = false;
  try {
    const p = await plan(file, outputOptions());
    if (seq !== planSeq) return; // the settings changed meanwhile
    const copy = p.mode === 'copy';
    box.className = copy ? 'copy' : '';
    box.textContent = copy
      ? `Lossless copy: the ${p.track.codec} audio goes into the .${p.format} file as it is — fast, no quality lost.`
      : `Re-encode: ${p.description.replace(/^re-encode because /, '')}.`;
  } catch (e) {
    if (seq !== planSeq) return;
    $('extract').disabled = true;
    // Settings that cannot be produced are explained next to the settings; a source that
    // cannot be read is an error like any other.
    if (e.code !== 'INVALID_OUTPUT') return showError($('error'), e);
    box.dataset.code = e.code;
    box.textContent = `${e.code}: ${e.message}${e.details ? ` (${e.details})` : ''}`;
  }
}

async function run() {
  $('error').hidden = true;
  $('result').hidden = true;
  delete $('result').dataset.done;
  $('running').hidden = false;
  $('extract').disabled = true;
  $('cancel').disabled = false;
  $('progress').value = 0;
  running = new AbortController();
  const onProgress = ({ progress, elapsedMs, remainingMs }) => {
    $('progress').value = progress;
    $('percent').textContent = `${Math.floor(progress * 100)} %`;
    $('elapsed').textContent = seconds(elapsedMs);
    $('remaining').textContent = seconds(remainingMs);
  };
  try {
    const r = await extract(file, outputOptions(), { onProgress, signal: running.signal });
    await showResult(r);
  } catch (e) {
    if (e.name === 'AbortError') {
      $('error').hidden = false;
      $('error').dataset.code = 'CANCELLED';
      $('error').textContent = 'Cancelled. Nothing was kept.';
    } else {
      showError($('error'), e);
    }
  } finally {
    running = null;
    $('cancel').disabled = true;
    $('extract').disabled = false;
    $('running').hidden = true;
  }
}

async function showResult(r) {
  if (resultUrl) URL.revokeObjectURL(resultUrl);
  resultUrl = URL.createObjectURL(r.blob);
  const o = r.output;
  $('result-summary').textContent = `${r.filename}: ${bytes(o.size)}, ${duration(o.duration)}, ${o.channels ?? '?'} ch, ` +
    `${o.sampleRate ?? '?'} Hz${o.bitrate ? `, ${Math.round(o.bitrate / 1000)} kbps` : ''} — ${r.plan.description}`;
  $('player').src = resultUrl;
  const link = $('download');
  link.href = resultUrl;
  link.download = r.filename;
  link.textContent = `Download ${r.filename} (${bytes(o.size)})`;
  $('result').hidden = false;
  await drawWaveform(r.blob);
  $('result').dataset.done = 'true'; // for tests: the result is complete, waveform included
}

// Decoding for the waveform holds the whole decoded audio in memory (4 bytes per sample), so it
// is drawn only for outputs up to this size.
const WAVEFORM_MAX = 64 << 20;

async function drawWaveform(blob) {
  const canvas = $('waveform');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  $('waveform-note').textContent = '';
  if (blob.size > WAVEFORM_MAX) {
    $('waveform-note').textContent = `No waveform for outputs over ${bytes(WAVEFORM_MAX)}.`;
    return;
  }
  let audio;
  try {
    const ctx = new OfflineAudioContext(1, 1, 8000);
    audio = await ctx.decodeAudioData(await blob.arrayBuffer());
  } catch {
    $('waveform-note').textContent = 'This browser cannot decode the output to draw its waveform; the file itself is fine.';
    return;
  }
  const data = audio.getChannelData(0);
  const { width, height } = canvas;
  const per = Math.max(1, Math.floor(data.length / width));
  g.fillStyle = '#0b5fff';
  for (let x = 0; x < width; x++) {
    let lo = 0;
    let hi = 0;
    for (let i = x * per, end = Math.min(data.length, i + per); i < end; i++) {
      lo = Math.min(lo, data[i]);
      hi = Math.max(hi, data[i]);
    }
    g.fillRect(x, ((1 - hi) / 2) * height, 1, Math.max(1, ((hi - lo) / 2) * height));
  }
}

if (!engine) {
  $('file').disabled = true;
  showError($('error'), { code: 'INTERNAL_ERROR', message: 'The in-browser engine (www/pkg) is missing: build it with scripts/build-wasm.' });
}
$('file').addEventListener('change', () => $('file').files[0] && choose($('file').files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  if (e.dataTransfer.files[0]) choose(e.dataTransfer.files[0]);
});
for (const id of ['format', 'quality', 'normalize']) $(id).addEventListener('change', () => file && replan());
$('extract').addEventListener('click', run);
$('cancel').addEventListener('click', () => running?.abort());
// A file picked while the engine was still loading fired its change event before the listener
// above was there: take it up now.
if (engine && $('file').files[0]) choose($('file').files[0]);

// ---- With the API ----

$('api-url').value = new URL('/samples/sample.mp4', location.href).href;

async function api(path, key, init = {}) {
  const resp = await fetch(path, { ...init, headers: { 'X-API-Key': key, ...init.headers } });
  const body = resp.headers.get('content-type')?.includes('json') ? await resp.json() : null;
  if (!resp.ok && resp.status !== 202) throw body?.error ?? { code: 'INTERNAL_ERROR', message: `HTTP ${resp.status}` };
  return body;
}

$('api-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('api-key').value.trim();
  $('api-error').hidden = true;
  $('api-download').hidden = true;
  $('api-submit').disabled = true;
  try {
    const output = { format: $('api-format').value, quality: $('api-quality').value };
    const submitted = await api('/v1/extract', key, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ source: { type: 'url', url: $('api-url').value }, output }),
    });
    const id = submitted.data.jobId;
    $('api-job-id').textContent = id;
    $('api-job').hidden = false;
    for (;;) {
      const { data } = await api(`/v1/status/${id}`, key);
      $('api-status').textContent = data.status;
      $('api-step').textContent = data.currentStep ? `(${data.currentStep.replaceAll('_', ' ')})` : '';
      $('api-progress').value = data.progress ?? 0;
      if (data.status === 'failed') throw data.error;
      if (data.status === 'completed') {
        const resp = await fetch(`/v1/download/${id}`, { headers: { 'X-API-Key': key } });
        if (!resp.ok) throw (await resp.json()).error;
        const link = $('api-download');
        link.href = URL.createObjectURL(await resp.blob());
        link.download = data.outputFile?.filename ?? `${id}.${output.format}`;
        link.textContent = `Download ${link.download}`;
        link.hidden = false;
        break;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } catch (err) {
    showError($('api-error'), err);
  } finally {
    $('api-submit').disabled = false;
  }
});
