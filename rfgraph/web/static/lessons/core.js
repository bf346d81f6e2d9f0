// The lessons' engine and drawings: plain JavaScript, canvas and SVG, no library, nothing from the internet.
// A lesson file calls RF.lesson({steps: [...]}); each step has a title, a text (HTML written in the
// lesson file, never from the network) and an async draw(stage, ctx) that redraws the stage.
"use strict";

const RF = (() => {
  const SVGNS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- colours (viridis, 9 anchors)
  const VIRIDIS = [[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]];
  function colour(t) {
    t = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
    const i = Math.min(VIRIDIS.length - 2, Math.floor(t)), f = t - i;
    return VIRIDIS[i].map((c, k) => Math.round(c + f * (VIRIDIS[i + 1][k] - c)));
  }
  const css = (rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
  const fmt = (v) => (v === null || v === undefined ? "—" : Math.abs(v) >= 1e6 ? Number(v).toExponential(2)
    : String(+Number(v).toPrecision(6)));
  // The colours every drawing uses, also named in the legends (the swatches are drawn with the same values).
  const COLOURS = { box: "#ffffff", boxEdge: "#1d2330", erf: "#ff8a1f", target: "#e0245e", hot: "#e0245e",
    window: "#2c6bd6", pad: "#c9ced8" };

  // ---------------------------------------------------------------- the API (answers cached per URL)
  const cache = new Map();
  async function api(path, params) {
    const url = `${path}?${new URLSearchParams(params)}`;
    if (!cache.has(url)) {
      cache.set(url, (async () => {
        const r = await fetch(url);
        let body;
        try { body = await r.json(); } catch (err) { throw new Error(`the server answered ${r.status} without JSON`); }
        if (!r.ok || body.error) throw new Error(body.error || `HTTP ${r.status}`);
        return body;
      })());
      cache.get(url).catch(() => cache.delete(url));
    }
    return cache.get(url);
  }
  // The one place that reads a map out of an /api/map or /api/view answer: nested lists today; a
  // compact encoding may replace them, and only this function then changes. Always a 2-D array.
  function mapValues(body) {
    let v = body.values;
    if (v && !Array.isArray(v) && v.data !== undefined) v = decode(v);  // {dtype, shape, data: base64}
    if (!Array.isArray(v)) throw new Error("the answer holds no map");
    v = Array.isArray(v[0]) ? v : [v];
    return v.map((row) => row.map((x) => (x === true ? 1 : x === false ? 0 : +x)));
  }
  // A compact map, {dtype, shape, data} with data the base64 of the little-endian array, as nested arrays.
  function decode(m) {
    const bytes = Uint8Array.from(atob(m.data), (c) => c.charCodeAt(0));
    const Typed = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array }[m.dtype];
    if (!Typed) throw new Error(`unknown map dtype ${m.dtype}`);
    const flat = Array.from(new Typed(bytes.buffer));
    const nest = (offset, axes) => {
      if (axes.length <= 1) return flat.slice(offset, offset + (axes[0] ?? 1));
      const step = axes.slice(1).reduce((a, b) => a * b, 1);
      return Array.from({ length: axes[0] }, (_, i) => nest(offset + i * step, axes.slice(1)));
    };
    return nest(0, m.shape);
  }
  const view = async (params) => { const b = await api("/api/view", params); return { ...b, map: mapValues(b) }; };
  const map = async (params) => mapValues(await api("/api/map", params));
  const graph = (params) => api("/api/graph", params);

  // ---------------------------------------------------------------- DOM helpers
  function svg(name, attrs, parent) {
    const e = document.createElementNS(SVGNS, name);
    for (const [k, val] of Object.entries(attrs || {})) e.setAttribute(k, val);
    if (parent) parent.appendChild(e);
    return e;
  }
  function html(name, attrs, parent, text) {
    const e = document.createElement(name);
    for (const [k, val] of Object.entries(attrs || {})) {
      if (k === "class") e.className = val; else e.setAttribute(k, val);
    }
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function panel(stage, title, cls) {
    const p = html("figure", { class: "panel" + (cls ? " " + cls : "") }, stage);
    if (title) html("figcaption", {}, p, title);
    return p;
  }
  function legend(parent, items) {
    // items: [[kind, colour, text]]; kind: "box" (dashed outline), "line", "fill"
    const p = html("p", { class: "legend" }, parent);
    for (const [kind, col, text] of items) {
      const s = html("span", { class: "sw " + kind }, p);
      if (kind === "fill") s.style.background = col; else s.style.borderColor = col;
      if (kind === "box") s.style.outline = `1px solid ${COLOURS.boxEdge}`;
      html("span", {}, p, text);
    }
    return p;
  }

  // ---------------------------------------------------------------- a heat map with ticks, boxes and a target marker
  // values: 2-D array; opts: {scale, box: [[y0,y1],[x0,x1]] (or [[x0,x1]] in 1-D), erf, marker: [y, x] (input
  // pixel coordinates, may be fractional), centres: [[y, x], ...], size (px), image (an <img> drawn under the map),
  // alpha (map opacity over the image), grid: [step, offset] (window lines), title}
  function heat(parent, full, opts = {}) {
    // opts.window = [[y0, y1], [x0, x1]]: draw only that part (the ticks keep the input's pixel indices).
    const oneD = full.length === 1;
    const win = opts.window ? (oneD ? [[0, 0], opts.window[opts.window.length - 1]] : opts.window) : null;
    const oy = win ? win[0][0] : 0, ox = win ? win[1][0] : 0;
    const values = win ? full.slice(win[0][0], win[0][1] + 1).map((r) => r.slice(win[1][0], win[1][1] + 1)) : full;
    const shift = (b) => (b.length === 1 ? [[b[0][0] - ox, b[0][1] - ox]]
      : [[b[b.length - 2][0] - oy, b[b.length - 2][1] - oy], [b[b.length - 1][0] - ox, b[b.length - 1][1] - ox]]);
    const at = (p) => (oneD ? [0, p[p.length - 1] - ox] : [p[0] - oy, p[1] - ox]);
    opts = { ...opts, box: opts.box && shift(opts.box), erf: opts.erf && shift(opts.erf), marker: opts.marker && at(opts.marker),
      centres: (opts.centres || []).map(at), boxes: (opts.boxes || []).map(([b, ...rest]) => [shift(b), ...rest]) };
    const h = values.length, w = values[0].length;
    const side = opts.size || 448;
    const cell = Math.max(1, Math.min(side / w, oneD ? 48 : side / h));
    const sx = cell, sy = oneD ? Math.max(cell, 36) : cell;
    const big = document.body.classList.contains("present"), font = big ? 19 : 13;  // presentation mode: larger ticks
    const M = { l: big ? 58 : 44, t: 10, r: 12, b: big ? 42 : 34 };
    const canvas = html("canvas", { class: "heat", "aria-label": opts.title || "map" }, parent);
    canvas.width = Math.round(w * sx + M.l + M.r); canvas.height = Math.round(h * sy + M.t + M.b);
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    let max = 0, minPos = Infinity;
    for (const row of values) for (const x of row) { if (x > max) max = x; if (x > 0 && x < minPos) minPos = x; }
    const log = opts.scale === "log" && max > 0, lo = Math.log10(minPos || 1), hi = Math.log10(max || 1);
    const f = (x) => (x > 0 ? (log ? (hi > lo ? (Math.log10(x) - lo) / (hi - lo) : 1) : x / max) : null);
    const img = ctx.createImageData(w, h), alpha = opts.image ? Math.round(255 * (opts.alpha ?? 0.55)) : 255;
    values.forEach((row, y) => row.forEach((x, i) => {
      const t = f(x), k = 4 * (y * w + i);
      const rgb = t === null ? [232, 232, 232] : colour(t);
      img.data[k] = rgb[0]; img.data[k + 1] = rgb[1]; img.data[k + 2] = rgb[2];
      img.data[k + 3] = t === null && opts.image ? Math.round(alpha * 0.3) : alpha;
    }));
    const off = document.createElement("canvas");
    off.width = w; off.height = h;
    off.getContext("2d").putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    if (opts.image) ctx.drawImage(opts.image, M.l, M.t, w * sx, h * sy);
    ctx.drawImage(off, M.l, M.t, w * sx, h * sy);
    const X = (x) => M.l + x * sx, Y = (y) => M.t + y * sy;
    ctx.save();
    ctx.beginPath(); ctx.rect(M.l, M.t, w * sx, h * sy); ctx.clip();
    if (opts.grid) {  // window partitions (attention), in input pixels
      const [step, offset] = opts.grid;
      ctx.strokeStyle = COLOURS.window; ctx.lineWidth = 1; ctx.setLineDash([3, 3]);
      for (let x = offset % step; x <= w; x += step) { ctx.beginPath(); ctx.moveTo(X(x), Y(0)); ctx.lineTo(X(x), Y(h)); ctx.stroke(); }
      if (!oneD) for (let y = offset % step; y <= h; y += step) { ctx.beginPath(); ctx.moveTo(X(0), Y(y)); ctx.lineTo(X(w), Y(y)); ctx.stroke(); }
      ctx.setLineDash([]);
    }
    const rect = (b) => (b.length === 1 ? [b[0][0], b[0][1], 0, h - 1] : [b[1][0], b[1][1], b[0][0], b[0][1]]);
    const stroke = (b, col, dash) => {
      const [x0, x1, y0, y1] = rect(b.length === 3 ? b.slice(1) : b);
      ctx.setLineDash(dash);
      ctx.lineWidth = 4; ctx.strokeStyle = COLOURS.boxEdge;
      ctx.strokeRect(X(x0), Y(y0), (x1 - x0 + 1) * sx, (y1 - y0 + 1) * sy);
      ctx.lineWidth = 2; ctx.strokeStyle = col;
      ctx.strokeRect(X(x0), Y(y0), (x1 - x0 + 1) * sx, (y1 - y0 + 1) * sy);
      ctx.setLineDash([]);
    };
    for (const b of opts.boxes || []) stroke(b[0], b[1], b[2] || [6, 4]);
    if (opts.box) stroke(opts.box, COLOURS.box, [6, 4]);
    if (opts.erf) stroke(opts.erf.map(([a, b]) => [Math.round(a), Math.round(b)]), COLOURS.erf, []);
    const cross = (p, col, r) => {
      const [py, px] = oneD ? [0, p[p.length - 1]] : p;
      const cx = X(px + 0.5), cy = oneD ? Y(0.5) : Y(py + 0.5);
      ctx.lineWidth = 4; ctx.strokeStyle = "#ffffff";
      ctx.beginPath(); ctx.moveTo(cx - r, cy); ctx.lineTo(cx + r, cy); ctx.moveTo(cx, cy - r); ctx.lineTo(cx, cy + r); ctx.stroke();
      ctx.lineWidth = 2; ctx.strokeStyle = col;
      ctx.beginPath(); ctx.moveTo(cx - r, cy); ctx.lineTo(cx + r, cy); ctx.moveTo(cx, cy - r); ctx.lineTo(cx, cy + r); ctx.stroke();
    };
    for (const c of opts.centres || []) cross(c, COLOURS.window, 6);
    if (opts.marker) cross(opts.marker, COLOURS.target, 9);
    ctx.restore();
    // Ticks: pixel indices along both axes.
    ctx.fillStyle = "#1d2330"; ctx.strokeStyle = "#1d2330"; ctx.lineWidth = 1; ctx.font = `${font}px system-ui, sans-serif`;
    const every = (n, px) => { const raw = 60 / px; for (const s of [1, 2, 4, 5, 8, 10, 16, 20, 25, 28, 32, 50, 56, 64, 100, 112, 128, 200, 256]) if (s >= raw) return s; return 500; };
    const ex = every(w, sx);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (let x = (ex - (ox % ex)) % ex; x < w; x += ex) {  // ticks at multiples of ex in input pixels
      ctx.beginPath(); ctx.moveTo(X(x + 0.5), Y(h)); ctx.lineTo(X(x + 0.5), Y(h) + 5); ctx.stroke();
      ctx.fillText(String(x + ox), X(x + 0.5), Y(h) + 7);
    }
    if (!oneD) {
      const ey = every(h, sy);
      ctx.textAlign = "right"; ctx.textBaseline = "middle";
      for (let y = (ey - (oy % ey)) % ey; y < h; y += ey) {
        ctx.beginPath(); ctx.moveTo(M.l - 5, Y(y + 0.5)); ctx.lineTo(M.l, Y(y + 0.5)); ctx.stroke();
        ctx.fillText(String(y + oy), M.l - 7, Y(y + 0.5));
      }
    }
    ctx.strokeStyle = "#8a93a3"; ctx.strokeRect(M.l - 0.5, M.t - 0.5, w * sx + 1, h * sy + 1);
    const read = html("p", { class: "readout" }, parent, "\u00a0");
    canvas.addEventListener("mousemove", (e) => {
      const r = canvas.getBoundingClientRect();
      const px = ((e.clientX - r.left) * canvas.width) / r.width, py = ((e.clientY - r.top) * canvas.height) / r.height;
      const x = Math.floor((px - M.l) / sx), y = Math.floor((py - M.t) / sy);
      if (x < 0 || y < 0 || x >= w || y >= h) { read.textContent = "\u00a0"; return; }
      read.textContent = `pixel ${oneD ? x + ox : `(${y + oy}, ${x + ox})`}: ${opts.metric || "value"} ${fmt(values[y][x])}`;
    });
    return { canvas, max, minPos };
  }
  // A window holding box (in pixel indices) with a margin, at least `least` pixels per axis, inside `shape`.
  function around(box, shape, least = 32) {
    return box.map(([a, b], i) => {
      const n = shape[i], want = Math.min(n, Math.max(least, Math.round((b - a + 1) * 1.5)));
      let lo = Math.round((a + b) / 2 - want / 2);
      lo = Math.max(0, Math.min(n - want, lo));
      return [lo, lo + want - 1];
    });
  }
  function colourbar(parent, max, label) {
    const p = html("div", { class: "colourbar" }, parent);
    const c = html("canvas", {}, p);
    c.width = 240; c.height = 12;
    const ctx = c.getContext("2d");
    for (let i = 0; i < c.width; i++) { ctx.fillStyle = css(colour(i / (c.width - 1))); ctx.fillRect(i, 0, 1, c.height); }
    html("span", {}, p, `grey = 0 · ${label || ""} up to ${fmt(max)}`);
    return p;
  }

  // The centre of the target's field in input pixels: center + jump * index from the table's last row
  // (regular fields), else the middle of the box.
  function centre(v) {
    const last = v.rows && v.rows.length ? v.rows[v.rows.length - 1] : null, col = (c) => v.columns.indexOf(c);
    const parse = (t) => String(t).split(/[x×]/).map((u) => { const [p, q] = u.split("/").map(Number); return q ? p / q : p; });
    if (last && last[col("uniform")] !== "NO" && last[col("global")] !== "YES") {
      const c = parse(last[col("center")]), j = parse(last[col("jump")]);
      const out = v.target.map((t, k) => (c.length === 1 ? c[0] : c[k]) + (j.length === 1 ? j[0] : j[k]) * t);
      if (out.every(Number.isFinite)) return out;
    }
    return v.box.map(([a, b]) => (a + b) / 2);
  }

  // ---------------------------------------------------------------- bars (a 1-D profile)
  // opts: {labels (show the numbers), band: [a, b] (theoretical field), select (index), onClick, colour, title}
  function bars(parent, values, opts = {}) {
    const n = values.length, W = 480, H = 210, left = 8, bottom = 26, top = 24;
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "bars", role: "img", "aria-label": opts.title || "bars" }, parent);
    const bw = (W - left - 8) / n, max = Math.max(1e-12, ...values);
    if (opts.band) {
      const [a, b] = opts.band;
      svg("rect", { x: left + a * bw, y: top, width: (b - a + 1) * bw, height: H - top - bottom, fill: "#fff3cc" }, s);
    }
    values.forEach((v, i) => {
      const bh = (v / max) * (H - top - bottom - 18);
      const r = svg("rect", { x: left + i * bw + 1, y: H - bottom - bh, width: Math.max(1, bw - 2), height: bh,
        fill: i === opts.select ? COLOURS.hot : opts.colour || "#5b7fc7", class: "bar" }, s);
      svg("title", {}, r).textContent = `input ${i}: ${fmt(v)}`;
      if (opts.onClick) { r.style.cursor = "pointer"; r.addEventListener("click", () => opts.onClick(i)); }
      if (opts.labels !== false && n <= 40 && v > 0) {
        svg("text", { x: left + (i + 0.5) * bw, y: H - bottom - bh - 4, "text-anchor": "middle", class: "val" }, s).textContent = fmt(v);
      }
      if (opts.names || n <= 40 || i % Math.ceil(n / 20) === 0) {
        svg("text", { x: left + (i + 0.5) * bw, y: H - bottom + 18, "text-anchor": "middle", class: "tick" }, s).textContent = opts.names ? opts.names[i] : i;
      }
    });
    if (opts.title) svg("text", { x: left, y: 15, class: "title" }, s).textContent = opts.title;
    return s;
  }

  // ---------------------------------------------------------------- the unrolled 1-D graph
  // g: an /api/graph answer; opts: {source (input index), values (per input, to colour the inputs),
  // shared (thickness by the number of paths through each edge), onInput(i), target, height}
  function unrolled(parent, g, opts = {}) {
    const L = g.layers.length, n = g.input[0], W = 900, H = opts.height || Math.max(200, Math.min(440, 64 * L + 50));
    const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "graph", role: "img", "aria-label": "unrolled graph" }, parent);
    const X = (x) => 70 + ((x + 0.5) * (W - 90)) / n, Y = (l) => H - 40 - (l * (H - 70)) / Math.max(1, L - 1);
    const key = (l, i) => `${l},${i}`, out = new Map(), inc = new Map();
    for (const [lu, u, lv, w] of g.edges) {
      const a = key(lu, u), b = key(lv, w);
      if (!out.has(a)) out.set(a, []);
      if (!inc.has(b)) inc.set(b, []);
      out.get(a).push(b); inc.get(b).push(a);
    }
    const order = [];
    g.layers.forEach((layer, l) => layer.x.forEach((_, i) => order.push(key(l, i))));
    const target = opts.target ?? g.target[0], tkey = key(L - 1, target);
    // Paths from the source to every node (forward) and from every node to the target (backward).
    const fwd = new Map(), bwd = new Map([[tkey, 1]]);
    if (opts.source !== null && opts.source !== undefined) {
      fwd.set(key(0, opts.source), 1);
      for (const k of order) { const c = fwd.get(k); if (c) for (const m of out.get(k) || []) fwd.set(m, (fwd.get(m) || 0) + c); }
    }
    for (let i = order.length - 1; i >= 0; i--) {
      const k = order[i];
      let c = k === tkey ? 1 : 0;
      for (const m of out.get(k) || []) c += bwd.get(m) || 0;
      if (c) bwd.set(k, c);
    }
    let hot = 0, maxUse = 1;
    const uses = g.edges.map(([lu, u, lv, w]) => (fwd.get(key(lu, u)) || 0) * (bwd.get(key(lv, w)) || 0));
    uses.forEach((c) => { if (c > 0) { hot++; maxUse = Math.max(maxUse, c); } });
    const layerEdges = [];
    g.edges.forEach(([lu, u, lv, w], e) => {
      const x1 = X(g.layers[lu].x[u]), y1 = Y(lu), x2 = X(g.layers[lv].x[w]), y2 = Y(lv);
      const inCone = bwd.has(key(lv, w)) && bwd.has(key(lu, u)), use = uses[e];
      const attrs = { class: "edge" + (use > 0 ? " hot" : inCone ? " cone" : "") };
      const line = lv - lu > 1
        ? svg("path", { ...attrs, d: `M${x1},${y1} Q${(x1 + x2) / 2 + 30},${(y1 + y2) / 2} ${x2},${y2}`, fill: "none" }, s)
        : svg("line", { ...attrs, x1, y1, x2, y2 }, s);
      if (use > 0 && opts.shared) line.style.strokeWidth = (1.2 + (7 * use) / maxUse).toFixed(2);
      if (use > 0) { svg("title", {}, line).textContent = `${use} path${use > 1 ? "s" : ""} use this edge`; layerEdges.push(line); }
    });
    layerEdges.forEach((e) => s.appendChild(e));  // the highlighted edges on top
    const vals = opts.values || null, vmax = vals ? Math.max(1e-12, ...vals) : 1;
    const r = Math.max(3.5, Math.min(10, (W - 90) / n / 3));
    g.layers.forEach((layer, l) => {
      const name = l === 0 ? "input" : layer.name.length > 9 ? layer.name.slice(0, 8) + "…" : layer.name;
      svg("text", { x: 4, y: Y(l) + 5, class: "layer" }, s).textContent = name;
      layer.x.forEach((x, i) => {
        const k = key(l, i);
        let cls = "node" + (bwd.has(k) ? "" : " off");
        if (k === tkey) cls += " target";
        if (l === 0 && i === opts.source) cls += " source";
        const fill = l === 0 && vals ? (vals[i] > 0 ? css(colour(vals[i] / vmax)) : "#eeeeee") : "#ffffff";
        const c = svg("circle", { class: cls, cx: X(x), cy: Y(l), r, fill }, s);
        svg("title", {}, c).textContent = l === 0 ? `input ${i}` : `${layer.name}[${i}]`;
        if (l === 0) {
          if (opts.onInput) { c.style.cursor = "pointer"; c.addEventListener("click", () => opts.onInput(i)); }
          if (n <= 40) svg("text", { x: X(x), y: Y(0) + r + 15, "text-anchor": "middle", class: "tick" }, s).textContent = i;
        }
      });
    });
    const paths = opts.source === null || opts.source === undefined ? null : fwd.get(tkey) || 0;
    return { svg: s, paths, edges: hot, name: g.layers[L - 1].name, target };
  }

  // ---------------------------------------------------------------- a receptive-field table with one row marked
  function table(parent, columns, rows, mark) {
    const wrap = html("div", { class: "scroll" }, parent), t = html("table", {}, wrap);
    const head = t.createTHead().insertRow();
    columns.forEach((c) => html("th", {}, head, c));
    const body = t.createTBody();
    let marked = null;
    rows.forEach((row, i) => {
      const tr = body.insertRow();
      if (i === mark) { tr.className = "mark"; marked = tr; }
      row.forEach((c) => { const td = tr.insertCell(); td.textContent = c; if (c === "NO") td.className = "no"; });
    });
    if (marked) requestAnimationFrame(() => { wrap.scrollTop = Math.max(0, marked.offsetTop - wrap.clientHeight / 2); });
    return t;
  }

  // ---------------------------------------------------------------- the step engine
  function readStep(n) {
    const m = /(?:^|[#&?])step=(\d+)/.exec(location.hash) || /(?:^|[?&])step=(\d+)/.exec(location.search);
    const k = m ? parseInt(m[1], 10) : 1;
    return Math.min(n, Math.max(1, k)) - 1;
  }
  let onPresent = null;  // the running lesson's redraw (canvas text follows the mode)
  function presentation(on) {
    const changed = document.body.classList.contains("present") !== on;
    document.body.classList.toggle("present", on);
    if (changed && onPresent) onPresent();
    $("present").setAttribute("aria-pressed", on ? "true" : "false");
    try { localStorage.setItem("rfgraph-present", on ? "1" : "0"); } catch (err) { /* private mode */ }
  }
  function lesson(def) {
    const steps = def.steps, n = steps.length, ctx = def.state || {};
    let current = -1, drawing = 0;
    // #controls: the lesson's own (made once by setup); #step-controls: emptied at every step.
    const stage = $("stage"), text = $("step-text"), controls = $("controls"), stepControls = $("step-controls");
    async function show(k, push) {
      k = Math.min(n - 1, Math.max(0, k));
      const step = steps[k], token = ++drawing;
      current = k;
      document.body.dataset.ready = "0";
      document.body.dataset.step = String(k + 1);
      $("step-title").textContent = step.title;
      text.innerHTML = step.text;  // written in the lesson file, never from the network
      stepControls.replaceChildren();
      if (step.enter) step.enter(ctx);  // a step's starting state (a control may change it afterwards)
      $("step-count").textContent = `step ${k + 1} of ${n}`;
      $("back").disabled = k === 0;
      $("next").disabled = k === n - 1;
      document.querySelectorAll("#dots button").forEach((b, i) => b.classList.toggle("on", i === k));
      const hash = `#step=${k + 1}`;
      if (location.hash !== hash) (push ? history.pushState : history.replaceState).call(history, null, "", hash);
      await redraw(token);
    }
    async function redraw(token) {
      token = token || ++drawing;
      const err = $("error");
      err.hidden = true; err.textContent = "";
      document.body.dataset.ready = "0";
      const fresh = document.createElement("div");
      fresh.className = "stage-inner";
      $("busy").hidden = false;
      try {
        await steps[current].draw(fresh, ctx, stepControls);
        if (token !== drawing) return;
        stage.replaceChildren(fresh);
      } catch (e) {
        if (token !== drawing) return;
        stage.replaceChildren();  // never leave a stale drawing next to an error
        err.hidden = false;
        err.textContent = e.message;
      } finally {
        if (token === drawing) { $("busy").hidden = true; document.body.dataset.ready = "1"; }
      }
    }
    ctx.redraw = () => redraw();
    onPresent = () => { if (current >= 0) redraw(); };
    ctx.go = (k) => show(k, true);
    const dots = $("dots");
    steps.forEach((s, i) => { const b = html("button", { type: "button", title: s.title, "aria-label": `step ${i + 1}: ${s.title}` }, dots, String(i + 1)); b.addEventListener("click", () => show(i, true)); });
    $("back").addEventListener("click", () => show(current - 1, true));
    $("next").addEventListener("click", () => show(current + 1, true));
    document.addEventListener("keydown", (e) => {
      const t = e.target, tag = t && t.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.altKey || e.ctrlKey || e.metaKey) return;
      if (e.key === "ArrowRight" || e.key === "PageDown") { e.preventDefault(); show(current + 1, true); }
      if (e.key === "ArrowLeft" || e.key === "PageUp") { e.preventDefault(); show(current - 1, true); }
      if (e.key === "p" || e.key === "P") presentation(!document.body.classList.contains("present"));
    });
    window.addEventListener("popstate", () => show(readStep(n), false));
    window.addEventListener("hashchange", () => { const k = readStep(n); if (k !== current) show(k, false); });
    $("present").addEventListener("click", () => presentation(!document.body.classList.contains("present")));
    let saved = "0";
    try { saved = localStorage.getItem("rfgraph-present") || "0"; } catch (err) { /* private mode */ }
    presentation(/present=1/.test(location.search) || saved === "1");
    if (def.setup) def.setup(ctx, controls);
    show(readStep(n), false);
  }

  // ---------------------------------------------------------------- small controls
  function slider(parent, label, min, max, value, onInput, fmtValue) {
    const wrap = html("label", { class: "slider" }, parent, label + " ");
    const input = html("input", { type: "range", min, max, value, step: 1 }, wrap);
    const out = html("output", {}, wrap, fmtValue ? fmtValue(value) : String(value));
    input.addEventListener("input", () => { const v = +input.value; out.textContent = fmtValue ? fmtValue(v) : String(v); onInput(v); });
    return input;
  }
  function buttons(parent, items) {
    // items: [[label, onClick, pressed?]]
    const p = html("div", { class: "buttons" }, parent);
    return items.map(([label, onClick, pressed]) => {
      const b = html("button", { type: "button", class: "pick" + (pressed ? " on" : ""), "aria-pressed": pressed ? "true" : "false" }, p, label);
      b.addEventListener("click", onClick);
      return b;
    });
  }

  return { api, view, map, graph, mapValues, heat, around, centre, colourbar, bars, unrolled, table, lesson, slider, buttons,
    svg, html, panel, legend, colour, css, fmt, COLOURS };
})();
