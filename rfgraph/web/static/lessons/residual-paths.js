// Lesson 5: residual networks as many paths of different lengths (Veit et al. 2016), and how the
// shortcuts reshape the map.
"use strict";

(() => {
  // Computing ops (they count 1 towards a path's length, SPEC section 11); merges and index maps count 0.
  const COMPUTING = /^(conv|deconv|convt|pool|maxpool|avgpool|apool|gpool|gap|up|resize|gmix|wmix)/;

  // Path counts by length on the drawn graph: out[k][i] = paths of length k from input i to the target.
  // HOOK(theory): rf.path_lengths(net, shape, target, per_pixel=True) (SPEC section 11) computes the same
  // array in the library; when it is on main, an /api endpoint can answer it and this function can read it.
  function pathLengths(g) {
    const L = g.layers.length, n = g.input[0], target = g.target[0];
    const computing = g.layers.map((layer) => COMPUTING.test(layer.name.split(".").pop()));
    const into = new Map();
    for (const [lu, u, lv, w] of g.edges) {
      const k = `${lv},${w}`;
      if (!into.has(k)) into.set(k, []);
      into.get(k).push([lu, u]);
    }
    // Backward from the target: poly[node] = counts by length of the paths from the node to the target.
    const down = new Map([[`${L - 1},${target}`, [1]]]);
    for (let l = L - 1; l >= 1; l--) {
      g.layers[l].x.forEach((_, i) => {
        const p = down.get(`${l},${i}`);
        if (!p) return;
        for (const [lu, u] of into.get(`${l},${i}`) || []) {
          const k = `${lu},${u}`, q = down.get(k) || [], add = computing[l] ? 1 : 0;
          p.forEach((c, len) => { q[len + add] = (q[len + add] || 0) + c; });
          down.set(k, q);
        }
      });
    }
    let max = 0;
    for (let i = 0; i < n; i++) max = Math.max(max, ((down.get(`0,${i}`) || []).length || 1) - 1);
    const out = Array.from({ length: max + 1 }, () => new Array(n).fill(0));
    for (let i = 0; i < n; i++) (down.get(`0,${i}`) || []).forEach((c, len) => { out[len][i] = c || 0; });
    return out;
  }
  const binom = (n, k) => { let r = 1; for (let i = 1; i <= k; i++) r = (r * (n - i + 1)) / i; return r; };
  const sum = (a) => a.reduce((x, y) => x + y, 0);

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
        const g = await RF.graph({ net: "res(conv3p1)*6", input: "15" }), by = pathLengths(g);
        const counts = by.map(sum);
        const a = RF.panel(s, "routes through the blocks, by length (C(6, k))", "half");
        RF.bars(a, counts.map((_, k) => binom(6, k)), { colour: "#8a6bd1", title: "routes of length k = 0 … 6" });
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
        const g = await RF.graph({ net: "res(conv3p1)*6", input: "15" }), by = pathLengths(g);
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
      { title: "In 2-D the weights decide", text: `<p>Eight 3 × 3 convolutions, plain (left) and in four residual
blocks of two (right), paths on a log scale. Counting paths with every weight 1, a 3 × 3 body offers 81 paths per
block and the shortcut one: the shortcut barely shows, both 95 % squares are 11 × 11.</p>
<p>How much a skip reshapes the map depends on the weights: in a trained network the body's taps are small, and the
shortcut carries as much as the body. (The library's averaging weights, <code>weights="mean"</code>, model that.)</p>`,
      draw: async (s) => {
        for (const [net, title] of [["conv3p1*8", "plain"], ["res(conv3p1,conv3p1)*4", "residual"]]) {
          const v = await RF.view({ net, input: "33x33", metric: "paths" }), p = RF.panel(s, `${title}: ${net}`, "half");
          RF.heat(p, v.map, { box: v.box, erf: v.erf.box, scale: "log", metric: "paths", size: 330, marker: [16, 16] });
          RF.legend(p, [["box", RF.COLOURS.box, "theoretical field"], ["line", RF.COLOURS.erf, `95 % of the paths: ${v.erf.size.join(" × ")}`]]);
        }
      } },
    ],
  });
})();
