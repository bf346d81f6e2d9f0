// Lesson 6: the effective field (Luo et al. 2016) inside the theoretical one, on VGG-16 and ResNet-50,
// the 95 % field, and an image of the user's under the map (read in the browser, never uploaded).
"use strict";

(() => {
  const NETS = { vgg16: "VGG-16", resnet50: "ResNet-50" };

  // Until the user drops a photo: a test card drawn here (circles and a grid), so that step 5 shows an image.
  function testCard() {
    const c = document.createElement("canvas");
    c.width = c.height = 224;
    const g = c.getContext("2d");
    g.fillStyle = "#dfe7f2"; g.fillRect(0, 0, 224, 224);
    g.strokeStyle = "#44546a"; g.lineWidth = 1;
    for (let x = 0; x <= 224; x += 16) { g.beginPath(); g.moveTo(x, 0); g.lineTo(x, 224); g.moveTo(0, x); g.lineTo(224, x); g.stroke(); }
    g.lineWidth = 4;
    for (const [r, col] of [[100, "#b5402a"], [61, "#2a7ab5"], [20, "#2ab56a"]]) { g.strokeStyle = col; g.beginPath(); g.arc(112, 112, r, 0, 2 * Math.PI); g.stroke(); }
    return c;
  }

  async function draw(stage, ctx, net, metric, showErf, card) {
    if (card && !ctx.image) ctx.card = ctx.card || testCard();
    const under = ctx.image || (card ? ctx.card : null);
    const v = await RF.view({ net, input: "224x224", metric });
    const p = RF.panel(stage, `${NETS[net]} (${v.endpoint}), ${metric} from each pixel to the centre position`, "half");
    const c = RF.centre(v);  // center + jump * index of the middle output position
    RF.heat(p, v.map, { box: v.box, erf: showErf ? v.erf.box : null, marker: c, metric, size: 440,
      image: under, alpha: under ? 0.55 : 1 });
    RF.colourbar(p, v.max, metric);
    const items = [["box", RF.COLOURS.box, `theoretical field ${v.rf_size.join(" × ")} (clipped to the image)`]];
    if (showErf) items.push(["line", RF.COLOURS.erf, `95 % field: ${v.erf.size.join(" × ")}, holding ${(100 * v.erf.fraction).toFixed(1)} % of the map`]);
    items.push(["line", RF.COLOURS.target, `the target's centre, pixel (${c.map(RF.fmt).join(", ")})`]);
    RF.legend(p, items);
    const q = RF.panel(stage, "in numbers", "grow");
    const area = (s) => s.reduce((a, b) => a * b, 1);
    RF.html("p", { class: "facts" }, q, `Theoretical field: ${v.rf_size.join(" × ")} pixels (${v.box.map(([a, b]) => `${a}–${b}`).join(", ")} inside the image).`);
    RF.html("p", { class: "facts" }, q, `95 % field (the smallest square around the peak holding 95 % of the ${metric}): ` +
      `${v.erf.size.join(" × ")}, ${(100 * area(v.erf.size) / area(v.rf_size.map((s, i) => Math.min(s, v.input[i])))).toFixed(0)} % of the box's area in the image.`);
    RF.html("p", { class: "facts" }, q, `Largest value ${RF.fmt(v.max)}; ${v.nonzero.toLocaleString()} pixels have a path.`);
  }

  function setup(ctx, controls) {
    const zone = RF.html("div", { class: "drop", id: "drop", tabindex: "0" }, controls,
      "Drop an image here (or choose one) to see the map over it. It stays in this browser: nothing is uploaded. ");
    const file = RF.html("input", { type: "file", accept: "image/*", id: "image-file" }, zone);
    const read = (f) => {
      if (!f || !/^image\//.test(f.type)) return;
      const reader = new FileReader();
      reader.onload = () => {
        const img = new Image();
        img.onload = () => { ctx.image = img; zone.firstChild.textContent = `Under the map: ${f.name}. Drop another to change it. `; ctx.redraw(); };
        img.src = reader.result;  // a data: URL, read locally
      };
      reader.readAsDataURL(f);
    };
    file.addEventListener("change", () => read(file.files[0]));
    zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (e) => { e.preventDefault(); zone.classList.remove("over"); read(e.dataTransfer.files[0]); });
    // Dropping anywhere on the page works too (instead of the browser opening the file).
    document.addEventListener("dragover", (e) => e.preventDefault());
    document.addEventListener("drop", (e) => { if (!zone.contains(e.target)) { e.preventDefault(); read(e.dataTransfer.files[0]); } });
  }

  RF.lesson({
    setup,
    steps: [
      { title: "The Gaussian inside the box", text: `<p>VGG-16's last convolutional tensor on a 224 × 224 image. The dashed
box is its theoretical receptive field: 212 × 212 pixels, almost the whole image.</p>
<p>The colours count the paths from each pixel to the centre position: the gradient when every weight is one.
They form a narrow bell: Luo et al. 2016 call it the <b>effective receptive field</b>.</p>`,
      draw: (s, ctx) => draw(s, ctx, "vgg16", "paths", false) },
      { title: "The 95 % field", text: `<p>The orange square is the smallest square around the peak that holds 95 % of
the map: <b>122 × 122</b> pixels, a third of the box's area.</p><p>Pixels near the box's edge are in the field, but
only a few of the paths start there.</p>`,
      draw: (s, ctx) => draw(s, ctx, "vgg16", "paths", true) },
      { title: "Edges fall off slowly", text: `<p>Count distinct <b>edges</b> instead of paths (the importance-profile
article): the map is much flatter and its 95 % square is <b>190 × 190</b>. Which one is "the" field depends on the
question: how much signal (paths) or how much wiring (edges).</p>`,
      draw: (s, ctx) => draw(s, ctx, "vgg16", "edges", true) },
      { title: "ResNet-50", text: `<p>ResNet-50's theoretical field is <b>427 × 427</b>: larger than the image. 95 % of
its paths lie in <b>185 × 185</b> pixels around the centre of the middle position, pixel (96, 96) (lesson 4): wider
than VGG-16's bell, far smaller than its box.</p><p>The fine grid texture comes from the stride-2 layers: some
pixels are reached by more paths than their neighbours.</p>`,
      draw: (s, ctx) => draw(s, ctx, "resnet50", "paths", true) },
      { title: "Your image under the map", text: `<p>Drop a photo on the page (or choose a file): the map is drawn over it,
stretched to 224 × 224. Where would an object have to be for this neuron to notice it?</p>
<p>Until you drop one, a test card is shown: its circles have diameters 40, 122 and 200 pixels.
Go back through the steps: your image stays.</p>`,
      draw: (s, ctx) => draw(s, ctx, "vgg16", "paths", true, true) },
    ],
  });
})();
