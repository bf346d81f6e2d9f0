// Lesson 4: where is the centre of a field? Aligned and unaligned branches (Araujo et al., Distill 2019)
// and torchvision ResNet-50, whose last positions centre their fields at 0, 32, 64 ...
"use strict";

(() => {
  const COLS = ["layer", "n", "jump", "size", "start", "center", "aligned"];
  const pick = (v, rows) => rows.map((r) => COLS.map((c) => r[v.columns.indexOf(c)]));

  async function branches(stage, net, input, note, target) {
    const q = { net, input, ...(target === undefined ? {} : { target: String(target) }) };
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
      { title: "Two branches, one centre", text: `<p>The aligned example of Araujo et al. (Distill 2019, section
"arbitrary computation graphs"): one branch is a 1-tap convolution with stride 4; the other pads one pixel before the
input (<code>pad1,slice0to-1</code>), then a 3-tap convolution with stride 2 and a 1-tap one with stride 2.</p>
<p>Both branches centre output <i>i</i> on input pixel <b>4i</b>: the fields are <b>aligned</b>; the merged field is
3 pixels, jump 4, padding 1, as in the article.</p>`,
      draw: (s) => branches(s, "add(conv1s4 | pad1,slice0to-1,conv3s2,conv1s2)", "8",
        "Both branches: center 0, jump 4. The union of their fields is centred on the same pixel.") },
      { title: "Two branches, two centres", text: `<p>The article's unaligned example: one branch pads 2 pixels before
and 1 after the input, then a 5-tap convolution with stride 2 (output <i>i</i> centred on pixel <b>2i</b>); the other
applies two 3-tap convolutions (centred on <b>i + 2</b>).</p>
<p>The paths into the merge disagree about the centre (here output 1: pixel 2 or pixel 3), so no single centre, start
or padding describes the field. The article's library refuses such a network; the table says <b>NO</b>. The exact
map (the inputs' colours: paths to output 1) needs no centre and is still exact.</p>`,
      draw: (s) => branches(s, "add(pad2,slice0to-1,conv5s2 | conv3,conv3)", "8",
        "Branch 1 (pad, 5-tap, stride 2): center 0, jump 2; branch 2 (two 3-tap): center 2, jump 1. The merge is marked NO.", 1) },
      { title: "Half a pixel is enough, and it never heals", text: `<p>A smaller disagreement: a 2-tap convolution with
stride 2 centres output <i>i</i> between pixels 2i and 2i + 1 (2i + 0.5), a 1-tap shortcut with stride 2 on 2i.</p>
<p>Half a pixel is enough for <b>NO</b>, and every layer after the merge stays unaligned: the disagreement is carried
along.</p>`,
      draw: (s) => branches(s, "res(conv2s2|conv1s2),conv3", "12", "The body's center is 0.5, the shortcut's 0; the convolution after the merge inherits NO.") },
      { title: "ResNet's downsampling block is aligned", text: `<p>torchvision's ResNet pads so that the branches agree:
the body of a downsampling block is a 3-tap convolution with stride 2 and padding 1, the shortcut a 1-tap convolution
with stride 2. Both centre output <i>i</i> on pixel <b>2i</b>.</p>`,
      draw: (s) => branches(s, "res(conv3s2p1|conv1s2)", "12", "Both branches: center 0, jump 2: aligned.") },
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
