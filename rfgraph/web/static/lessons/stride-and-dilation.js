// Lesson 3: stride and dilation: holes (gridding) in the exact reach, and the order of strides.
"use strict";

(() => {
  // A 1-D network: the reach (which inputs have any path at all) as bars over the theoretical box, and the graph.
  async function oneD(stage, net, input, title) {
    const q = { net, input };
    const [v, g] = await Promise.all([RF.view({ ...q, metric: "reach" }), RF.graph(q)]);
    const reach = v.map[0], box = v.box[0], size = v.rf_size[0];
    const holes = reach.slice(box[0], box[1] + 1).filter((x) => !x).length;
    const p = RF.panel(stage, `${title}: ${net} on ${input} inputs`, "wide");
    RF.bars(p, reach, { band: box, labels: false, colour: "#3f9b73",
      title: `reach of the middle output: ${reach.filter((x) => x).length} of the ${size} pixels in the box` });
    RF.unrolled(p, g, { values: reach, height: 300 });
    RF.html("p", { class: "facts" }, p, `theoretical field ${size} pixels (yellow band); ${holes ? `${holes} holes: pixels in the box with no path to the target` : "no holes: every pixel in the box reaches the target"}.`);
    RF.legend(p, [["fill", "#fff3cc", "theoretical receptive field"], ["fill", "#3f9b73", "reached (some path exists)"]]);
    return { reach, box, size, holes };
  }
  async function twoD(stage, net, input, title) {
    const v = await RF.view({ net, input, metric: "reach" });
    const p = RF.panel(stage, `${title}: ${net}`, "half");
    RF.heat(p, v.map, { box: v.box, metric: "reach", size: 360, marker: RF.centre(v) });
    const inBox = v.rf_size.reduce((a, b) => a * b, 1);
    RF.html("p", { class: "facts" }, p, `${v.nonzero} of the ${inBox} pixels in the ${v.rf_size.join(" × ")} box reach the target.`);
    RF.legend(p, [["box", RF.COLOURS.box, "theoretical receptive field"], ["fill", RF.css(RF.colour(1)), "reached"],
      ["fill", "#e8e8e8", "no path"]]);
  }

  RF.lesson({
    steps: [
      { title: "Three 3-tap convolutions", text: `<p>Three ordinary 3-tap convolutions: the field is 1 + 3 × 2 = <b>7</b>
pixels and every one of them reaches the target: the reach (green bars) fills the box.</p>`,
      draw: (s) => oneD(s, "conv3*3", "15", "plain") },
      { title: "Dilation 2, three times: holes", text: `<p>Now every convolution has dilation 2 (taps 2 apart): the field grows
to 1 + 3 × 4 = <b>13</b> pixels, but every path moves an even number of pixels.</p>
<p>The odd pixels have <b>no path at all</b>: holes inside the box. This is <i>gridding</i>; the classic
size/stride arithmetic cannot see it, the exact reach does.</p>`,
      draw: (s) => oneD(s, "conv3d2*3", "15", "dilated") },
      { title: "Rates 1, 2, 5: no holes", text: `<p>Mixing the rates (1, 2, 5, as in hybrid dilated convolution) reaches every
offset from −8 to 8: a <b>17</b>-pixel field with no holes.</p>`,
      draw: (s) => oneD(s, "conv3,conv3d2,conv3d5", "21", "mixed rates") },
      { title: "Gridding in 2-D", text: `<p>In an image the holes form a grid: with dilation 2 three times only 49 of the 169 pixels
in the box (7 × 7 of 13 × 13) reach the target (left). Rates 1, 2, 5 fill their 17 × 17 box (right).</p>`,
      draw: async (s) => { await twoD(s, "conv3d2*3", "21x21", "dilation 2, 2, 2"); await twoD(s, "conv3,conv3d2,conv3d5", "25x25", "rates 1, 2, 5"); } },
      { title: "Stride first", text: `<p>A stride-2 convolution <b>first</b>, then two 3-tap convolutions: each later tap is
2 input pixels apart, so the field is 3 + 2 × 2 + 2 × 2 = <b>11</b>.</p>`,
      draw: (s) => oneD(s, "conv3s2,conv3,conv3", "23", "stride first") },
      { title: "Stride last", text: `<p>The same three layers with the stride <b>last</b>: 3 + 2 + 2 = <b>7</b>. Same layers,
same output size roughly, a smaller field: strides multiply the growth of every layer after them.</p>`,
      draw: (s) => oneD(s, "conv3,conv3,conv3s2", "23", "stride last") },
      { title: "Stride and dilation together", text: `<p>A stride of 2 followed by dilation 2: the second layer's taps are
4 input pixels apart, the first layer covers only 3. Offsets ±2 are never reached: holes again, from stride
and dilation together.</p>`,
      draw: (s) => oneD(s, "conv3s2,conv3d2", "21", "stride then dilation") },
    ],
  });
})();
