// Lesson 7: attention. A ViT block reads every patch at once; Swin's windows grow the field stage by stage.
// The networks are rfgraph specs (GlobalMix = gmix, WindowMix = wmix): no torch needed.
"use strict";

(() => {
  const VIT = "conv16s16:patch,gmix:block1,gmix:block2";
  const SWIN = "conv4s4:patch,wmix7:s1b1,wmix7s3:s1b2,conv2s2:merge1,wmix7:s2b1,wmix7s3:s2b2," +
    "conv2s2:merge2,wmix7:s3b1,wmix7s3:s3b2";
  const SWIN_BLOCKS = ["patch", "s1b1", "s1b2", "s2b1", "s2b2", "s3b1"];

  async function draw(stage, ctx, net, endpoint, grid, label) {
    const v = await RF.view({ net, input: "224x224", metric: "reach", endpoint });
    const p = RF.panel(stage, `${label}: what the centre token of ${endpoint} reads`, "half");
    RF.heat(p, v.map, { box: v.box, grid, metric: "reach", size: 420, marker: RF.centre(v) });
    const items = [["fill", RF.css(RF.colour(1)), `reached: ${v.nonzero.toLocaleString()} pixels`], ["box", RF.COLOURS.box, "the field's box"]];
    if (grid) items.push(["box", RF.COLOURS.window, `${endpoint === "patch" ? "patches" : "windows"} of ${grid[0]} pixels`]);
    RF.legend(p, items);
    // The field size after every Swin block next to ViT's (computed from the same kind of request).
    const q = RF.panel(stage, "field width in pixels, block by block", "grow");
    const sizes = await Promise.all(SWIN_BLOCKS.map(async (b) => (await RF.view({ net: SWIN, input: "224x224", metric: "reach", endpoint: b })).box[1]));
    const vit = await Promise.all(["patch", "block1"].map(async (b) => (await RF.view({ net: VIT, input: "224x224", metric: "reach", endpoint: b })).box[1]));
    const widths = [...vit, ...sizes].map(([a, b]) => b - a + 1);
    const keys = [...["patch", "block1"].map((b) => `vit:${b}`), ...SWIN_BLOCKS.map((b) => `swin:${b}`)];
    RF.bars(q, widths, { labels: true, colour: "#5b7fc7", select: keys.indexOf(`${net === VIT ? "vit" : "swin"}:${endpoint}`),
      names: ["patch", "b1", "patch", "s1b1", "s1b2", "s2b1", "s2b2", "s3b1"], title: "ViT: patch, block 1 · Swin: patch, blocks (red: shown)" });
    RF.html("p", { class: "facts" }, q, `${v.nonzero.toLocaleString()} of the ${(224 * 224).toLocaleString()} pixels reach this token; ` +
      `its box is ${v.rf_size ? v.rf_size.map((n) => Math.min(n, 224)).join(" × ") : "—"} pixels.`);
  }

  RF.lesson({
    steps: [
      { title: "ViT: one token per 16 × 16 patch", text: `<p>A Vision Transformer first cuts the 224 × 224 image into
16 × 16 patches (a 16-tap convolution with stride 16): 14 × 14 tokens. The centre token reads <b>its own
patch</b>: 256 pixels.</p>`, draw: (s, c) => draw(s, c, VIT, "patch", [16, 0], "ViT") },
      { title: "ViT: global after one block", text: `<p>One attention block later every token has read every other token:
the field is the <b>whole image</b> (global context). There is nothing left to grow.</p>
<p>The exact map says so too: all 50,176 pixels reach the token.</p>`, draw: (s, c) => draw(s, c, VIT, "block1", [16, 0], "ViT") },
      { title: "Swin: 4 × 4 patches", text: `<p>A Swin Transformer starts with small 4 × 4 patches: 56 × 56 tokens.</p>`,
        draw: (s, c) => draw(s, c, SWIN, "patch", [4, 0], "Swin") },
      { title: "Swin: one window", text: `<p>Its attention is local: a token reads only the tokens of its <b>7 × 7 window</b>,
28 × 28 pixels (the blue grid). The window is a fixed tile, so the token need not sit in its middle.</p>`,
        draw: (s, c) => draw(s, c, SWIN, "s1b1", [28, 0], "Swin") },
      { title: "Swin: the shifted window", text: `<p>The next block shifts the windows by 3 tokens (12 pixels). The new
window holds tokens that already read other windows: the field becomes <b>56 × 56</b>.</p>`,
        draw: (s, c) => draw(s, c, SWIN, "s1b2", [28, 12], "Swin") },
      { title: "Swin: stage 2", text: `<p>Patch merging halves the token grid; the 7-token windows now span 56 pixels.
Two more blocks: <b>112</b>, then <b>168</b> pixels.</p>`,
        draw: (s, c) => draw(s, c, SWIN, "s2b2", [56, 24], "Swin") },
      { title: "Swin: stage 3 reaches the image", text: `<p>At stage 3 one window (112 pixels) plus what its tokens already
read covers the <b>whole image</b>. The field grew stage by stage, like a CNN's, but by whole windows at a time.</p>`,
        draw: (s, c) => draw(s, c, SWIN, "s3b1", [112, 0], "Swin") },
    ],
  });
})();
