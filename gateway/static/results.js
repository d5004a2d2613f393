// The result of one photo: the photo with a numbered box per face, one card per face, the privacy overlay.

import { deleteJob, jobFileSrc, renderFace } from "./api.js";
import { copyText, el, saveBlob } from "./dom.js";
import { HEADS, describeFace, frameNote, labelText, percent, rankedProbabilities, unknownToneNote } from "./labels.js";

function probabilityBars(headKey, head) {
  return el(
    "ul",
    { class: "bars" },
    rankedProbabilities(head).map(([label, p]) =>
      el(
        "li",
        { class: label === head.label ? "bar-row top" : "bar-row" },
        el("span", { class: "bar-label" }, labelText(headKey, label)),
        el("span", { class: "bar", "aria-hidden": "true" }, el("span", { style: { width: `${(p * 100).toFixed(1)}%` } })),
        el("span", { class: "bar-value" }, percent(p)),
      ),
    ),
  );
}

export class ResultsView {
  /**
   * @param {HTMLElement} root the results section (contains the elements looked up below)
   * @param {{tone: () => string, pngSize: () => number, onError: (err: Error) => void}} hooks
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    this.summary = root.querySelector("#result-summary");
    this.photo = root.querySelector("#photo");
    this.boxes = root.querySelector("#photo-boxes");
    this.overlayFigure = root.querySelector("#overlay-figure");
    this.overlay = root.querySelector("#overlay");
    this.overlayLink = root.querySelector("#overlay-download");
    this.faceList = root.querySelector("#faces");
    this.privacyNote = root.querySelector("#privacy-note");
    this.deleteButton = root.querySelector("#delete-job");
    this.deleteButton.addEventListener("click", () => this.deleteFromServer());
    this.job = null;
    this.cards = [];
    this.objectUrls = [];
    this.toneRequest = 0;
  }

  clear() {
    for (const url of this.objectUrls) URL.revokeObjectURL(url);
    this.objectUrls = [];
    this.job = null;
    this.cards = [];
    this.faceList.replaceChildren();
    this.boxes.replaceChildren();
    this.root.hidden = true;
  }

  /**
   * Show a finished job.
   * @param {object} job JobState with status "done"
   * @param {string} photoUrl an object URL of the photo that was sent
   * @param {string} sourceName what to call the photo in alt text ("your photo", "the camera snapshot")
   */
  show(job, photoUrl, sourceName = "your photo") {
    this.clear();
    this.job = job;
    this.objectUrls.push(photoUrl);
    const faces = job.result.faces;
    const timings = job.result.timings_ms ?? {};
    const totalMs = Object.values(timings).reduce((sum, ms) => sum + ms, 0);

    this.photo.src = photoUrl;
    this.photo.alt = `${sourceName} with ${faces.length} numbered face box${faces.length === 1 ? "" : "es"}`;
    this.boxes.replaceChildren(...faces.map((face) => this.faceBox(face)));

    if (faces.length === 0) {
      this.summary.textContent =
        "No face found in this photo. Try one where faces are well lit, facing the camera and not too small.";
      this.summary.className = "summary empty";
      this.overlayFigure.hidden = true;
    } else {
      const count = faces.length === 1 ? "1 face" : `${faces.length} faces`;
      this.summary.textContent = totalMs > 0 ? `${count} found in ${Math.round(totalMs)} ms.` : `${count} found.`;
      this.summary.className = "summary";
      this.overlay.alt = `${sourceName} with every face covered by its emoticon`;
      this.overlayFigure.hidden = false;
      this.useJobFile("overlay.png", [this.overlay], [this.overlayLink]);
    }
    this.root.dataset.faceCount = String(faces.length);
    this.root.dataset.jobId = job.id;
    delete this.root.dataset.deleted;
    this.deleteButton.disabled = false;
    this.deleteButton.textContent = "Delete from server";
    this.privacyNote.textContent =
      "The server already deleted the photo you sent. It keeps these results for an hour at most, unless you delete them now.";
    this.root.dataset.tone = job.options?.tone ?? "auto";
    this.cards = faces.map((face) => this.faceCard(face, job.options?.tone ?? "auto"));
    this.faceList.replaceChildren(...this.cards.map((card) => card.node));
    this.root.hidden = false;
    if (this.hooks.tone() !== (job.options?.tone ?? "auto")) this.applyTone(this.hooks.tone());
  }

  /**
   * Point `images` (src) and `links` (href) at a file of the current job, once its URL is known.
   * `toneBound`: the file is drawn in the job's tone, so a tone chosen meanwhile must not be overwritten.
   */
  async useJobFile(path, images, links, toneBound = false) {
    const job = this.job;
    const toneRequest = this.toneRequest;
    try {
      const { url, owned } = await jobFileSrc(job.id, path);
      if (owned) this.objectUrls.push(url);
      if (this.job !== job) return; // a newer result replaced this one meanwhile
      if (toneBound && this.toneRequest !== toneRequest) return; // already redrawn in another tone
      for (const image of images) image.src = url;
      for (const link of links) link.href = url;
    } catch (err) {
      this.hooks.onError(err);
    }
  }

  /** DELETE the shown job: the server then keeps nothing of it; what is on the page stays until it is left. */
  async deleteFromServer() {
    const job = this.job;
    if (!job) return;
    this.deleteButton.disabled = true;
    try {
      await deleteJob(job.id);
      if (this.job !== job) return;
      this.root.dataset.deleted = "true";
      this.deleteButton.textContent = "Deleted";
      this.privacyNote.textContent =
        "Deleted: the server keeps nothing of this photo any more. What you see stays on this page only.";
    } catch (err) {
      if (this.job === job) this.deleteButton.disabled = false;
      this.hooks.onError(err);
    }
  }

  faceBox(face) {
    const r = face.box.relative;
    const number = face.index + 1;
    return el(
      "a",
      {
        class: "face-box",
        href: `#face-${number}`,
        "aria-label": `Face ${number}: ${describeFace(face)}`,
        style: {
          left: `${r.x * 100}%`,
          top: `${r.y * 100}%`,
          width: `${r.width * 100}%`,
          height: `${r.height * 100}%`,
        },
      },
      el("span", { class: "badge", "aria-hidden": "true" }, String(number)),
    );
  }

  /** One face's card; `tone` is the tone its emoticon is drawn in (the job's). */
  faceCard(face, tone) {
    const number = face.index + 1;
    const image = el("img", {
      class: "emoticon",
      width: 160,
      height: 160,
      alt: `Emoticon for face ${number}: ${describeFace(face)}`,
    });
    const emoji = el("span", { class: "emoji", "aria-label": `Emoji for face ${number}` }, face.emoji);
    const copyButton = el("button", { type: "button", class: "btn small copy" }, "Copy");
    copyButton.addEventListener("click", async () => {
      const ok = await copyText(emoji.textContent);
      copyButton.textContent = ok ? "Copied!" : "Copy failed";
      setTimeout(() => (copyButton.textContent = "Copy"), 1500);
    });
    const svgLink = el(
      "a",
      { class: "btn small", download: `face-${number}.svg`, "aria-label": `Download face ${number} as SVG` },
      "SVG",
    );
    const pngButton = el(
      "button",
      { type: "button", class: "btn small", "aria-label": `Download face ${number} as PNG` },
      "PNG",
    );
    pngButton.addEventListener("click", () => this.downloadPng(face, pngButton));
    this.useJobFile(`faces/${face.index}.svg`, [image], [svgLink], true);
    // A tone the classifier could not tell is said in words: the bars alone would read as a weak guess.
    const noteText = unknownToneNote(face, tone);
    const toneNote = noteText === null ? null : el("p", { class: "tone-note" }, noteText);
    // The lens shape of clear glasses, when the server's frame output gave one (EMOTICON_FRAME_SHAPE).
    const frameText = frameNote(face);
    const frame = face.attributes.frame;
    const frameLine =
      frameText === null
        ? null
        : el("p", { class: "frame-note", title: `frame shape, ${percent(frame.probabilities[frame.label])} sure` }, frameText);

    const node = el(
      "li",
      { class: "face-card", id: `face-${number}`, tabindex: "-1", dataset: { index: face.index } },
      el(
        "header",
        {},
        el("span", { class: "badge", "aria-hidden": "true" }, String(number)),
        el("h3", {}, `Face ${number}`),
        el("span", { class: "confidence", title: "detector confidence" }, `${percent(face.box.confidence)} sure`),
      ),
      el("div", { class: "emoticon-wrap" }, image),
      el("div", { class: "emoji-row" }, emoji, copyButton),
      el(
        "div",
        { class: "attributes" },
        HEADS.map(({ key, title }) =>
          el(
            "section",
            { class: `head head-${key}` },
            el("h4", {}, title),
            key === "skin_tone" ? toneNote : null,
            probabilityBars(key, face.attributes[key]),
            key === "eyewear" ? frameLine : null,
          ),
        ),
      ),
      el("div", { class: "downloads", role: "group", "aria-label": `Downloads for face ${number}` }, svgLink, pngButton),
    );
    return { face, node, image, emoji, svgLink, toneNote };
  }

  async downloadPng(face, button) {
    const size = this.hooks.pngSize();
    button.disabled = true;
    try {
      const blob = await renderFace(face.attributes, { size, tone: this.hooks.tone(), format: "png" });
      saveBlob(blob, `face-${face.index + 1}-${size}px.png`);
    } catch (err) {
      this.hooks.onError(err);
    } finally {
      button.disabled = false;
    }
  }

  /** Redraw every face with `tone` through POST /v1/render (no model runs again). */
  async applyTone(tone) {
    if (!this.job || this.cards.length === 0) return;
    const request = ++this.toneRequest;
    this.root.setAttribute("aria-busy", "true");
    try {
      const renders = await Promise.all(
        this.cards.map((card) => renderFace(card.face.attributes, { tone, format: "json" }).then((b) => b.text())),
      );
      if (request !== this.toneRequest) return; // a newer choice won
      this.cards.forEach((card, i) => {
        const { emoji, svg } = JSON.parse(renders[i]);
        const url = URL.createObjectURL(new Blob([svg], { type: "image/svg+xml" }));
        this.objectUrls.push(url);
        card.image.src = url;
        card.svgLink.href = url;
        card.emoji.textContent = emoji;
        if (card.toneNote) card.toneNote.textContent = unknownToneNote(card.face, tone);
      });
      this.root.dataset.tone = tone;
    } catch (err) {
      this.hooks.onError(err);
    } finally {
      if (request === this.toneRequest) this.root.removeAttribute("aria-busy");
    }
  }
}
