// Lesson 1: paths and edges on the unrolled graph of five 3-tap convolutions over 15 inputs
// (the importance-profile article's example).
"use strict";

(() => {
  const NET = { net: "conv3*5", input: "15" };
  const data = async () => {
    const [paths, edges, g] = await Promise.all([
      RF.map({ ...NET, metric: "paths" }), RF.map({ ...NET, metric: "edges" }), RF.graph(NET)]);
    return { paths: paths[0], edges: edges[0], g };
  };

  // The two profiles side by side, the graph below; `source` is the input whose paths are red.
  async function draw(stage, ctx, opts) {
    const { paths, edges, g } = await data();
    const source = opts.source === undefined ? ctx.source : opts.source;
    const pick = (i) => { ctx.source = i; ctx.redraw(); };
    const band = [2, 12];
    if (opts.edges !== false) {
      const p = RF.panel(stage, "edges: distinct edges on the paths from each input to the target", "half");
      RF.bars(p, edges, { band, select: source, onClick: opts.click ? pick : null, colour: "#5b7fc7" });
    }
    if (opts.paths) {
      const p = RF.panel(stage, "paths: routes from each input to the target", "half");
      RF.bars(p, paths, { band, select: source, onClick: opts.click ? pick : null, colour: "#3f9b73" });
    }
    const p = RF.panel(stage, "the unrolled graph: input at the bottom, the target conv5[2] on top", "wide");
    const out = RF.unrolled(p, g, { source, values: opts.colourBy === "paths" ? paths : edges, shared: opts.shared,
      onInput: opts.click ? pick : null });
    const facts = RF.html("p", { class: "facts" }, p);
    if (source === null || source === undefined) {
      facts.textContent = "Dark edges lie on some path to the target; pale nodes never reach it. " +
        "The yellow band is the theoretical receptive field: inputs 2 to 12, 11 pixels.";
    } else {
      facts.textContent = `input ${source} → conv5[2]: ${out.paths} paths, ${out.edges} distinct edges (red)` +
        (opts.shared ? "; the thicker an edge, the more of those paths share it." : ".");
    }
    RF.legend(p, [["line", RF.COLOURS.hot, "edges on the paths from the chosen input"], ["line", "#8a93a3", "edges on some path to the target"],
      ["fill", "#fff3cc", "theoretical receptive field (11 pixels)"]]);
  }

  RF.lesson({
    state: { source: 4 },
    steps: [
      {
        title: "The network, unrolled",
        text: `<p>Fifteen input pixels, five convolutions with 3 taps each, no padding: 15 → 13 → 11 → 9 → 7 → 5 positions.</p>
<p>Unrolling draws one node per position and one edge per tap. The target is the middle output, <code>conv5[2]</code>.</p>
<p>Its theoretical receptive field is 1 + 5 × 2 = <b>11 pixels</b>: inputs 2 to 12.</p>`,
        draw: (stage, ctx) => draw(stage, ctx, { source: null, edges: false }),
      },
      {
        title: "Count the edges",
        text: `<p>For each input pixel, count the distinct edges on all paths from it to the target.</p>
<p>Across the field the counts are <b class="num">5 13 24 31 36 37 36 31 24 13 5</b>: the importance profile of the
importance-profile article. The edge pixels touch only a few edges; the middle ones reach 37.</p>`,
        draw: (stage, ctx) => draw(stage, ctx, { source: null, edges: true }),
      },
      {
        title: "Count the paths",
        text: `<p>Now count the <b>paths</b> (routes) instead: <b class="num">1 5 15 30 45 51 45 30 15 5 1</b>.</p>
<p>The path count is the gradient of the target when every weight is one: it is bell-shaped, like the effective
receptive field of Luo et al. 2016. The edge count falls off far more slowly.</p>
<p>Edges (left) and paths (right) side by side: same field, very different shapes.</p>`,
        draw: (stage, ctx) => draw(stage, ctx, { source: null, paths: true, colourBy: "paths" }),
      },
      {
        title: "One input: input 4",
        text: `<p>Follow input 4 (red). It has <b>15 paths</b> to the target, but they use only <b>24 distinct edges</b>.</p>
<p>The paths fan out and merge again: many of them run over the same edges.</p>`,
        draw: (stage, ctx) => draw(stage, ctx, { source: 4, paths: true }),
      },
      {
        title: "Why paths outnumber edges",
        text: `<p>The centre input 7 has <b>51 paths</b> over only <b>37 edges</b>. The line width shows how many of
the 51 paths share each edge: the edges near the target carry most of them.</p>
<p>Paths multiply at every layer (up to 3 choices per step), edges only add up: that is why the paths profile is
peaked and the edges profile is flat.</p>`,
        draw: (stage, ctx) => draw(stage, ctx, { source: 7, paths: true, shared: true }),
      },
      {
        title: "Your turn: click any input",
        text: `<p>Click an input node or a bar. The red edges, the counts and the line widths follow.</p>
<p>Try input 2 (one path, 5 edges: the field's edge) and input 12.</p>`,
        draw: (stage, ctx) => draw(stage, ctx, { paths: true, shared: true, click: true }),
      },
    ],
  });
})();
