// Lesson 4: where is the centre of a field? Aligned and unaligned branches (Araujo et al., Distill 2019)
// and torchvision ResNet-50, whose last positions centre their fields at 0, 32, 64 ...
"use strict";

(() => {
  const COLS = ["layer", "n", "jump", "size", "start", "center", "aligned"];
  const pick = (v, rows) => rows.map((r) => COLS.map((c) => r[v.columns.indexOf(c)]));

  async function branches(stage, net, input, note) {
    const q = { net, input };
    const [v, g] = await Promise.all([RF.view({ ...q, metric: "paths" }), RF.graph(q)]);
    const p = RF.panel(stage, `${net} on ${input} inputs: the graph (the arcs are the shortcut)`, "wide");
    RF.unrolled(p, g, { values: v.map[0], height: 260 });
    const last = v.rows[v.rows.length - 1], aligned = last[v.columns.indexOf("aligned")];
    const t = RF.panel(stage, `the table: aligned = ${aligned}`, "wide");
    RF.table(t, COLS, pick(v, v.rows), v.rows.length - 1);
    RF.html("p", { class: "facts" }, t, note);
  }

  async function resnet(stage, ctx, x) {
    const q = { net: "resnet50", input: "224x224", metric: "paths", target: `3x${x}` };
    const v = await RF.view(q);
    const col = (c) => v.columns.indexOf(c), last = v.rows[v.rows.length - 1];
    const jump = +last[col("jump")], c0 = +last[col("center")], n = +last[col("n")];
    const centres = Array.from({ length: n }, (_, i) => [c0 + jump * 3, c0 + jump * i]);
    const p = RF.panel(stage, `ResNet-50 (torchvision), ${v.endpoint}: the paths map of position (3, ${x})`, "half");
    RF.heat(p, v.map, { box: v.box, marker: [c0 + jump * 3, c0 + jump * x], centres, metric: "paths", size: 420 });
    RF.legend(p, [["line", RF.COLOURS.target, `centre of position (3, ${x}): pixel (${c0 + jump * 3}, ${c0 + jump * x})`],
      ["line", RF.COLOURS.window, "centres of the other positions in row 3"], ["box", RF.COLOURS.box, `theoretical field ${v.rf_size.join(" × ")} (clipped)`]]);
    const t = RF.panel(stage, "the last rows of the table", "grow");
    RF.table(t, COLS, pick(v, v.rows.slice(-6)), 5);
    RF.html("p", { class: "formula" }, t, `centre(i) = center + jump · i = ${c0} + ${jump} · ${x} = ${c0 + jump * x}`);
    RF.html("p", { class: "facts" }, t, `The centres of the ${n} positions of a row: ${centres.map((c) => c[1]).join(", ")}.`);
  }

  RF.lesson({
    steps: [
      { title: "Two branches, one centre", text: `<p>A downsampling residual block as in ResNet: the body is a 3-tap convolution
with stride 2 and padding 1, the shortcut a 1-tap convolution with stride 2.</p><p>Both branches centre output
<i>i</i> on input pixel <b>2i</b>: the fields are <b>aligned</b>, and the merged field has one centre.</p>`,
      draw: (s) => branches(s, "res(conv3s2p1|conv1s2)", "12", "Both branches: center 0, jump 2. The union of their fields is centred on the same pixel.") },
      { title: "Two branches, two centres", text: `<p>Now the body is a 2-tap convolution with stride 2: it centres output <i>i</i>
between pixels 2i and 2i + 1 (centre 2i + 0.5), while the shortcut still centres it on 2i.</p>
<p>Araujo et al. (Distill 2019) call such a network <b>unaligned</b>: the paths into the merge disagree about
the centre, so no single centre (or start) describes the field. The table says <b>NO</b>.</p>`,
      draw: (s) => branches(s, "res(conv2s2|conv1s2)", "12", "The body's center is 0.5, the shortcut's 0: the merge is marked NO.") },
      { title: "It never heals", text: `<p>Layers after an unaligned merge stay unaligned: the disagreement is carried along.
The exact maps are still exact (they never needed a centre); only the single-number summary is lost.</p>`,
      draw: (s) => branches(s, "res(conv2s2|conv1s2),conv3", "12", "The convolution after the merge inherits NO.") },
      { title: "ResNet-50: position 0 is centred on pixel 0", text: `<p>torchvision's ResNet-50 is aligned: every block
pads so that the branches agree. Its last tensor has jump 32 and center 0: position 0 of a row is centred on
pixel <b>0</b>, the image's edge, and half of its 427-pixel field lies outside the image.</p>`,
      draw: (s, c) => resnet(s, c, 0) },
      { title: "Position 1: pixel 32", text: `<p>Move one position right: the centre moves one jump, to pixel <b>32</b>.
The map moves with it.</p>`, draw: (s, c) => resnet(s, c, 1) },
      { title: "Position 2: pixel 64", text: `<p>Position 2: pixel <b>64</b>. The centres are 0, 32, 64, … 192: not
16, 48, 80 as one might guess from "the middle of a 32-pixel cell". When you map a feature back to the image,
use center + jump · i from the table.</p>`, draw: (s, c) => resnet(s, c, 2) },
    ],
  });
})();
