// twitchscope live scope: a Streamlit components-v2 module (no build step).
//
// Streamlit calls the default export on mount and again whenever the page sends new
// data (the element stays mounted: it has a stable key). Each call brings the chunks
// of bins new since the last run (min/max per bin, µV, base64 float32), the markers
// and the switches. The scope keeps its own ring buffer of bins per channel and draws
// it on a canvas with requestAnimationFrame, scrolling on its own clock between
// updates. Each pixel column holds a fixed span of the stream (the window over the
// width), so the traces are stroked once, column by column as bins come, into a
// layer kept beside the canvas (a ring of columns); a frame copies the visible columns
// from it and draws the grid, sites and markers around them. A lane is stroked again
// when its scale moves to the next step (1, 1.5, 2, 3, 5, 7 x 10^k µV). Sound: a click
// when a flagged twitch's marker first shows, and, when on, the EMG audio monitor (samples made on the server) scheduled through a small jitter
// buffer. What it did is written to data-* attributes of the root element, for tests.
//
// The page is told once per mount when the first trace is drawn (state "drawn"): the
// Live page sends the rest of itself after that, not while the scope still loads.
//
// The line: each message from the page also names the scope's line, an event stream
// (Server-Sent Events) from the dashboard process on loopback that sends the same
// messages about 25 times a second without a run of the page. The scope takes chunks
// from both (numbered: what it has is skipped) and the markers of the newest message.
// The line is tried only when the page itself comes from this machine; when it cannot
// be had, the page's runs bring everything, as before.

const STATES = new WeakMap();
const TRACE = "#1f3b73";
const TWITCH = "#d62728";
const SITE_FILL = "rgba(46,160,67,0.13)";
const SITE_TEXT = "#1a7f37";
const REJECT_FILL = "rgba(150,150,150,0.18)";
// lanes are white and, every other one, this (rgba(31,59,115,0.035) over white, made
// opaque: the trace layer is opaque, so copying it is a copy, not a blend)
const LANE_FILL = ["#ffffff", "rgb(247,248,250)"];
const REJECT_TEXT = "rgb(110,110,110)";
const JITTER_S = 0.3; // audio scheduled this far ahead of now
const MAX_AHEAD_S = 1.2; // more queued than this: start again (latency would grow)
const RING_S = 60; // seconds of bins kept in the browser
const MAX_CHUNK_S = 0.5; // at most this much of one chunk's sound is played
const MAX_LAG_S = 0.3; // the display runs at most this far behind the newest bin
const CATCH_UP_S = 0.05; // a new marker ahead of the display: the display jumps to it + this
// at most one frame in 20 ms (every other frame of a 60 Hz display: the CPU is shared);
// not 1000/30, or a frame that came late would make the next one wait an extra tick
const MIN_FRAME_MS = 20;
const PENDING = "#ff7f0e"; // a candidate that already looks like a twitch, not decided yet
const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);
const SCALE_STEPS = [1, 1.5, 2, 3, 5, 7]; // x 10^k µV: a lane's scale moves in these steps
const LAYER_AHEAD_S = 3; // the layer also holds this much stream ahead of the display

function decode(b64) {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

function newState(parent) {
  const root = document.createElement("div");
  root.className = "ts-scope";
  const canvas = document.createElement("canvas");
  canvas.className = "ts-scope-canvas";
  root.appendChild(canvas);
  parent.appendChild(root);
  const st = {
    root,
    canvas,
    // opaque: every frame paints the whole canvas, and the compositor need not blend it
    ctx: canvas.getContext("2d", { alpha: false }),
    stream: null,
    lastSeq: 0,
    mseq: 0,
    lineUrl: null,
    es: null,
    lineMessages: 0,
    setState: null,
    frames: 0,
    chunks: 0,
    audioChunks: 0,
    audioUnderruns: 0,
    clicks: 0,
    catchUps: 0,
    markersDrawn: 0,
    lanesWhole: 0, // lanes stroked whole into the trace layer (for tests)
    lanesPart: 0, // lanes of which only the new columns were stroked
    seenTwitches: null, // ids known when the scope started (never clicked)
    drawnTwitches: new Set(),
    markerLog: [],
    drawnPending: new Set(),
    pendingLog: [],
    td: null, // display time, s of stream
    lastWall: null,
    lastArrival: null,
    interval: 0.25,
    rate: 1.0,
    latest: null,
    dirty: true,
    frozenSnap: null,
    audioCtx: null,
    monitorGain: null,
    nextAudioT: 0,
    raf: 0,
    width: 0,
    lastDraw: 0,
    visible: true,
  };
  blank(st);
  // no drawing while the scope is scrolled out of view
  if (window.IntersectionObserver) {
    st.observer = new IntersectionObserver((entries) => {
      for (const e of entries) st.visible = e.isIntersecting;
    });
    st.observer.observe(root);
  }
  st.onGesture = () => {
    if (st.audioCtx && st.audioCtx.state === "suspended") st.audioCtx.resume();
  };
  document.addEventListener("pointerdown", st.onGesture, true);
  document.addEventListener("keydown", st.onGesture, true);
  const destroy = () => {
    cancelAnimationFrame(st.raf);
    if (st.es) st.es.close();
    st.es = null;
    if (st.observer) st.observer.disconnect();
    document.removeEventListener("pointerdown", st.onGesture, true);
    document.removeEventListener("keydown", st.onGesture, true);
    // destroy may come twice (two cleanups of one element): close the context once
    const ctx = st.audioCtx;
    st.audioCtx = null;
    if (ctx && ctx.state !== "closed") ctx.close().catch(() => {});
    root.remove();
    STATES.delete(parent);
  };
  // Streamlit also calls the cleanup of a call whose data was superseded while the
  // module loaded; only a scope whose element left the page is torn down
  st.cleanup = () => {
    setTimeout(() => {
      if (!parent.isConnected) destroy();
    }, 0);
  };
  const loop = () => {
    st.raf = requestAnimationFrame(loop);
    frame(st);
  };
  st.raf = requestAnimationFrame(loop);
  return st;
}

function resetStream(st, d) {
  st.stream = d.stream;
  st.sfreq = d.sfreq;
  st.spb = d.spb;
  st.bps = d.sfreq / d.spb; // bins per second
  st.nch = d.names.length;
  st.cap = Math.ceil(RING_S * st.bps);
  st.lo = new Float32Array(st.nch * st.cap).fill(NaN);
  st.hi = new Float32Array(st.nch * st.cap).fill(NaN);
  st.binEnd = null;
  st.lastSeq = 0;
  st.mseq = 0;
  st.level = new Array(st.nch).fill(0); // each lane's peak µV, smoothed
  st.scale = new Array(st.nch).fill(0); // each lane's scale: the level's next step up
  st.layer = null;
  st.td = null;
  st.latest = null;
  st.frozenSnap = null;
  st.seenTwitches = null;
  st.drawnTwitches = new Set();
  st.refillAsked = false;
  st.dirty = true;
}

function applyChunk(st, c) {
  const lo = decode(c.lo);
  const hi = c.hi ? decode(c.hi) : lo; // one sample per bin: min = max
  const n = c.n;
  if (st.binEnd === null) st.binEnd = c.b0;
  // bins already stroked into the layer sent again (a refill): a new layer
  if (c.b0 < st.binEnd) st.layer = null;
  // bins skipped (the feed fell behind, or a message was lost): a break in the trace
  for (let b = st.binEnd; b < c.b0 && b < st.binEnd + st.cap; b++) {
    for (let ch = 0; ch < st.nch; ch++) {
      st.lo[ch * st.cap + (b % st.cap)] = NaN;
      st.hi[ch * st.cap + (b % st.cap)] = NaN;
    }
  }
  for (let ch = 0; ch < st.nch; ch++) {
    const base = ch * st.cap;
    for (let i = 0; i < n; i++) {
      const j = base + ((c.b0 + i) % st.cap);
      st.lo[j] = lo[ch * n + i];
      st.hi[j] = hi[ch * n + i];
    }
  }
  st.binEnd = Math.max(st.binEnd, c.b0 + n);
  st.chunks += 1;
}

function updateScales(st) {
  const nb = Math.min(st.cap, Math.round(10 * st.bps));
  for (let ch = 0; ch < st.nch; ch++) {
    let m = 0;
    const base = ch * st.cap;
    for (let b = st.binEnd - nb; b < st.binEnd; b++) {
      if (b < 0) continue;
      const j = base + (b % st.cap);
      const a = Math.abs(st.lo[j]);
      const z = Math.abs(st.hi[j]);
      if (a > m) m = a;
      if (z > m) m = z;
    }
    m = Math.max(m * 1.1, 20);
    const s = st.level[ch];
    st.level[ch] = m > s ? m : s * 0.9 + m * 0.1;
    st.scale[ch] = scaleStep(st.level[ch]);
  }
}

// The smallest step of SCALE_STEPS (x 10^k) at or above v.
function scaleStep(v) {
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of SCALE_STEPS) if (m * e >= v * (1 - 1e-9)) return m * e;
  return 10 * e;
}

function ensureAudio(st) {
  if (st.audioCtx) return st.audioCtx;
  const C = window.AudioContext || window.webkitAudioContext;
  if (!C) return null;
  const ctx = new C();
  const limiter = ctx.createDynamicsCompressor(); // a second, fixed safety limiter
  limiter.threshold.value = -6;
  limiter.knee.value = 0;
  limiter.ratio.value = 20;
  limiter.attack.value = 0.002;
  limiter.release.value = 0.1;
  limiter.connect(ctx.destination);
  const gain = ctx.createGain();
  gain.gain.value = 1.0;
  gain.connect(limiter);
  st.audioCtx = ctx;
  st.limiter = limiter;
  st.monitorGain = gain;
  return ctx;
}

function scheduleAudio(st, samples, rate) {
  const ctx = ensureAudio(st);
  if (!ctx || samples.length === 0) return;
  const now = ctx.currentTime;
  if (st.nextAudioT < now + 0.02) {
    if (st.audioChunks > 0) st.audioUnderruns += 1;
    st.nextAudioT = now + JITTER_S;
  } else if (st.nextAudioT > now + MAX_AHEAD_S) {
    st.nextAudioT = now + JITTER_S;
  }
  const buf = ctx.createBuffer(1, samples.length, rate);
  buf.copyToChannel(samples, 0);
  const src = ctx.createBufferSource();
  src.buffer = buf;
  src.connect(st.monitorGain);
  src.start(st.nextAudioT);
  st.nextAudioT += samples.length / rate;
  st.audioChunks += 1;
}

function playClick(st) {
  const ctx = ensureAudio(st);
  if (!ctx) return;
  const t = ctx.currentTime;
  const o = ctx.createOscillator();
  const g = ctx.createGain();
  o.type = "square";
  o.frequency.value = 1200;
  g.gain.setValueAtTime(0.25, t);
  g.gain.exponentialRampToValueAtTime(0.001, t + 0.03);
  o.connect(g);
  g.connect(st.limiter);
  o.start(t);
  o.stop(t + 0.04);
  st.clicks += 1;
}

// Listen on the scope's line (a new address: the old one is closed). Only from a page
// of this machine: the line listens on loopback.
function connectLine(st, url) {
  if (url === st.lineUrl) return;
  if (st.es) st.es.close();
  st.es = null;
  st.lineUrl = url;
  if (!url || !window.EventSource || !LOOPBACK.has(window.location.hostname)) {
    st.root.dataset.line = "off";
    return;
  }
  const es = new EventSource(url);
  st.es = es;
  st.root.dataset.line = "connecting";
  es.onmessage = (ev) => {
    if (st.es !== es) return;
    const d = JSON.parse(ev.data);
    if (d.stream !== st.stream) return; // a line of a stream the page has left
    st.lineMessages += 1;
    st.root.dataset.line = "open";
    st.root.dataset.lineMessages = String(st.lineMessages);
    receive(st, d, st.setState);
  };
  es.onerror = () => {
    if (st.es !== es) return;
    // closed for good (refused, or the line was replaced): the page's runs bring the data
    if (es.readyState === EventSource.CLOSED) st.root.dataset.line = "failed";
    else st.root.dataset.line = "retrying";
  };
}

function receive(st, d, setStateValue) {
  if (d.stream !== st.stream) resetStream(st, d);
  // markers and switches of the newest message only (the page's run and the line
  // cross); the chunks of any message (each is applied once, by its number)
  const newest = !(d.mseq < st.mseq);
  if (newest) {
    st.mseq = d.mseq || 0;
    st.d = d;
  }
  const first = d.chunks.length ? d.chunks[0] : null;
  if (st.lastSeq === 0 && first && first.seq > 1 && !st.refillAsked) {
    // mounted anew (the user came back to the page): ask once for the whole tail
    st.refillAsked = true;
    setStateValue("refill", d.stream + ":" + Date.now() + ":" + Math.random());
  }
  const wall = performance.now() / 1000;
  let fresh = false;
  for (const c of d.chunks) {
    if (c.seq <= st.lastSeq) continue; // sent again in case a message was lost
    const old = st.binEnd !== null && c.b0 + c.n <= st.binEnd; // a refill: drawn, not heard
    applyChunk(st, c);
    if (c.audio && d.audio && !old) {
      let samples = decode(c.audio);
      const most = Math.round(MAX_CHUNK_S * d.audio_rate); // a backlog is not played late
      if (samples.length > most) samples = samples.subarray(samples.length - most);
      scheduleAudio(st, samples, d.audio_rate);
    }
    st.lastSeq = c.seq;
    fresh = true;
  }
  if (fresh) {
    updateScales(st);
    const latest = (st.binEnd * st.spb) / st.sfreq;
    if (st.lastArrival !== null) {
      const dt = wall - st.lastArrival;
      if (dt > 0 && dt < 5) {
        st.interval = 0.8 * st.interval + 0.2 * dt;
        if (st.latest !== null) {
          const r = (latest - st.latest) / dt;
          if (r >= 0 && r < 20) st.rate = 0.8 * st.rate + 0.2 * r;
        }
      }
    }
    st.lastArrival = wall;
    st.latest = latest;
  }
  if (!newest) return;
  const ids = new Set(d.twitches.map((t) => t[4]));
  if (st.seenTwitches === null) st.seenTwitches = ids; // already there when it opened
  catchUp(st, d);
  if ((d.click || d.audio) && !st.audioCtx) ensureAudio(st);
  if (st.monitorGain) st.monitorGain.gain.value = d.audio ? 1 : 0;
  if (st.audioCtx && st.audioCtx.state === "suspended") st.audioCtx.resume();
  if (d.frozen && !st.frozenSnap) {
    st.frozenSnap = { lo: st.lo.slice(), hi: st.hi.slice(), binEnd: st.binEnd, drawn: false };
  } else if (!d.frozen) {
    st.frozenSnap = null;
  }
  st.dirty = true;
  st.root.dataset.chunks = String(st.chunks);
  st.root.dataset.stream = d.stream;
}

// A twitch, or a candidate that already looks like one, new in this message and ahead of
// the display (which runs a little behind the newest bin): the display jumps forward to
// it at once, so its marker shows now instead of when the lag has passed. The display
// then slows down until it is back at its lag.
function catchUp(st, d) {
  if (st.td === null || st.latest === null || d.frozen) return;
  let newest = -Infinity;
  for (const t of d.twitches) {
    if (t[2] >= 0 && !st.drawnTwitches.has(t[4]) && !st.seenTwitches.has(t[4])) {
      newest = Math.max(newest, t[0]);
    }
  }
  for (const p of d.pending || []) {
    if (p[1] >= 0 && !st.drawnPending.has(p[2])) newest = Math.max(newest, p[0]);
  }
  if (newest > st.td) {
    st.td = Math.min(st.latest, newest + CATCH_UP_S);
    st.catchUps += 1;
  }
}

function displayTime(st) {
  const wall = performance.now() / 1000;
  if (st.latest === null) return null;
  // a little behind the newest bin, so that it does not stop at the edge between
  // updates; at most MAX_LAG_S, so that a marker is not held back long under load
  const lag = Math.min(MAX_LAG_S, Math.max(0.1, st.interval));
  const target = st.latest - lag;
  if (st.td === null || Math.abs(target - st.td) > 3) {
    st.td = target;
  } else {
    const dt = Math.min(0.1, wall - st.lastWall);
    st.td += dt * st.rate + (target - st.td) * Math.min(1, 2 * dt);
  }
  st.td = Math.min(st.td, st.latest);
  st.lastWall = wall;
  return st.td;
}

// The canvas white, before anything is drawn on it (opaque: it starts black).
function blank(st) {
  st.ctx.setTransform(1, 0, 0, 1, 0, 0);
  st.ctx.fillStyle = "#ffffff";
  st.ctx.fillRect(0, 0, st.canvas.width, st.canvas.height);
}

function frame(st) {
  const d = st.d;
  if (!d || !st.visible) return;
  const t = performance.now();
  if (t - st.lastDraw < MIN_FRAME_MS) return;
  const width = Math.max(200, Math.floor(st.root.clientWidth || 800));
  const laneH = d.lane_h;
  const axisH = 22;
  const height = st.nch * laneH + axisH;
  const dpr = window.devicePixelRatio || 1;
  if (st.width !== width || st.canvas.height !== Math.round(height * dpr)) {
    st.width = width;
    st.canvas.width = Math.round(width * dpr);
    st.canvas.height = Math.round(height * dpr);
    st.canvas.style.width = width + "px";
    st.canvas.style.height = height + "px";
    st.root.style.height = height + "px";
    blank(st); // a resized canvas is cleared to opaque black
    st.dirty = true;
    if (st.frozenSnap) st.frozenSnap.drawn = false;
  }
  let tEnd;
  let ring;
  if (d.frozen && st.frozenSnap) {
    if (st.frozenSnap.drawn) return; // the canvas holds still
    tEnd = d.frozen[1];
    ring = st.frozenSnap;
    st.frozenSnap.drawn = true;
  } else {
    const td = displayTime(st);
    if (td === null) return;
    tEnd = Math.max(td, d.window);
    ring = st;
  }
  // the view starts on a whole column: it scrolls by whole pixels, as the layer's columns
  const cT0 = Math.round((tEnd - d.window) * (width / d.window));
  tEnd = (cT0 * d.window) / width + d.window;
  const ctx = st.ctx;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  draw(st, ctx, ring, cT0, width, laneH, axisH, dpr);
  st.lastDraw = t;
  st.frames += 1;
  if (!st.drawnSaid && ring.binEnd !== null && st.setState) {
    // the first frame with a trace: the page may now send what goes around the scope
    st.drawnSaid = true;
    st.setState("drawn", d.stream + ":" + Date.now() + ":" + Math.random());
  }
  st.root.dataset.frames = String(st.frames);
  st.root.dataset.audioChunks = String(st.audioChunks);
  st.root.dataset.audioUnderruns = String(st.audioUnderruns);
  st.root.dataset.clicks = String(st.clicks);
  st.root.dataset.catchUps = String(st.catchUps);
  st.root.dataset.markersDrawn = String(st.markersDrawn);
  st.root.dataset.lanesWhole = String(st.lanesWhole);
  st.root.dataset.lanesPart = String(st.lanesPart);
  st.root.dataset.audioState = st.audioCtx ? st.audioCtx.state : "none";
  st.root.dataset.viewEnd = tEnd.toFixed(3);
  st.root.dataset.latest = st.latest === null ? "" : st.latest.toFixed(3);
}

// Column of bin b: columns are 1/pxpb bins wide, counted from the stream's start.
function colOf(pxpb, b) {
  return Math.floor(b * pxpb);
}

// The first bin in column c or after it.
function firstBin(pxpb, c) {
  let b = Math.ceil(c / pxpb);
  while (colOf(pxpb, b - 1) >= c) b -= 1;
  while (colOf(pxpb, b) < c) b += 1;
  return b;
}

// Where to start stroking so that column c is drawn whole: the first bin of the
// column with bins before c (the stroke into c starts there), not before `lowest`.
function strokeStart(pxpb, c, lowest) {
  const b = firstBin(pxpb, c) - 1;
  return b < lowest ? lowest : Math.max(lowest, firstBin(pxpb, colOf(pxpb, b)));
}

// Where to stop stroking so that column c is drawn whole: after the next column with
// bins (the stroke out of c ends there), not after `end`.
function strokeEnd(pxpb, c, end) {
  const next = firstBin(pxpb, c + 1);
  return Math.min(end, firstBin(pxpb, colOf(pxpb, next) + 1));
}

// One lane's trace from bin bs to be as a path: per pixel column a vertical line from
// its bins' maximum to their minimum, joined to the next column; a NaN bin breaks it.
// Column c is drawn at x = c - off + 0.5.
function lanepath(ctx, st, ring, ch, bs, be, pxpb, off, laneH) {
  const cap = st.cap;
  const base = ch * cap;
  const mid = ch * laneH + laneH / 2;
  const k = (laneH * 0.46) / st.scale[ch];
  let pen = false;
  let col = null;
  let cLo = 0;
  let cHi = 0;
  const flush = () => {
    const x = col - off + 0.5;
    const y1 = mid - cHi * k;
    const y2 = mid - cLo * k;
    if (pen) ctx.lineTo(x, y1);
    else ctx.moveTo(x, y1);
    ctx.lineTo(x, y2);
    pen = true;
  };
  for (let b = bs; b < be; b++) {
    const j = base + (b % cap);
    const lo = ring.lo[j];
    const hi = ring.hi[j];
    if (Number.isNaN(lo)) {
      if (col !== null) flush();
      col = null;
      pen = false;
      continue;
    }
    const c = colOf(pxpb, b);
    if (c !== col) {
      if (col !== null) flush();
      col = c;
      cLo = lo;
      cHi = hi;
    } else {
      if (lo < cLo) cLo = lo;
      if (hi > cHi) cHi = hi;
    }
  }
  if (col !== null) flush();
}

// The trace layer: a canvas beside the scope's, R columns wide, column c of the
// stream at x = c mod R; it holds the newest R columns stroked (the visible width and
// LAYER_AHEAD_S more). Made anew when the plot's size or window changes (a new stream,
// or bins already stroked sent again, drop it: see resetStream and applyChunk).
function traceLayer(st, W, laneH, dpr, win) {
  const key = [W, laneH, dpr, win].join("|");
  const old = st.layer;
  if (old && old.key === key) return old;
  const pxps = W / win;
  const R = Math.ceil(W + LAYER_AHEAD_S * pxps);
  const canvas = old ? old.canvas : document.createElement("canvas");
  // (clears it, to black: it is opaque; strokeLayer strokes every column of a new layer
  // whole, each on its lane's colour)
  canvas.width = Math.round(R * dpr);
  canvas.height = Math.round(st.nch * laneH * dpr);
  st.layer = {
    key,
    canvas,
    ctx: canvas.getContext("2d", { alpha: false }),
    R,
    laneH,
    dpr,
    pxpb: pxps / st.bps,
    end: null, // bins stroked: up to this one (exclusive)
    cNew: 0, // the newest column stroked
    scale: new Array(st.nch).fill(0), // each lane's scale when it was stroked
  };
  return st.layer;
}

// Stroke what is new into the layer: from the column before the newest stroked one
// (which may have had only some of its bins, so the stroke into it changes) to the
// newest bin; a lane whose scale changed, and every lane the first time, whole.
function strokeLayer(st, L) {
  const lowest = Math.max(0, st.binEnd - st.cap);
  const same = (ch) => L.scale[ch] === st.scale[ch];
  if (L.end === st.binEnd && st.scale.every((_, ch) => same(ch))) return;
  const cNew = colOf(L.pxpb, st.binEnd - 1);
  let cFrom = null; // null: every lane whole
  if (L.end !== null && L.end > lowest && L.end <= st.binEnd) {
    const cLast = colOf(L.pxpb, L.end - 1);
    const b = firstBin(L.pxpb, cLast) - 1;
    cFrom = b >= lowest ? colOf(L.pxpb, b) : cLast;
    if (cNew - cFrom >= L.R) cFrom = null;
  }
  const ctx = L.ctx;
  ctx.setTransform(L.dpr, 0, 0, L.dpr, 0, 0);
  ctx.strokeStyle = TRACE;
  ctx.lineWidth = 1;
  for (let ch = 0; ch < st.nch; ch++) {
    const whole = cFrom === null || !same(ch);
    if (!whole && L.end === st.binEnd) continue;
    strokeColumns(st, L, ch, whole ? cNew - L.R + 1 : cFrom, cNew, lowest);
    L.scale[ch] = st.scale[ch];
    if (whole) st.lanesWhole += 1;
    else st.lanesPart += 1;
  }
  L.end = st.binEnd;
  L.cNew = cNew;
}

// Clear columns c0..c1 of one lane in the layer and stroke them again (in at most two
// pieces: where the ring of columns wraps).
function strokeColumns(st, L, ch, c0, c1, lowest) {
  const ctx = L.ctx;
  const top = ch * L.laneH;
  for (let k = Math.floor(c0 / L.R); k * L.R <= c1; k++) {
    const off = k * L.R;
    const a = Math.max(c0, off);
    const b = Math.min(c1, off + L.R - 1);
    if (a > b) continue;
    const bs = strokeStart(L.pxpb, a, lowest);
    const be = strokeEnd(L.pxpb, b, st.binEnd);
    ctx.save();
    ctx.beginPath();
    ctx.rect(a - off, top, b - a + 1, L.laneH);
    ctx.clip();
    ctx.fillStyle = LANE_FILL[ch % 2];
    ctx.fillRect(a - off, top, b - a + 1, L.laneH);
    ctx.beginPath();
    lanepath(ctx, st, st, ch, bs, be, L.pxpb, off, L.laneH);
    ctx.stroke();
    ctx.restore();
  }
}

function draw(st, ctx, ring, cT0, W, laneH, axisH, dpr) {
  const d = st.d;
  const win = d.window;
  const pxps = W / win; // pixels (columns) per second
  const t0 = cT0 / pxps;
  const tEnd = t0 + win;
  const H = st.nch * laneH;
  const xOf = (t) => t * pxps - cT0;
  // the lanes (opaque colours) where the layer's columns do not come, the traces, then
  // what goes over them
  const pxpb = pxps / st.bps; // pixels per bin
  const L = ring === st && ring.binEnd !== null ? traceLayer(st, W, laneH, dpr, win) : null;
  if (L) strokeLayer(st, L);
  // the columns copied from the layer: a..b (stream columns), none when a > b
  const a0 = L ? Math.max(cT0, L.cNew - L.R + 1) : 0;
  const b0 = L ? Math.min(cT0 + Math.ceil(W) - 1, L.cNew) : -1;
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, H, W, axisH);
  for (let ch = 0; ch < st.nch; ch++) {
    ctx.fillStyle = LANE_FILL[ch % 2];
    if (a0 > b0) {
      ctx.fillRect(0, ch * laneH, W, laneH);
    } else {
      if (a0 > cT0) ctx.fillRect(0, ch * laneH, a0 - cT0, laneH);
      if (b0 - cT0 + 1 < W) ctx.fillRect(b0 - cT0 + 1, ch * laneH, W - (b0 - cT0 + 1), laneH);
    }
  }
  // traces: the visible columns copied from the layer (its columns hold the lanes' own
  // colours); a frozen picture stroked here
  if (ring.binEnd !== null) {
    if (L) {
      let a = a0;
      const b = b0;
      ctx.imageSmoothingEnabled = false;
      while (a <= b) {
        const sx = a - Math.floor(a / L.R) * L.R;
        const n = Math.min(b - a + 1, L.R - sx);
        ctx.drawImage(L.canvas, sx * dpr, 0, n * dpr, H * dpr, a - cT0, 0, n, H);
        a += n;
      }
    } else {
      ctx.save();
      ctx.beginPath();
      ctx.rect(0, 0, W, H);
      ctx.clip();
      ctx.strokeStyle = TRACE;
      ctx.lineWidth = 1;
      const lowest = Math.max(0, ring.binEnd - st.cap);
      const bs = strokeStart(pxpb, cT0, lowest);
      const be = strokeEnd(pxpb, cT0 + Math.ceil(W) - 1, ring.binEnd);
      for (let ch = 0; ch < st.nch; ch++) {
        ctx.beginPath();
        lanepath(ctx, st, ring, ch, bs, be, pxpb, cT0, laneH);
        ctx.stroke();
      }
      ctx.restore();
    }
  }
  // one-second grid and time labels, over the traces (faint)
  ctx.strokeStyle = "rgba(0,0,0,0.08)";
  ctx.lineWidth = 1;
  ctx.fillStyle = "#555";
  ctx.font = "12px sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const step = win > 20 ? 5 : 1;
  for (let s = Math.ceil(t0 / step) * step; s <= tEnd; s += step) {
    const x = Math.round(xOf(s)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(x, 0);
    ctx.lineTo(x, H);
    ctx.stroke();
    ctx.fillText(s + " s", x, H + 4);
  }
  // needle sites: across every lane
  ctx.textAlign = "left";
  for (const [on, off, label] of d.sites) {
    const end = off === null ? tEnd : off;
    if (end < t0 || on > tEnd) continue;
    const a = Math.max(0, xOf(on));
    const b = Math.min(W, xOf(end));
    ctx.fillStyle = SITE_FILL;
    ctx.fillRect(a, 0, b - a, H);
    ctx.fillStyle = SITE_TEXT;
    ctx.font = "bold 12px sans-serif";
    ctx.fillText("▼ " + label, a + 3, 2);
  }
  // rejected candidates, dimmed, in their lane
  for (const [on, off, lane, reason] of d.rejected) {
    if (lane < 0 || off < t0 || on > tEnd) continue;
    const a = xOf(on);
    ctx.fillStyle = REJECT_FILL;
    ctx.fillRect(a, lane * laneH, Math.max(2, xOf(off) - a), laneH);
    ctx.fillStyle = REJECT_TEXT;
    ctx.font = "10px sans-serif";
    ctx.fillText(reason, a + 2, lane * laneH + laneH - 13);
  }
  for (let ch = 0; ch < st.nch; ch++) {
    ctx.fillStyle = "#333";
    ctx.font = "bold 12px sans-serif";
    ctx.textBaseline = "top";
    ctx.fillText(d.names[ch], 4, ch * laneH + (d.sites.length ? 16 : 3));
    ctx.fillStyle = "#888";
    ctx.font = "10px sans-serif";
    ctx.textAlign = "right";
    ctx.fillText("±" + Math.round(st.scale[ch]) + " µV", W - 4, ch * laneH + 3);
    ctx.textAlign = "left";
  }
  // flagged twitches: a line at the onset, the span shaded, the peak written
  const nowWall = Date.now();
  for (const [on, off, lane, label, id, onsetHost] of d.twitches) {
    if (lane < 0 || off < t0 || on > tEnd) continue;
    const a = xOf(on);
    const top = lane * laneH;
    ctx.fillStyle = "rgba(214,39,40,0.12)";
    ctx.fillRect(a, top, Math.max(2, xOf(off) - a), laneH);
    ctx.strokeStyle = TWITCH;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(a, top);
    ctx.lineTo(a, top + laneH);
    ctx.stroke();
    ctx.fillStyle = TWITCH;
    ctx.font = laneH > 200 ? "bold 22px sans-serif" : "bold 12px sans-serif";
    ctx.fillText("▲ " + label, a + 3, top + laneH - (laneH > 200 ? 28 : 15));
    if (ring === st && !st.drawnTwitches.has(id)) {
      st.drawnTwitches.add(id);
      st.markersDrawn += 1;
      st.markerLog.push([on, onsetHost, nowWall / 1000]);
      if (st.markerLog.length > 100) st.markerLog.shift();
      st.root.dataset.markerLog = JSON.stringify(st.markerLog);
      if (d.click && st.seenTwitches && !st.seenTwitches.has(id)) playClick(st);
    }
  }
  // the candidate the detector holds open that already looks like a twitch: a dashed
  // line at its onset, until it is decided (then a twitch marker, or nothing)
  for (const [on, lane, id, onsetHost] of d.pending || []) {
    if (lane < 0 || on < t0 || on > tEnd) continue;
    const a = xOf(on);
    const top = lane * laneH;
    ctx.strokeStyle = PENDING;
    ctx.lineWidth = 2;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    ctx.moveTo(a, top);
    ctx.lineTo(a, top + laneH);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = PENDING;
    ctx.font = laneH > 200 ? "bold 22px sans-serif" : "bold 12px sans-serif";
    ctx.fillText("? twitch", a + 3, top + 3);
    if (ring === st && !st.drawnPending.has(id)) {
      st.drawnPending.add(id);
      st.pendingLog.push([on, onsetHost, nowWall / 1000]);
      if (st.pendingLog.length > 100) st.pendingLog.shift();
      st.root.dataset.pendingLog = JSON.stringify(st.pendingLog);
    }
  }
  ctx.lineWidth = 1;
}

export default function (component) {
  const { parentElement, data, setStateValue } = component;
  let st = STATES.get(parentElement);
  if (!st) {
    st = newState(parentElement);
    STATES.set(parentElement, st);
  }
  st.setState = setStateValue;
  if (data) {
    receive(st, data, setStateValue);
    connectLine(st, data.line || null);
  }
  return st.cleanup;
}
