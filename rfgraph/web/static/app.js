// The teaching page: plain JavaScript, canvas and SVG, no library, nothing from the internet.
"use strict";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const state = { view: null, graph: null, profiles: null, target: null, source: 4, request: null, started: 0, timer: null };

// ------------------------------------------------------------------ colours (viridis, 9 anchors)
const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
function colour(t) {
  t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i;
  return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
}
// Labels under small nodes: integers as they are, other values with 2 significant digits.
const short = (v) => (Number.isInteger(+v) ? fmt(v) : Number(v).toPrecision(2));
const css = (rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
const fmt = (v) => (v === null || v === undefined ? "—" : Math.abs(v) >= 1e6 ? Number(v).toExponential(2) : String(+Number(v).toPrecision(6)));

// ------------------------------------------------------------------ form state <-> URL hash
function form() {
  const f = $("controls");
  return { net: $("net").value.trim(), input: $("input").value.trim(),
    metric: f.querySelector("input[name=metric]:checked").value,
    scale: f.querySelector("input[name=scale]:checked").value,
    weights: f.querySelector("input[name=weights]:checked").value };
}
function setRadio(name, value) {
  const el = document.querySelector(`input[name=${name}][value="${value}"]`);
  if (el) el.checked = true;
}
function readHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (p.get("net")) $("net").value = p.get("net");
  if (p.get("input")) $("input").value = p.get("input");
  if (p.get("metric")) setRadio("metric", p.get("metric"));
  if (p.get("scale")) setRadio("scale", p.get("scale"));
  if (p.get("weights")) setRadio("weights", p.get("weights"));
  state.target = p.get("target") ? p.get("target").split("x").map(Number) : null;
}
function writeHash() {
  const f = form(), p = new URLSearchParams({ net: f.net, input: f.input, metric: f.metric, scale: f.scale });
  if (f.weights !== "ones") p.set("weights", f.weights);
  if (state.target) p.set("target", state.target.join("x"));
  history.replaceState(null, "", "#" + p.toString());
}

// ------------------------------------------------------------------ requests (async, cancellable)
function busy(text) {
  const s = $("status");
  clearInterval(state.timer);
  if (!text) { s.className = ""; s.textContent = ""; return; }
  s.className = "busy";
  state.started = performance.now();
  const tick = () => { s.textContent = `${text} ${((performance.now() - state.started) / 1000).toFixed(1)} s`; };
  tick();
  state.timer = setInterval(tick, 100);
}
function showError(message) {
  const e = $("error");
  e.hidden = !message;
  e.textContent = message ? pageMessage(message) : "";
}
// After an error nothing of the previous answer stays on screen.
function clearDrawings() {
  state.view = null; state.graph = null; state.profiles = null;
  for (const id of ["map", "output-grid", "colorbar-canvas"]) {
    const c = $(id); c.getContext("2d").clearRect(0, 0, c.width, c.height); c.width = c.width;
    c.onmousemove = null; c.onclick = null;
  }
  for (const id of ["graph", "profile-paths", "profile-edges"]) $(id).replaceChildren();
  $("table").replaceChildren();
  for (const id of ["output-caption", "map-caption", "graph-caption", "map-metric", "cb-lo", "cb-hi"]) $(id).textContent = "";
  $("readout").innerHTML = "&nbsp;";
  $("profile-card").hidden = true;
  $("graph-card").hidden = true;
}
// The one place that reads a map out of an answer (/api/view, /api/map): nested lists today; if the
// encoding changes, only this function changes. Returns a 1-D array (1-D maps) or an array of rows.
function mapValues(body) {
  if (body.encoding && body.encoding !== "nested") throw new Error(`unknown map encoding ${body.encoding}`);
  return body.values;
}
// The library's messages are written for the command line; on the page, point to the page instead.
function pageMessage(message) {
  return String(message).replace(/\s*\(?see `rfgraph spec-help`\)?/g, " (see the examples above and the layer list below)")
    .replace(/`rfgraph spec-help`/g, "the layer list below");
}
async function api(path, params, signal) {
  // Maps travel as base64 (float32/int32/uint8): a JSON list of a 224x224 map is most of an answer.
  const maps = path === "/api/view" || path === "/api/map";
  const r = await fetch(`${path}?${new URLSearchParams(maps ? { ...params, encoding: "base64" } : params)}`, { signal });
  let body;
  try { body = await r.json(); } catch (err) { throw new Error(`the server answered ${r.status} without JSON`); }
  if (!r.ok || body.error) throw new Error(body.error || `HTTP ${r.status}`);
  if (maps && body.values && body.values.data !== undefined) body.values = decodeMap(body.values);
  return body;
}

// {dtype, shape, data: base64} -> nested arrays of numbers (booleans for uint8), as the JSON form.
function decodeMap(m) {
  const bytes = Uint8Array.from(atob(m.data), (c) => c.charCodeAt(0));
  const Typed = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array }[m.dtype];
  const flat = Array.from(new Typed(bytes.buffer), m.dtype === "uint8" ? (x) => x !== 0 : (x) => x);
  const nest = (offset, axes) => {
    if (axes.length <= 1) return flat.slice(offset, offset + (axes[0] ?? 1));
    const step = axes.slice(1).reduce((a, b) => a * b, 1);
    return Array.from({ length: axes[0] }, (_, i) => nest(offset + i * step, axes.slice(1)));
  };
  return m.shape.length === 0 ? flat[0] : nest(0, m.shape);
}

async function update() {
  if (state.request) state.request.abort();
  const ctrl = new AbortController();
  state.request = ctrl;
  const f = form();
  writeHash();
  const params = { net: f.net, input: f.input, metric: f.metric };
  if (f.metric === "paths" && f.weights !== "ones") params.weights = f.weights;  // SPEC section 11: paths only
  if (state.target) params.target = state.target.join("x");
  busy("computing…");
  try {
    let view;
    try {
      view = await api("/api/view", params, ctrl.signal);
    } catch (err) {
      // A target left over from another network: retry at the default (centre) target.
      if (!state.target || ctrl.signal.aborted || !/target/.test(err.message)) throw err;
      state.target = null;
      delete params.target;
      view = await api("/api/view", params, ctrl.signal);
    }
    let graph = null, profiles = null;
    if (view.input.length === 1) {
      const g = { net: f.net, input: f.input, target: view.target.join("x") };
      if (view.endpoint) g.endpoint = view.endpoint;
      try { graph = await api("/api/graph", g, ctrl.signal); } catch (err) { if (ctrl.signal.aborted) throw err; graph = { error: err.message }; }
      // Paths and edges side by side, whatever the chosen metric.
      const [paths, edges] = await Promise.all(["paths", "edges"].map((metric) =>
        (view.metric === metric ? Promise.resolve(view) : api("/api/map", { ...g, metric, ...(metric === "paths" && f.weights !== "ones" ? { weights: f.weights } : {}) }, ctrl.signal)).then(mapValues)));
      profiles = { paths, edges };
    }
    if (ctrl.signal.aborted) return;
    showError("");
    state.view = view;
    state.graph = graph;
    state.profiles = profiles;
    const pick = $("zoo").querySelector(`option[value="${CSS.escape(f.net)}"]`);
    $("zoo").value = pick ? f.net : "";
    state.target = view.target;
    if (state.source !== null && (view.input.length !== 1 || state.source >= view.input[0])) state.source = null;
    writeHash();
    render();
  } catch (err) {
    if (err.name === "AbortError") return;
    clearDrawings();
    showError(err.message);
  } finally {
    if (state.request === ctrl) { busy(""); state.request = null; }
  }
}

// ------------------------------------------------------------------ drawing helpers
function scaler(values, scale) {
  let max = 0, minPos = Infinity;
  for (const v of values) { const x = +v; if (x > max) max = x; if (x > 0 && x < minPos) minPos = x; }
  if (scale === "log" && max > 0) {
    const lo = Math.log10(minPos), hi = Math.log10(max);
    return { max, lo: minPos, f: (v) => (+v > 0 ? (hi > lo ? (Math.log10(+v) - lo) / (hi - lo) : 1) : null) };
  }
  return { max, lo: 0, f: (v) => (+v > 0 ? +v / (max || 1) : (max > 0 ? null : 0)) };
}
const flat = (values) => (Array.isArray(values[0]) ? values.flat() : values);
const as2d = (values) => (Array.isArray(values[0]) ? values : [values]);

// ------------------------------------------------------------------ the contribution map
// The target's centre in input pixels, from the table's last row (center + jump * index), else the box's middle.
const parseCell = (text) => String(text).split(/[x×]/).map((t) => { const [p, q] = t.split("/").map(Number); return q ? p / q : p; });
// The regular field of output position `index` from the table's last row: centres and boxes per axis, or null.
function regularField(v, index) {
  const last = v.rows.length ? v.rows[v.rows.length - 1] : null, col = (c) => v.columns.indexOf(c);
  if (!last || last[col("uniform")] === "NO" || last[col("global")] === "YES" || col("center") < 0) return null;
  const c = parseCell(last[col("center")]), j = parseCell(last[col("jump")]), r = parseCell(last[col("size")]);
  const pick = (a, k) => (a.length === 1 ? a[0] : a[k]);
  const centre = index.map((i, k) => pick(c, k) + pick(j, k) * i);
  if (!centre.every(Number.isFinite)) return null;
  const box = centre.map((m, k) => [Math.max(0, Math.ceil(m - (pick(r, k) - 1) / 2)), Math.min(v.input[k] - 1, Math.floor(m + (pick(r, k) - 1) / 2))]);
  return { centre, box };
}
// The target's centre in input pixels: center + jump * index from the table (regular fields), else the box's middle.
function targetCentre(v) {
  const f = regularField(v, v.target);
  if (f) return f.centre;
  return v.box ? v.box.map(([a, b]) => (a + b) / 2) : null;
}
function drawMap() {
  const v = state.view, scale = form().scale, values = mapValues(v), rows = as2d(values);
  const h = rows.length, w = rows[0].length, canvas = $("map"), oneD = v.input.length === 1;
  const cell = Math.max(1, Math.min(460 / w, (oneD ? 48 : 460) / h));
  const sx = cell, sy = oneD ? Math.max(cell, 40) : cell;
  const big = document.body.classList.contains("present"), font = big ? 19 : 13;  // presentation mode: larger ticks
  const M = { l: oneD ? 8 : big ? 54 : 40, t: 6, r: 10, b: big ? 32 : 26 };  // margins for the pixel ticks
  canvas.width = Math.round(w * sx + M.l + M.r); canvas.height = Math.round(h * sy + M.t + M.b);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  const s = scaler(flat(values), scale);
  const img = ctx.createImageData(w, h);
  rows.forEach((row, y) => row.forEach((val, x) => {
    const t = s.f(val), k = 4 * (y * w + x);
    const rgb = t === null ? [236, 236, 236] : colour(t);
    img.data[k] = rgb[0]; img.data[k + 1] = rgb[1]; img.data[k + 2] = rgb[2]; img.data[k + 3] = 255;
  }));
  const off = document.createElement("canvas");
  off.width = w; off.height = h;
  off.getContext("2d").putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, M.l, M.t, w * sx, h * sy);
  const X = (x) => M.l + x * sx, Y = (y) => M.t + y * sy;
  // Boxes: [[y0, y1], [x0, x1]] in pixel indices (1-D: [[x0, x1]]).
  const rect = (box) => (box.length === 1 ? [box[0][0], box[0][1], 0, h - 1] : [box[1][0], box[1][1], box[0][0], box[0][1]]);
  const stroke = (box, col, dash, width) => {
    const [x0, x1, y0, y1] = rect(box);
    ctx.setLineDash(dash);
    ctx.lineWidth = width + 2; ctx.strokeStyle = "rgba(0,0,0,.55)";
    ctx.strokeRect(X(x0), Y(y0), (x1 - x0 + 1) * sx, (y1 - y0 + 1) * sy);
    ctx.lineWidth = width; ctx.strokeStyle = col;
    ctx.strokeRect(X(x0), Y(y0), (x1 - x0 + 1) * sx, (y1 - y0 + 1) * sy);
  };
  const last2 = (box) => (box.length === 3 ? box.slice(1) : box);  // 3-D: the slice shows the last two axes
  ctx.save();
  ctx.beginPath(); ctx.rect(M.l, M.t, w * sx, h * sy); ctx.clip();
  // The colours here are the legend's swatches (style.css: --box, --erf, --tgt).
  if (v.box) stroke(last2(v.box), "#ffffff", [6, 4], 2);
  const showErf = v.erf && v.metric !== "reach";  // reach is the exact field itself: no 95 % square
  if (showErf) stroke(last2(v.erf.box).map(([a, b]) => [Math.round(a), Math.round(b)]), "#ff8a1f", [], 2);
  ctx.setLineDash([]);
  const centre = targetCentre(v);
  delete canvas.dataset.marker;
  if (centre) {  // the target's centre: a cross
    const c = last2(centre.map((x) => [x]));
    const cx = X(c[c.length - 1][0] + 0.5), cy = oneD ? Y(0.5) : Y(c[0][0] + 0.5), r = 8;
    canvas.dataset.marker = `${Math.round(cx)},${Math.round(cy)}`;  // where the cross is (canvas pixels)
    for (const [col, lw] of [["#ffffff", 5], ["#e0245e", 2.5]]) {
      ctx.lineWidth = lw; ctx.strokeStyle = col;
      ctx.beginPath(); ctx.moveTo(cx - r, cy); ctx.lineTo(cx + r, cy); ctx.moveTo(cx, cy - r); ctx.lineTo(cx, cy + r); ctx.stroke();
    }
  }
  ctx.restore();
  canvas.dataset.ticks = "1";  // pixel indices are drawn in the margins
  // Pixel ticks along both axes.
  ctx.fillStyle = "#1d2330"; ctx.strokeStyle = "#1d2330"; ctx.lineWidth = 1; ctx.font = `${font}px system-ui, sans-serif`;
  const every = (px) => [1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256, 500, 1000].find((k) => k * px >= 44) || 2000;
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (let x = 0, e = every(sx); x < w; x += e) {
    ctx.beginPath(); ctx.moveTo(X(x + 0.5), Y(h)); ctx.lineTo(X(x + 0.5), Y(h) + 5); ctx.stroke();
    ctx.fillText(String(x), X(x + 0.5), Y(h) + 7);
  }
  if (!oneD) {
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (let y = 0, e = every(sy); y < h; y += e) {
      ctx.beginPath(); ctx.moveTo(M.l - 5, Y(y + 0.5)); ctx.lineTo(M.l, Y(y + 0.5)); ctx.stroke();
      ctx.fillText(String(y), M.l - 7, Y(y + 0.5));
    }
  }
  state.mapDrawn = { image: ctx.getImageData(0, 0, canvas.width, canvas.height), X, Y, sx, sy, h, oneD };
  drawColorbar(s, scale, v.metric);
  $("sw-erf").hidden = !showErf; $("erf-label").hidden = !showErf;
  const rf = v.rf_size ? `${v.rf_size.join("×")} (jump ${v.rf_stride.join("×")})` : "not defined";
  $("map-metric").textContent = { paths: "paths from each pixel to the target", edges: "distinct edges on those paths",
    reach: "pixels with at least one path (the exact receptive field)" }[v.metric];
  const part = v.metric === "reach" ? `${v.nonzero.toLocaleString()} pixels reach the target`
    : `95 % of the ${v.metric} map within ${v.erf ? v.erf.size.join("×") : "—"} pixels; ${v.nonzero.toLocaleString()} pixels reach the target; largest value ${fmt(v.max)}`;
  const weighted = v.metric === "paths" && form().weights === "mean" ? " (paths with averaging weights, weights=mean)" : "";
  $("map-caption").textContent = `${v.net} on ${v.input.join("×")}${weighted}: theoretical receptive field ${rf}` +
    (centre ? `, centred on pixel ${centre.map(fmt).join(", ")}` : "") + `; ${part}.` +
    (v.notes.length ? " Note: " + v.notes.join("; ") + "." : "");
  $("readout").innerHTML = "&nbsp;";  // never a stale pixel from the previous network
  canvas.onmousemove = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor(((e.clientX - r.left) * canvas.width / r.width - M.l) / sx);
    const y = Math.floor(((e.clientY - r.top) * canvas.height / r.height - M.t) / sy);
    if (x < 0 || y < 0 || x >= w || y >= h) { $("readout").innerHTML = "&nbsp;"; return; }
    const pos = oneD ? `${x}` : `(${y}, ${x})`;
    $("readout").textContent = `pixel ${pos}: ${v.metric} = ${fmt(+rows[y][x])}`;
  };
}
function drawColorbar(s, scale, metric) {
  const c = $("colorbar-canvas"), ctx = c.getContext("2d");
  for (let i = 0; i < c.width; i++) { ctx.fillStyle = css(colour(i / (c.width - 1))); ctx.fillRect(i, 0, 1, c.height); }
  $("cb-lo").textContent = metric === "reach" ? "no path (grey)" : (scale === "log" ? `${fmt(s.lo)} (log scale; grey = 0)` : "0 (grey)");
  $("cb-hi").textContent = metric === "reach" ? "reached" : fmt(s.max);
}

// ------------------------------------------------------------------ the output grid (click = target)
function drawOutputGrid() {
  const v = state.view, oneD = v.output.length === 1, out = oneD ? [1, v.output[0]] : v.output.slice(-2);
  const [h, w] = out, canvas = $("output-grid");
  // 1-D outputs are one row of cells up to 480 px wide; 2-D grids fit in 240 x 240 px.
  const cw = Math.max(2, Math.floor(Math.min((oneD ? 480 : 240) / w, oneD ? 36 : 240 / h, 36)));
  const ch = oneD ? 28 : cw;
  canvas.width = w * cw; canvas.height = h * ch;
  canvas.dataset.cols = w; canvas.dataset.rows = h;
  canvas.title = "row index down, column index across; click a cell";
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#eef2f8"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#c5cddb"; ctx.lineWidth = 1;
  if (cw >= 6) for (let x = 0; x <= w; x++) { ctx.beginPath(); ctx.moveTo(x * cw + 0.5, 0); ctx.lineTo(x * cw + 0.5, h * ch); ctx.stroke(); }
  if (ch >= 6) for (let y = 0; y <= h; y++) { ctx.beginPath(); ctx.moveTo(0, y * ch + 0.5); ctx.lineTo(w * cw, y * ch + 0.5); ctx.stroke(); }
  const t = v.target, tx = t[t.length - 1], ty = oneD ? 0 : t[t.length - 2];
  ctx.fillStyle = "#e0245e";
  ctx.fillRect(tx * cw + 1, ty * ch + 1, Math.max(1, cw - 1), Math.max(1, ch - 1));
  if (Math.min(cw, ch) < 8) {  // a small cell: ring it so that the target stays visible
    ctx.strokeStyle = "#e0245e"; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.arc((tx + 0.5) * cw, (ty + 0.5) * ch, 7, 0, 2 * Math.PI); ctx.stroke();
  }
  // Indices: in every cell of a 1-D output, along the first row and column of a 2-D one (when they fit).
  ctx.fillStyle = "#5d6677"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
  ctx.font = `${Math.min(13, Math.floor(Math.min(cw, ch) * 0.55))}px system-ui, sans-serif`;
  if (Math.min(cw, ch) >= 14) {
    const step = Math.max(1, Math.ceil(18 / cw));
    const label = (text, x, y) => { ctx.fillStyle = x === tx && y === ty ? "#ffffff" : "#5d6677"; ctx.fillText(text, (x + 0.5) * cw, (y + 0.5) * ch); };
    for (let x = 0; x < w; x += step) label(String(x), x, 0);
    if (!oneD) for (let y = step; y < h; y += step) label(String(y), 0, y);
  }
  const where = v.endpoint ? `tensor ${v.endpoint}` : "the network output";
  $("output-caption").textContent = `${where}: ${v.output.join("×")} positions; target (${v.target.join(", ")})` +
    (v.output.length === 3 ? " (3-D: clicks choose the last two axes)" : "");
  // Hover a neuron to see its window on the map (CNN Explainer's overview -> detail).
  canvas.onmousemove = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor((e.clientX - r.left) * canvas.width / r.width / cw);
    const y = Math.floor((e.clientY - r.top) * canvas.height / r.height / ch);
    const index = v.target.slice();
    index[index.length - 1] = x;
    if (!oneD) index[index.length - 2] = y;
    previewField(x < 0 || y < 0 || x >= w || y >= h ? null : index);
  };
  canvas.onmouseleave = () => previewField(null);
  canvas.onclick = (e) => {
    const r = canvas.getBoundingClientRect();
    const x = Math.floor((e.clientX - r.left) * canvas.width / r.width / cw);
    const y = Math.floor((e.clientY - r.top) * canvas.height / r.height / ch);
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    const target = v.target.slice();
    target[target.length - 1] = x;
    if (!oneD) target[target.length - 2] = y;
    state.target = target;
    update();
  };
}

// The theoretical window of output `index` drawn over the map in blue (null: the map as computed).
function previewField(index) {
  const d = state.mapDrawn, v = state.view;
  if (!d || !v) return;
  const ctx = $("map").getContext("2d");
  ctx.putImageData(d.image, 0, 0);
  const f = index && regularField(v, index);
  if (!f) { $("readout").innerHTML = "&nbsp;"; return; }
  const b = f.box.length === 3 ? f.box.slice(1) : f.box;
  const [x0, x1] = b[b.length - 1], [y0, y1] = d.oneD ? [0, d.h - 1] : b[0];
  ctx.setLineDash([4, 3]); ctx.lineWidth = 3; ctx.strokeStyle = "#2c6bd6";
  ctx.strokeRect(d.X(x0), d.Y(y0), (x1 - x0 + 1) * d.sx, (y1 - y0 + 1) * d.sy);
  ctx.setLineDash([]);
  $("readout").textContent = `output (${index.join(", ")}): theoretical window ${b.map(([a, c]) => `${a}–${c}`).join(" × ")}` +
    `, centred on pixel ${f.centre.map(fmt).join(", ")} (blue)`;
}

// ------------------------------------------------------------------ the receptive-field table
function drawTable() {
  const v = state.view, table = $("table");
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  v.columns.forEach((c) => { const th = document.createElement("th"); th.textContent = c; head.appendChild(th); });
  const body = table.createTBody();
  v.rows.forEach((row, i) => {
    const tr = body.insertRow();
    if (i === v.rows.length - 1) tr.className = "last";
    row.forEach((c) => { const td = tr.insertCell(); td.textContent = c; if (c === "NO") td.className = "no"; });
  });
}

// ------------------------------------------------------------------ 1-D: profile bars and the unrolled graph
function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const [k, val] of Object.entries(attrs)) e.setAttribute(k, val);
  if (parent) parent.appendChild(e);
  return e;
}
function drawProfile() {
  drawBars($("profile-paths"), state.profiles.paths.map(Number), form().weights === "mean" ? "paths (weights mean)" : "paths");
  drawBars($("profile-edges"), state.profiles.edges.map(Number), "edges");
}
function drawBars(svg, all, metric) {
  const v = state.view;
  svg.replaceChildren();
  // A long input: show the bars around the field (the map shows all of it).
  let lo = 0, hi = all.length - 1;
  if (all.length > 48) {
    const nz = all.flatMap((x, i) => (x > 0 ? [i] : []));
    if (nz.length) { lo = Math.max(0, nz[0] - 2); hi = Math.min(all.length - 1, nz[nz.length - 1] + 2); }
    if (hi - lo > 120) hi = lo + 120;
  }
  const values = all.slice(lo, hi + 1), n = values.length;
  const W = 440, H = 220, left = 6, bottom = 34, top = 22, bw = (W - left - 6) / n;
  const s = scaler(values, form().scale);
  if (v.box) {
    const a = Math.max(v.box[0][0], lo) - lo, b = Math.min(v.box[0][1], hi) - lo;
    if (b >= a) el("rect", { class: "band", x: left + a * bw, y: top, width: (b - a + 1) * bw, height: H - top - bottom }, svg);
  }
  values.forEach((val, j) => {
    const i = j + lo, t = s.f(val) || 0, bh = t * (H - top - bottom - 16);
    const bar = el("rect", { class: "bar" + (i === state.source ? " sel" : ""), x: left + j * bw + 1, y: H - bottom - bh,
      width: Math.max(1, bw - 2), height: bh }, svg);
    el("title", {}, bar).textContent = `input ${i}: ${metric} ${fmt(val)}`;
    bar.addEventListener("click", () => { state.source = i; drawProfile(); drawGraph(); });
    if (n <= 24 && val > 0) el("text", { x: left + (j + 0.5) * bw, y: H - bottom - bh - 3, "text-anchor": "middle" }, svg).textContent = fmt(val);
    if (n <= 24 || j % Math.ceil(n / 12) === 0) el("text", { x: left + (j + 0.5) * bw, y: H - bottom + 14, "text-anchor": "middle" }, svg).textContent = i;
  });
  const shown = lo > 0 || hi < all.length - 1 ? ` (pixels ${lo}–${hi} of ${all.length})` : "";
  el("text", { x: left, y: 14, class: "head" }, svg).textContent = `${metric}${form().scale === "log" ? " (log scale)" : ""}`;
  el("text", { x: left, y: H - 6 }, svg).textContent = `input pixel${shown}; yellow: theoretical field`;
}

function drawGraph() {
  const g = state.graph, svg = $("graph"), v = state.view;
  svg.replaceChildren();
  if (!g || g.error) {
    svg.setAttribute("viewBox", "0 0 900 30");
    el("text", { x: 10, y: 20 }, svg).textContent = g ? `Not drawn: ${g.error}` : "";
    $("graph-caption").textContent = "";
    return;
  }
  const L = g.layers.length, n = g.input[0], W = 900, H = Math.max(160, Math.min(460, 60 * L + 40));
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const X = (x) => 40 + (x + 0.5) * (W - 80) / n, Y = (l) => H - 34 - l * (H - 70) / Math.max(1, L - 1);
  const key = (l, i) => `${l},${i}`, out = new Map(), inc = new Map();
  for (const [lu, u, lv, w] of g.edges) {
    const a = key(lu, u), b = key(lv, w);
    if (!out.has(a)) out.set(a, []);
    if (!inc.has(b)) inc.set(b, []);
    out.get(a).push(b); inc.get(b).push(a);
  }
  const walk = (start, next) => {
    const seen = new Set([start]), todo = [start];
    while (todo.length) for (const m of next.get(todo.pop()) || []) if (!seen.has(m)) { seen.add(m); todo.push(m); }
    return seen;
  };
  const tkey = key(L - 1, g.target[0]), cone = walk(tkey, inc);
  const down = state.source === null ? null : walk(key(0, state.source), out);
  let hot = 0;
  for (const [lu, u, lv, w] of g.edges) {
    const a = key(lu, u), b = key(lv, w);
    const inCone = cone.has(b) && cone.has(a), isHot = down && inCone && down.has(a);
    if (isHot) hot++;
    const x1 = X(g.layers[lu].x[u]), y1 = Y(lu), x2 = X(g.layers[lv].x[w]), y2 = Y(lv);
    const cls = "edge" + (isHot ? " hot" : inCone ? " cone" : "");
    if (lv - lu > 1) {  // a skip connection: an arc beside the layers it jumps
      el("path", { class: cls, d: `M${x1},${y1} Q${(x1 + x2) / 2 + 28},${(y1 + y2) / 2} ${x2},${y2}` }, svg);
    } else {
      el("line", { class: cls, x1, y1, x2, y2 }, svg);
    }
  }
  // Hot edges on top.
  svg.querySelectorAll(".edge.hot").forEach((e) => svg.appendChild(e));
  const values = mapValues(v).map(Number), s = scaler(values, "linear"), r = Math.max(3, Math.min(9, (W - 80) / n / 3));
  g.layers.forEach((layer, l) => {
    el("text", { x: 4, y: Y(l) + 4 }, svg).textContent = l === 0 ? "input" : layer.name.length > 8 ? layer.name.slice(0, 7) + "…" : layer.name;
    layer.x.forEach((x, i) => {
      const k = key(l, i), t = l === 0 ? s.f(values[i]) : null;
      let cls = "node" + (cone.has(k) ? "" : " off");
      if (k === tkey) cls += " target";
      if (l === 0 && i === state.source) cls += " source";
      const c = el("circle", { class: cls, cx: X(x), cy: Y(l), r, fill: l === 0 ? (t === null ? "#eeeeee" : css(colour(t))) : "#ffffff" }, svg);
      el("title", {}, c).textContent = l === 0 ? `input ${i}: ${v.metric} ${fmt(values[i])}` : `${layer.name}[${i}]`;
      if (l === 0) {
        c.addEventListener("click", () => { state.source = i; drawProfile(); drawGraph(); });
        if (n <= 40) el("text", { x: X(x), y: Y(0) + r + 13, "text-anchor": "middle" }, svg).textContent = short(values[i]);
      } else if (l === L - 1) {
        c.addEventListener("click", () => { state.target = [i]; update(); });
      }
    });
  });
  const last = g.layers[L - 1].name;
  if (state.source === null) {
    $("graph-caption").textContent = `Dark edges lie on some path to the target ${last}[${g.target[0]}]; pale nodes never reach it. ` +
      "Click an input pixel (or a bar above) to follow its paths; click a top node to move the target.";
  } else {
    const paths = countPaths(g, key(0, state.source), tkey, out);
    $("graph-caption").textContent = `input ${state.source} → ${last}[${g.target[0]}]: ${paths.toLocaleString()} paths, ` +
      `${hot} distinct edges (red).`;
  }
}
function countPaths(g, from, to, out) {
  // Paths counted in layer order (every edge goes up at least one layer).
  const count = new Map([[from, 1]]);
  const order = [];
  g.layers.forEach((layer, l) => layer.x.forEach((_, i) => order.push(`${l},${i}`)));
  for (const k of order) {
    const c = count.get(k);
    if (!c) continue;
    for (const m of out.get(k) || []) count.set(m, (count.get(m) || 0) + c);
  }
  return count.get(to) || 0;
}

// ------------------------------------------------------------------ putting it together
function render() {
  const v = state.view, oneD = v.input.length === 1;
  drawOutputGrid();
  drawMap();
  drawTable();
  $("profile-card").hidden = !oneD;
  $("graph-card").hidden = !oneD;
  if (oneD) { drawProfile(); drawGraph(); }
}

async function loadZoo() {
  try {
    const zoo = await api("/api/zoo", {});
    const select = $("zoo"), groups = new Map();
    for (const e of zoo.networks) {
      if (!groups.has(e.family)) { const og = document.createElement("optgroup"); og.label = e.family; groups.set(e.family, og); select.appendChild(og); }
      const o = document.createElement("option");
      o.value = e.name; o.dataset.input = e.input; o.textContent = `${e.name} (${e.input})`; o.title = e.description;
      groups.get(e.family).appendChild(o);
    }
  } catch (err) { showError(err.message); }
}

$("controls").addEventListener("submit", (e) => { e.preventDefault(); state.target = null; state.source = null; update(); });
$("zoo").addEventListener("change", (e) => {
  const o = e.target.selectedOptions[0];
  if (!o || !o.value) return;
  $("net").value = o.value; $("input").value = o.dataset.input;
  state.target = null; state.source = null; update();
});
document.querySelectorAll("input[name=metric], input[name=weights]").forEach((r) => r.addEventListener("change", update));
document.querySelectorAll("input[name=scale]").forEach((r) => r.addEventListener("change", () => { if (state.view) { writeHash(); render(); } }));

function presentation(on) {
  const changed = document.body.classList.contains("present") !== on;
  document.body.classList.toggle("present", on);
  if (changed && state.view) render();  // the canvases' text follows the mode
  $("present").setAttribute("aria-pressed", on ? "true" : "false");
  try { localStorage.setItem("rfgraph-present", on ? "1" : "0"); } catch (err) { /* private mode */ }
}
$("present").addEventListener("click", () => presentation(!document.body.classList.contains("present")));
try { presentation(localStorage.getItem("rfgraph-present") === "1"); } catch (err) { /* private mode */ }
document.querySelectorAll("#examples button.ex").forEach((b) => b.addEventListener("click", () => {
  $("net").value = b.dataset.net; $("input").value = b.dataset.input;
  state.target = null; state.source = null; update();
}));

readHash();
loadZoo();
update();
