// Lesson 2: VGG-16 layer by layer; the box, the table row and the recurrence move together
// (Araujo et al., Distill 2019: r_L = r_(L-1) + (k_L - 1) j_(L-1)).
"use strict";

(() => {
  const NET = { net: "vgg16", input: "224x224" };
  const NAMES = ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1", "conv3_2", "conv3_3", "pool3",
    "conv4_1", "conv4_2", "conv4_3", "pool4", "conv5_1", "conv5_2", "conv5_3", "pool5"];
  let slider = null;

  // One entry per layer: size r, jump j, kernel k and stride s recovered from the table (r and j of the
  // layer below give k = (r - r_prev) / j_prev + 1, s = j / j_prev).
  async function layers() {
    // The table comes with the last layer's map (the same request as the last steps: answered once).
    const v = await RF.view({ ...NET, endpoint: "features.30", metric: "paths", target: "3x3" }), col = (name) => v.columns.indexOf(name);
    const rows = v.rows, out = [];
    for (let i = 1; i < rows.length; i++) {
      const [r, j, rp, jp] = [+rows[i][col("size")], +rows[i][col("jump")], +rows[i - 1][col("size")], +rows[i - 1][col("jump")]];
      out.push({ row: i, tensor: rows[i][0], name: NAMES[i - 1] || rows[i][0], n: +rows[i][col("n")], r, j, rp, jp,
        k: (r - rp) / jp + 1, s: j / jp, center: +rows[i][col("center")] });
    }
    return { v, out };
  }

  async function draw(stage, ctx) {
    const { v, out } = await layers();
    const L = out[Math.min(out.length - 1, ctx.layer)];
    if (slider && +slider.value !== ctx.layer) { slider.value = ctx.layer; slider.dispatchEvent(new Event("sync")); }
    const centre = Math.floor(L.n / 2);
    const m = await RF.view({ ...NET, endpoint: L.tensor, metric: "paths", target: `${centre}x${centre}` });
    const p = RF.panel(stage, `${L.name} (${L.tensor}): the field of position (${centre}, ${centre}) on the 224 × 224 input`, "half");
    const c = L.center + L.j * centre;
    // Zoom to the field (with a margin): a 3 x 3 patch of a 224 x 224 image would be 6 screen pixels.
    RF.heat(p, m.map, { box: m.box, marker: [c, c], metric: "paths", size: 400, window: RF.around(m.box, m.input, 24) });
    RF.legend(p, [["box", RF.COLOURS.box, `theoretical field ${L.r} × ${L.r}`], ["line", RF.COLOURS.target, `centre of the field, pixel ${c}`]]);
    const q = RF.panel(stage, "the recurrence, with this layer's numbers", "grow");
    const kind = L.name.startsWith("pool") ? "pooling" : "convolution";
    RF.html("p", { class: "formula" }, q, `r_L = r_(L−1) + (k_L − 1) · j_(L−1)`);
    RF.html("p", { class: "formula", id: "numbers" }, q, `${L.r} = ${L.rp} + (${L.k} − 1) · ${L.jp}`);
    RF.html("p", { class: "formula" }, q, `j_L = j_(L−1) · s_L :  ${L.j} = ${L.jp} · ${L.s}`);
    RF.html("p", { class: "facts" }, q, `${L.name} is a ${L.k}-tap ${kind} with stride ${L.s}: it adds ${L.k - 1} × ${L.jp} = ` +
      `${(L.k - 1) * L.jp} pixels to the field. The output has ${L.n} × ${L.n} positions, ${L.j} input pixels apart.`);
    const t = RF.table(q, v.columns.slice(0, 7), v.rows.map((r, i) => [i === 0 ? "input" : `${NAMES[i - 1] || r[0]}`, ...r.slice(1, 7)]), L.row);
    t.querySelectorAll("tbody tr").forEach((tr, i) => {  // click a row: that layer
      if (i === 0) return;
      tr.style.cursor = "pointer";
      tr.addEventListener("click", () => { ctx.layer = i - 1; ctx.redraw(); });
    });
  }

  const at = (layer) => ({ enter: (ctx) => { ctx.layer = layer; }, draw });
  RF.lesson({
    state: { layer: 0 },
    setup(ctx, controls) {
      slider = RF.slider(controls, "layer", 0, NAMES.length - 1, ctx.layer, (v) => { ctx.layer = v; ctx.redraw(); },
        (v) => NAMES[v]);
      slider.addEventListener("sync", () => { slider.nextElementSibling.textContent = NAMES[+slider.value]; });
    },
    steps: [
      { title: "One 3 × 3 convolution", text: `<p>VGG-16 on a 224 × 224 image. The first layer, conv1_1, is a 3 × 3 convolution:
each output sees a <b>3 × 3</b> patch (the dashed box). The colours show the paths from each pixel to the marked
output.</p><p>Drag the slider to walk through the layers; the box, the formula and the table row move together.</p>`, ...at(0) },
      { title: "Two convolutions: 5 × 5", text: `<p>conv1_2 adds another 3 × 3: <b>5 = 3 + (3 − 1) · 1</b>.</p>
<p>Each layer adds (k − 1) times the jump of the layer below: the distance, in input pixels, between neighbouring
positions of that layer (1 so far).</p>`, ...at(1) },
      { title: "Pooling doubles the jump", text: `<p>pool1 (2 × 2, stride 2) adds only 1 pixel, <b>6 = 5 + (2 − 1) · 1</b>,
but the jump becomes <b>2</b>: from now on every 3 × 3 convolution adds 4 pixels instead of 2.</p>`, ...at(2) },
      { title: "Growth speeds up", text: `<p>conv2_1: <b>10 = 6 + (3 − 1) · 2</b>. After pool2 the jump is 4, after pool3
8, after pool4 16: the deep layers add 32 pixels each.</p><p>Watch the table: the <i>jump</i> column doubles at every
pool, the <i>size</i> column grows by 2 × jump.</p>`, ...at(3) },
      { title: "conv4_3: 92 pixels", text: `<p>conv4_3 sees <b>92 × 92</b> pixels: 92 = 76 + (3 − 1) · 8.</p>
<p>The paths map is already much narrower than its box: most routes start near the centre (lesson 6).</p>`, ...at(12) },
      { title: "pool5: 212 pixels", text: `<p>After pool5 the field is <b>212 × 212</b> (212 = 196 + (2 − 1) · 16),
with jump 32: the classic figure for VGG-16 (Araujo et al., Distill 2019).</p><p>The box nearly covers the image,
but the map inside it is a narrow bell.</p>`, ...at(17) },
      { title: "Your turn", text: `<p>The slider starts at pool3 (44 pixels). Predict conv4_1 before you move it: r grows by
(k − 1) · j, j multiplies by the stride. Which layers add the most? (The ones after the most pools.)</p>`, ...at(9) },
    ],
  });
})();
