// The webcam: start/stop it, grab downscaled JPEG frames, and the live mode that analyses frame after frame.

import { analyzeImage, fetchJobFile } from "./api.js";
import { el } from "./dom.js";
import { describeFace } from "./labels.js";

const RATE_WINDOW_MS = 5000; // round trips per second are measured over this sliding window
const MAX_LIVE_ERRORS = 3; // consecutive failed frames before live mode gives up
const LIVE_PNG_SIZE = 64; // PNG side, should a live face PNG be asked for (live frames use renders=svg; PNGs are drawn on GET)
const LIVE_IN_FLIGHT = 2; // live frames on their way at once (see LiveSession)
const STICKER_REDRAW_RATIO = 1.25; // a sticker's SVG is drawn again when its width changes by more than this

export class CameraError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "CameraError";
    this.code = code;
  }
}

/** getUserMedia's DOMException -> a message a person can act on. */
function cameraError(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "PermissionDeniedError":
    case "SecurityError":
      return new CameraError(
        "denied",
        "Camera access was denied. Allow the camera for this site in your browser's settings, or upload a photo instead.",
      );
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return new CameraError("absent", "No camera was found. Connect a camera, or upload a photo instead.");
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return new CameraError(
        "busy",
        "The camera couldn't be started: another app may be using it. Close it and try again.",
      );
    default:
      return new CameraError("failed", `The camera couldn't be started (${err?.message ?? err}).`);
  }
}

export class Camera {
  /** @param {HTMLVideoElement} video where the camera is shown */
  constructor(video) {
    this.video = video;
    this.stream = null;
    this.canvas = document.createElement("canvas");
  }

  get active() {
    return this.stream !== null;
  }

  async start() {
    if (!navigator.mediaDevices?.getUserMedia) {
      throw new CameraError(
        "unsupported",
        "This browser can't use a camera here: the camera needs a secure page (https or localhost).",
      );
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: "user" },
        audio: false,
      });
    } catch (err) {
      throw cameraError(err);
    }
    this.stream = stream;
    this.video.srcObject = stream;
    await this.video.play().catch(() => {});
    if (this.video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA) {
      await new Promise((resolve) => this.video.addEventListener("loadeddata", resolve, { once: true }));
    }
  }

  stop() {
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  /**
   * The current frame as a JPEG no longer than `maxSide` pixels on its longest side (unmirrored).
   * @returns {Promise<Blob>}
   */
  frame(maxSide, quality = 0.85) {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) return Promise.reject(new CameraError("not_ready", "The camera isn't showing a picture yet."));
    const scale = Math.min(1, maxSide / Math.max(w, h));
    this.canvas.width = Math.round(w * scale);
    this.canvas.height = Math.round(h * scale);
    this.canvas.getContext("2d").drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    return new Promise((resolve, reject) =>
      this.canvas.toBlob(
        (blob) => (blob ? resolve(blob) : reject(new CameraError("frame", "Couldn't read a camera frame."))),
        "image/jpeg",
        quality,
      ),
    );
  }
}

/**
 * Live mode: send a frame, wait for its answer, draw each face's emoticon over the video, send the next frame.
 * LIVE_IN_FLIGHT lanes do this side by side, so the next frame is grabbed, encoded and uploaded while the server
 * analyses the one before (the server's time, not the sum of the browser's and the server's, sets the rate).
 * Each lane waits for its own answer, so the rate still adapts to the server; an answer older than the one on
 * screen is dropped. The measured rate is shown on the page.
 */
export class LiveSession {
  /**
   * @param {Camera} camera
   * @param {{layer: HTMLElement, rate: HTMLElement, count: HTMLElement, latency: HTMLElement,
   *          server: HTMLElement, faces: HTMLElement, tone: () => string, maxSide: number, onError: (err: Error) => void}} view
   */
  constructor(camera, view) {
    this.camera = camera;
    this.view = view;
    this.running = false;
    this.generation = 0; // bumped by start and stop: lanes of an earlier session end at their next step
    this.completions = [];
    this.total = 0;
    this.errors = 0;
    this.sent = 0; // frames sent in this session: each frame's sequence number
    this.shown = 0; // sequence number of the frame whose answer is on screen
    this.emoticons = new Map(); // labels + tone -> promise of the object URL of an SVG drawn by the server
    this.stickers = [];
  }

  start() {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    this.completions = [];
    this.errors = 0;
    this.sent = 0;
    this.shown = 0;
    this.startedAt = performance.now();
    for (let lane = 0; lane < LIVE_IN_FLIGHT; lane += 1) this.loop(generation);
  }

  stop() {
    this.running = false;
    this.generation += 1;
    this.view.layer.replaceChildren();
    this.stickers = [];
    this.view.faces.textContent = "";
  }

  /** One lane: grab, send, draw, repeat, while the session `generation` lasts. */
  async loop(generation) {
    const live = () => this.running && this.generation === generation;
    while (live()) {
      if (document.hidden) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      const sent = performance.now();
      try {
        const frame = await this.camera.frame(this.view.maxSide, 0.8);
        if (!live()) return; // stopped while the frame was encoded: send nothing more
        const seq = ++this.sent;
        const job = await analyzeImage(frame, {
          wait: 10,
          tone: this.view.tone(),
          size: LIVE_PNG_SIZE,
          renders: "svg", // stickers are SVG: no PNG or overlay rasters per frame
          filename: "frame.jpg",
        });
        if (!live()) return;
        const drawn = await this.draw(job, seq, generation);
        if (!live()) return;
        this.errors = 0;
        if (drawn) this.record(performance.now() - sent, job);
      } catch (err) {
        if (!live()) return;
        this.errors += 1;
        if (this.errors >= MAX_LIVE_ERRORS) {
          this.running = false;
          this.view.onError(err, { liveStopped: true });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Count one finished round trip of `latencyMs` (frame grab to emoticons drawn) for `job`. */
  record(latencyMs, job) {
    const now = performance.now();
    this.total += 1;
    this.completions.push(now);
    while (this.completions.length && now - this.completions[0] > RATE_WINDOW_MS) this.completions.shift();
    const windowMs = Math.min(RATE_WINDOW_MS, now - this.startedAt);
    const rate = windowMs > 0 ? (this.completions.length * 1000) / windowMs : 0;
    this.view.rate.textContent = rate.toFixed(1);
    this.view.rate.dataset.value = String(rate);
    this.view.count.textContent = String(this.total);
    this.view.latency.textContent = String(Math.round(latencyMs));
    const serverMs = Object.values(job.result?.timings_ms ?? {}).reduce((sum, ms) => sum + ms, 0);
    this.view.server.textContent = String(Math.round(serverMs));
  }

  /** The SVG URL for a face: one per combination of top labels and tone, fetched once from the job. */
  async emoticonUrl(job, face) {
    const a = face.attributes;
    const key = [a.emotion.label, a.eyewear.label, a.mask.label, a.skin_tone.label, job.options?.tone].join("|");
    let url = this.emoticons.get(key);
    if (!url) {
      // The promise is kept, so two lanes asking at once fetch the SVG once; a failed fetch is forgotten.
      url = fetchJobFile(job.id, `faces/${face.index}.svg`).then((blob) => URL.createObjectURL(blob));
      url.catch(() => this.emoticons.delete(key));
      this.emoticons.set(key, url);
    }
    return url;
  }

  /**
   * Draw the faces of `job`, the answer to frame `seq` of session `generation`, unless a newer frame's answer
   * is on screen already or the session ended.
   * @returns {Promise<boolean>} whether it was drawn
   */
  async draw(job, seq, generation) {
    const current = () => this.running && this.generation === generation && seq > this.shown;
    if (!current()) return false;
    const faces = job.result?.faces ?? [];
    const urls = await Promise.all(faces.map((face) => this.emoticonUrl(job, face)));
    if (!current()) return false;
    this.shown = seq;
    while (this.stickers.length > faces.length) this.stickers.pop().slot.remove();
    while (this.stickers.length < faces.length) {
      const img = el("img", { class: "sticker", alt: "" });
      const slot = el("div", { class: "sticker-slot" }, img);
      this.view.layer.append(slot);
      this.stickers.push({ slot, img, width: 0 });
    }
    const { clientWidth: layerWidth, clientHeight: layerHeight } = this.view.layer;
    faces.forEach((face, i) => {
      const r = face.box.relative;
      const sticker = this.stickers[i];
      // A little larger than the box, centred on it, so the emoticon covers the whole face.
      const grow = 0.35;
      const width = r.width * (1 + grow) * layerWidth; // px
      // The slot moves and scales the emoticon as one small compositor layer (a transform, no layout): the SVG
      // is drawn again only when its width is off by more than STICKER_REDRAW_RATIO, not on every frame of the
      // glide (without a GPU, Chromium draws and composites on the CPU that also analyses the frames).
      if (!sticker.width || Math.max(width / sticker.width, sticker.width / width) > STICKER_REDRAW_RATIO) {
        sticker.width = width;
        sticker.img.style.width = `${width}px`;
      }
      const left = (r.x - (r.width * grow) / 2) * layerWidth;
      const top = (r.y - (r.height * grow) / 2) * layerHeight;
      const scale = sticker.width > 0 ? width / sticker.width : 1; // 0 while the layer is not laid out
      sticker.slot.style.transform = `translate(${left}px, ${top}px) scale(${scale})`;
      if (sticker.img.getAttribute("src") !== urls[i]) sticker.img.src = urls[i];
      sticker.img.alt = `Face ${i + 1}: ${describeFace(face)}`;
    });
    this.view.layer.dataset.faceCount = String(faces.length);
    this.view.faces.textContent =
      faces.length === 0 ? "No face in view" : faces.length === 1 ? "1 face" : `${faces.length} faces`;
    return true;
  }
}
