// Lesson 8: a kernel sliding, in the style of Dumoulin and Visin's convolution arithmetic animations:
// 1-D and 2-D, stride, padding cells, dilation and transposed convolution; each output lit with its window.
// Drawn here in SVG from the arithmetic (no server request).
"use strict";

(() => {
  const PRESETS = {
    basic: { dim: 1, n: 7, k: 3, s: 1, p: 0, d: 1, tr: false },
    stride: { dim: 1, n: 9, k: 3, s: 2, p: 0, d: 1, tr: false },
    padding: { dim: 1, n: 7, k: 3, s: 1, p: 1, d: 1, tr: false },
    dilation: { dim: 1, n: 9, k: 3, s: 1, p: 0, d: 2, tr: false },
    twoD: { dim: 2, n: 5, k: 3, s: 2, p: 1, d: 1, tr: false },
    twoDdil: { dim: 2, n: 7, k: 3, s: 1, p: 0, d: 2, tr: false },
    transposed: { dim: 2, n: 3, k: 3, s: 2, p: 0, d: 1, tr: true },
    transposed1: { dim: 1, n: 4, k: 3, s: 2, p: 1, d: 1, tr: true },
  };

  // The geometry along one axis: for output o, the input cells it reads ("window"); cells of the drawn row are
  // -pad .. n - 1 + pad (direct) or the zero-inserted, padded row (transposed, a stride-1 convolution over it).
  function axis(c) {
    if (!c.tr) {
      const m = Math.floor((c.n + 2 * c.p - c.d * (c.k - 1) - 1) / c.s) + 1;
      return { m, cells: c.n + 2 * c.p, first: -c.p, kind: (x) => (x < 0 || x >= c.n ? "pad" : "in"),
        window: (o) => Array.from({ length: c.k }, (_, j) => o * c.s - c.p + j * c.d), index: (x) => x };
    }
    // Transposed: s - 1 zeros between inputs, d(k - 1) - p cells of padding on each side, stride 1.
    const q = c.d * (c.k - 1) - c.p, span = (c.n - 1) * c.s + 1, m = span + 2 * q - c.d * (c.k - 1);
    return { m, cells: span + 2 * q, first: -q,
      kind: (x) => (x < 0 || x >= span ? "pad" : x % c.s ? "zero" : "in"),
      window: (o) => Array.from({ length: c.k }, (_, j) => o - q + j * c.d), index: (x) => x / c.s };
  }

  function formula(c, a) {
    return c.tr
      ? `o = (i − 1)·s − 2p + d(k − 1) + 1 = (${c.n} − 1)·${c.s} − 2·${c.p} + ${c.d}·(${c.k} − 1) + 1 = ${a.m}`
      : `o = ⌊(i + 2p − d(k − 1) − 1) / s⌋ + 1 = ⌊(${c.n} + 2·${c.p} − ${c.d}·(${c.k} − 1) − 1) / ${c.s}⌋ + 1 = ${a.m}`;
  }

  function draw(stage, ctx) {
    const c = ctx.cfg, a = axis(c);
    if (a.m < 1) throw new Error(`no output: the kernel (${c.d * (c.k - 1) + 1} cells wide) is larger than the padded input; lower k or d, or raise n or p`);
    const total = c.dim === 1 ? a.m : a.m * a.m;
    ctx.t = ((ctx.t % total) + total) % total;
    const oy = c.dim === 1 ? 0 : Math.floor(ctx.t / a.m), ox = c.dim === 1 ? ctx.t : ctx.t % a.m;
    const wx = a.window(ox), wy = c.dim === 1 ? [0] : a.window(oy);
    const lit = (x, y) => wx.includes(x) && (c.dim === 1 || wy.includes(y));
    const p = RF.panel(stage, `${c.tr ? "transposed convolution" : "convolution"}: input ${c.n}${c.dim === 2 ? ` × ${c.n}` : ""}, ` +
      `kernel ${c.k}, stride ${c.s}, padding ${c.p}, dilation ${c.d} → output ${a.m}${c.dim === 2 ? ` × ${a.m}` : ""}`, "wide");
    const cellIn = Math.min(46, Math.floor((c.dim === 1 ? 820 : 430) / a.cells)), cellOut = c.dim === 1 ? cellIn : Math.min(46, Math.floor(300 / a.m));
    const W = c.dim === 1 ? 40 + a.cells * cellIn : 60 + a.cells * cellIn + 80 + a.m * cellOut;
    const H = c.dim === 1 ? 3 * cellIn + 120 : Math.max(a.cells * cellIn, a.m * cellOut) + 60;
    const s = RF.svg("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: "slide", role: "img", "aria-label": "sliding kernel" }, p);
    const fill = { in: "#cfe0f7", pad: "#ffffff", zero: "#ffffff" };
    const drawCell = (x, y, size, kind, on, label) => {
      const r = RF.svg("rect", { x, y, width: size - 2, height: size - 2, rx: 3, fill: on ? (kind === "in" ? "#2c6bd6" : "#9fb8e3") : fill[kind],
        stroke: kind === "in" ? "#2c6bd6" : "#8a93a3", "stroke-width": on ? 3 : 1.2, "stroke-dasharray": kind === "in" ? "" : "4 3" }, s);
      if (label !== undefined && size >= 22) {
        RF.svg("text", { x: x + size / 2 - 1, y: y + size / 2 + 4, "text-anchor": "middle", class: "cell" + (on && kind === "in" ? " on" : "") }, s).textContent = label;
      }
      return r;
    };
    // Click an output cell to light its window.
    const pick = (rect, t) => {
      rect.style.cursor = "pointer";
      rect.addEventListener("click", () => { if (ctx.stop) ctx.stop(); ctx.t = t; ctx.redraw(); });
    };
    if (c.dim === 1) {
      const y0 = H - cellIn - 40, y1 = 30;
      const x0 = 20 + ((a.cells - a.m) * cellIn) / 2;
      for (let i = 0; i < a.cells; i++) {
        const x = i + a.first, kind = a.kind(x);
        drawCell(20 + i * cellIn, y0, cellIn, kind, lit(x, 0), kind === "in" ? a.index(x) : kind === "zero" ? "0" : "");
      }
      for (let o = 0; o < a.m; o++) pick(drawCell(x0 + o * cellOut, y1, cellOut, "in", o === ox, o), o);
      for (const x of wx) {
        const i = x - a.first;
        RF.svg("line", { x1: 20 + (i + 0.5) * cellIn - 1, y1: y0, x2: x0 + (ox + 0.5) * cellOut - 1, y2: y1 + cellOut - 2,
          stroke: a.kind(x) === "in" ? RF.COLOURS.hot : "#8a93a3", "stroke-width": 2, "stroke-dasharray": a.kind(x) === "in" ? "" : "4 3" }, s);
      }
      RF.svg("text", { x: 20, y: H - 12, class: "tick" }, s).textContent = "input (dashed: padding" + (c.tr ? ", 0: inserted zeros" : "") + ")";
      RF.svg("text", { x: x0, y: 20, class: "tick" }, s).textContent = "output";
    } else {
      const gx = 30, gy = 30, ox0 = gx + a.cells * cellIn + 80, oy0 = gy + ((a.cells * cellIn - a.m * cellOut) / 2);
      for (let j = 0; j < a.cells; j++) for (let i = 0; i < a.cells; i++) {
        const x = i + a.first, y = j + a.first, kx = a.kind(x), ky = a.kind(y);
        const kind = kx === "pad" || ky === "pad" ? "pad" : kx === "zero" || ky === "zero" ? "zero" : "in";
        drawCell(gx + i * cellIn, gy + j * cellIn, cellIn, kind, lit(x, y), kind === "zero" ? "0" : undefined);
      }
      for (let j = 0; j < a.m; j++) for (let i = 0; i < a.m; i++) pick(drawCell(ox0 + i * cellOut, oy0 + j * cellOut, cellOut, "in", i === ox && j === oy), j * a.m + i);
      const wy0 = Math.min(...wy) - a.first;
      RF.svg("line", { x1: gx + (Math.max(...wx) - a.first + 1) * cellIn, y1: gy + (wy0 + 0.5) * cellIn, x2: ox0 + ox * cellOut, y2: oy0 + (oy + 0.5) * cellOut,
        stroke: RF.COLOURS.hot, "stroke-width": 2 }, s);
      RF.svg("text", { x: gx, y: 20, class: "tick" }, s).textContent = "input (dashed: padding" + (c.tr ? ", 0: inserted zeros" : "") + ")";
      RF.svg("text", { x: ox0, y: 20, class: "tick" }, s).textContent = "output";
    }
    const reads = wx.filter((x) => a.kind(x) === "in").map(a.index);
    const readsY = c.dim === 1 ? [0] : wy.filter((y) => a.kind(y) === "in").map(a.index);
    const where = c.dim === 1 ? `output ${ox}` : `output (${oy}, ${ox})`;
    const what = c.dim === 1 ? `inputs ${reads.join(", ") || "none (only padding)"}`
      : `input rows ${readsY.join(", ") || "none"} × columns ${reads.join(", ") || "none"}`;
    RF.html("p", { class: "facts", id: "window-text" }, p, `${where} reads ${what}.`);
    RF.html("p", { class: "formula" }, p, formula(c, a));
    RF.legend(p, [["fill", "#2c6bd6", "input cells in the window"], ["box", "#8a93a3", c.tr ? "padding and inserted zeros" : "padding"],
      ["fill", "#cfe0f7", "other input cells"]]);
  }

  function setup(ctx, controls) {
    ctx.cfg = { ...PRESETS.basic };
    ctx.t = 0;
    const bar = RF.html("div", { class: "buttons" }, controls);
    const play = RF.html("button", { type: "button", id: "play", class: "pick" }, bar, "▶ play");
    const step = RF.html("button", { type: "button", id: "step-one", class: "pick" }, bar, "step ▸");
    const timer = { id: null };
    const setPlaying = (on) => {
      clearInterval(timer.id);
      timer.id = on ? setInterval(() => { ctx.t++; ctx.redraw(); }, 700) : null;
      play.textContent = on ? "❚❚ pause" : "▶ play";
      play.classList.toggle("on", on);
    };
    play.addEventListener("click", () => setPlaying(!timer.id));
    step.addEventListener("click", () => { setPlaying(false); ctx.t++; ctx.redraw(); });
    ctx.sliders = {};
    for (const [key, label, lo, hi] of [["n", "input size i", 2, 11], ["k", "kernel k", 1, 5], ["s", "stride s", 1, 3], ["p", "padding p", 0, 3], ["d", "dilation d", 1, 3]]) {
      ctx.sliders[key] = RF.slider(controls, label, lo, hi, ctx.cfg[key], (v) => { ctx.cfg[key] = v; ctx.t = 0; ctx.redraw(); });
    }
    const modes = RF.html("div", { class: "buttons" }, controls);
    ctx.modeButtons = [["1-D", { dim: 1 }], ["2-D", { dim: 2 }], ["direct", { tr: false }], ["transposed", { tr: true }]].map(([label, change]) => {
      const b = RF.html("button", { type: "button", class: "pick" }, modes, label);
      b.addEventListener("click", () => { Object.assign(ctx.cfg, change); ctx.t = 0; ctx.redraw(); });
      b.dataset.change = JSON.stringify(change);
      return b;
    });
    ctx.stop = () => setPlaying(false);
  }
  // Show the configuration in the controls (after a step sets a preset).
  function sync(ctx) {
    for (const [key, input] of Object.entries(ctx.sliders)) {
      input.value = ctx.cfg[key];
      input.nextElementSibling.textContent = String(ctx.cfg[key]);
    }
    for (const b of ctx.modeButtons) {
      const [k, v] = Object.entries(JSON.parse(b.dataset.change))[0];
      b.classList.toggle("on", ctx.cfg[k] === v);
    }
  }
  const preset = (name) => (stage, ctx) => {
    if (ctx.preset !== name) { ctx.cfg = { ...PRESETS[name] }; ctx.t = 0; ctx.preset = name; }
    sync(ctx);
    draw(stage, ctx);
  };

  RF.lesson({
    setup,
    steps: [
      { title: "A 3-tap kernel slides", text: `<p>Seven inputs, a kernel of 3 taps, stride 1, no padding: 5 outputs.
Press <b>play</b> (or <b>step</b>): each output lights the 3 inputs it reads.</p>`, draw: preset("basic") },
      { title: "Stride 2", text: `<p>With stride 2 the kernel jumps 2 inputs at a time: neighbouring outputs' windows
overlap by one input only, and there are half as many outputs.</p>`, draw: preset("stride") },
      { title: "Padding", text: `<p>Padding 1 adds a cell on each side (dashed, zero): the output keeps the input's size
("same"), and the first and last outputs read padding.</p>`, draw: preset("padding") },
      { title: "Dilation", text: `<p>Dilation 2 spreads the taps 2 apart: the kernel covers 5 inputs with 3 taps.
This is where the holes of lesson 3 come from.</p>`, draw: preset("dilation") },
      { title: "2-D: stride 2, padding 1", text: `<p>The classic picture: a 5 × 5 input, a 3 × 3 kernel, stride 2,
padding 1 → a 3 × 3 output. Every output lights its 3 × 3 window.</p>`, draw: preset("twoD") },
      { title: "2-D: dilation 2", text: `<p>A dilated 3 × 3 kernel (dilation 2) covers 5 × 5 pixels and skips every other
one.</p>`, draw: preset("twoDdil") },
      { title: "Transposed convolution", text: `<p>A transposed convolution with stride 2 is drawn as a stride-1 convolution over
the input with <b>zeros inserted</b> between its cells (the "0" cells) and padding around: a 3 × 3 input becomes a
7 × 7 output. Each output reads only the real inputs under the window.</p>`, draw: preset("transposed") },
      { title: "Your turn", text: `<p>Change the sliders and the buttons: 1-D or 2-D, direct or transposed. Watch the output
size formula and check it against the drawing.</p><p>Try i = 4, k = 3, s = 2, p = 1 transposed in 1-D: the
"deconv4s2p1" of segmentation networks is one tap larger.</p>`, draw: preset("transposed1") },
    ],
  });
})();
