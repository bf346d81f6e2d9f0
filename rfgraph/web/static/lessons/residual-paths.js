// Lesson 5: residual networks as many paths of different lengths (Veit et al. 2016), and how the
// shortcuts reshape the map.
"use strict";

(() => {
  // Path counts by length come from the library, rf.path_lengths (SPEC section 11), through /api/lengths:
  // op_graph (whole blocks, Veit et al.), pixels (pixel-level paths), per_pixel[k][i] (1-D).
  const lengths = (net, input, more) => RF.api("/api/lengths", { net, input, ...(more || {}) });
  const sum = (a) => a.reduce((x, y) => x + y, 0);
  // Plain and residual 3 x 3 stacks side by side, paths with unit or averaging weights.
  async function twoD(s, weights) {
    for (const [net, title] of [["conv3p1*8", "plain"], ["res(conv3p1,conv3p1)*4", "residual"]]) {
      const v = await RF.view({ net, input: "33x33", metric: "paths", weights }), p = RF.panel(s, `${title}: ${net}`, "half");
      RF.heat(p, v.map, { box: v.box, erf: v.erf.box, scale: "log", metric: "paths", size: 330, marker: [16, 16] });
      RF.legend(p, [["box", RF.COLOURS.box, "theoretical field"], ["line", RF.COLOURS.erf, `95 % of the paths: ${v.erf.size.join(" × ")}`]]);
      RF.html("p", { class: "facts" }, p, `weights ${weights}: the centre pixel holds ${(100 * v.map[16][16] / v.total).toFixed(1)} % of the map.`);
    }
  }

  RF.lesson({
    state: { len: 3 },
    steps: [
      { title: "A residual block is two routes", text: `<p>Three residual blocks, each a 3-tap convolution plus an identity
shortcut (the arcs). A signal can go <b>through</b> a block's convolution or <b>around</b> it.</p>
<p>So three blocks give 2 × 2 × 2 = <b>8</b> routes through the network, of lengths 0 to 3 convolutions:
Veit et al. 2016 read a residual network as an ensemble of paths.</p>`,
      draw: async (s) => {
        const g = await RF.graph({ net: "res(conv3p1)*3", input: "11" }), p = RF.panel(s, "res(conv3p1)*3 on 11 inputs", "wide");
        RF.unrolled(p, g, { source: 5, height: 380 });
        RF.html("p", { class: "facts" }, p, "Red: every path from input 5 to the target; the arcs are the identity shortcuts.");
      } },
      { title: "How long are the paths?", text: `<p>Six blocks. Counting whole blocks (through or around), there are
C(6, k) routes through k convolutions: <b>1 6 15 20 15 6 1</b>, Veit et al.'s binomial.</p>
<p>Counting pixel-level paths, every convolution also offers 3 taps: C(6, k) · 3<sup>k</sup> paths of length k.
Most paths are of middle length; the plain path through all six convolutions is only one route of 64.</p>`,
      draw: async (s) => {
        const L = await lengths("res(conv3p1)*6", "15"), counts = L.pixels;
        const a = RF.panel(s, "routes through the blocks, by length (C(6, k))", "half");
        RF.bars(a, L.op_graph, { colour: "#8a6bd1", title: "routes of length k = 0 … 6" });
        const b = RF.panel(s, "pixel-level paths to the middle output, by length", "half");
        RF.bars(b, counts, { colour: "#3f9b73", title: `paths of length k = 0 … ${counts.length - 1}; ${sum(counts)} in all` });
        RF.html("p", { class: "facts" }, b, `counts: ${counts.join(" ")}`);
      } },
      { title: "Where do short paths start?", text: `<p>Pick a length with the slider. Paths of length k start
at most k pixels from the centre: the short paths (through the shortcuts) all start near the target's own pixel.</p>
<p>The full map is the sum of these maps over all lengths.</p>`,
      draw: async (s, ctx, controls) => {
        // The slider first (before any wait), so that a step left meanwhile cannot receive it: six blocks, k = 0 ... 6.
        if (!controls.querySelector("input")) {
          RF.slider(controls, "path length k", 0, 6, ctx.len, (v) => { ctx.len = v; ctx.redraw(); });
        }
        const by = (await lengths("res(conv3p1)*6", "15", { per_pixel: "1" })).per_pixel;
        const k = Math.min(ctx.len, by.length - 1);
        const p = RF.panel(s, `paths of length ${k} from each input (res(conv3p1)*6, 15 inputs)`, "half");
        RF.bars(p, by[k], { colour: "#3f9b73", title: `${sum(by[k])} paths of length ${k}` });
        const q = RF.panel(s, "all paths (the paths map)", "half");
        RF.bars(q, by[0].map((_, i) => sum(by.map((row) => row[i]))), { colour: "#5b7fc7", title: "the sum over all lengths" });
      } },
      { title: "Shortcuts pile weight on the centre", text: `<p>The same six convolutions without shortcuts (left) and
with them (right). Both fields are 13 pixels wide, but with the shortcuts the centre pixel has far more paths
than its neighbours: the map is sharper, its 95 % field smaller.</p>`,
      draw: async (s) => {
        for (const [net, title] of [["conv3p1*6", "plain: conv3p1*6"], ["res(conv3p1)*6", "residual: res(conv3p1)*6"]]) {
          const v = await RF.view({ net, input: "15", metric: "paths" }), p = RF.panel(s, title, "half");
          RF.bars(p, v.map[0], { band: v.box[0], labels: true, colour: "#3f9b73",
            title: `95 % of the paths within ${v.erf.size[0]} pixels; peak ${RF.fmt(v.max)} of ${RF.fmt(v.total)}` });
        }
      } },
      { title: "In 2-D, with every weight 1", text: `<p>Eight 3 × 3 convolutions, plain (left) and in four residual
blocks of two (right), paths on a log scale. With every weight 1, a 3 × 3 body offers 81 paths per block and the
shortcut one: the shortcut barely shows, both 95 % squares are 11 × 11.</p>`,
      draw: (s) => twoD(s, "ones") },
      { title: "Averaging weights: the shortcut counts", text: `<p>In a trained network a 3 × 3 body does not multiply the
signal by 9. With averaging weights (<code>weights="mean"</code>: every convolution tap 1/9, the shortcut 1, SPEC
section 11) the shortcut carries as much as the body.</p><p>Now the residual map is sharper: <b>9 × 9</b> pixels hold
95 % of it against 11 × 11 without shortcuts, and the centre pixel alone holds 12 % (3 % without).</p>`,
      draw: (s) => twoD(s, "mean") },
      { title: "ResNet-50: an ensemble of paths", text: `<p>The same count on torchvision's ResNet-50 (over its graph of
ops: each route through the blocks, bodies or shortcuts, counted once). The lengths run from 8 to 52 operations and
most routes are of middle length: Veit et al. 2016's picture of a residual network as many networks of different
depths.</p>`,
      draw: async (s) => {
        const L = await lengths("resnet50", "224x224"), first = L.op_graph.findIndex((c) => c > 0);
        const p = RF.panel(s, "ResNet-50: routes by length (computing ops passed)", "wide");
        const shown = L.op_graph.slice(first);
        RF.bars(p, shown, { labels: false, colour: "#8a6bd1", names: shown.map((_, i) => (i % 4 === 0 ? String(first + i) : "")),
          title: `${sum(L.op_graph).toLocaleString()} routes; lengths ${first} to ${L.op_graph.length - 1}` });
        RF.html("p", { class: "facts" }, p, `most common length: ${L.op_graph.indexOf(Math.max(...L.op_graph))} ops; ` +
          `the plain route through every body is one of ${sum(L.op_graph).toLocaleString()}.`);
      } },
    ],
  });
})();
