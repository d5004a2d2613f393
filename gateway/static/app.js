// The page: wires the photo picker, the camera, the options and the results together.

import { analyzeImage, getApiKey, setApiKey } from "./api.js";
import { Camera, LiveSession } from "./camera.js";
import { ResultsView } from "./results.js";

const SNAPSHOT_MAX_SIDE = 1280; // px, longest side of a camera snapshot sent for analysis
const LIVE_MAX_SIDE = 480; // px, longest side of a live-mode frame
const WAIT_S = 10; // the server holds the request this long for the result before answering 202

const $ = (selector) => document.querySelector(selector);

const statusBox = $("#status");
const errorBox = $("#error");

function selectedTone() {
  return document.querySelector('input[name="tone"]:checked')?.value ?? "auto";
}

function pngSize() {
  return Number($("#png-size").value);
}

function showStatus(text, busy = false) {
  statusBox.textContent = text;
  statusBox.classList.toggle("busy", busy);
}

function showError(err) {
  const message = err?.message ?? String(err);
  errorBox.replaceChildren(message);
  errorBox.dataset.code = err?.code ?? "error";
  errorBox.hidden = false;
  if (err?.code === "unauthorized") $("#api-key-panel").open = true;
  console.warn("emoticon:", err?.code, err?.detail ?? err);
}

function clearError() {
  errorBox.hidden = true;
  errorBox.replaceChildren();
  delete errorBox.dataset.code;
}

const results = new ResultsView($("#results"), { tone: selectedTone, pngSize, onError: showError });

// ---- analysing a photo (file, drop, paste or snapshot) ------------------------------------------------------

let latestRequest = 0;

/**
 * Send one image and show its result; a newer request makes an older answer be dropped.
 * @param {Blob} image
 * @param {string} sourceName how the alt text calls the picture
 */
async function analyze(image, sourceName) {
  const request = ++latestRequest;
  clearError();
  showStatus(`Analysing ${sourceName}…`, true);
  document.body.setAttribute("aria-busy", "true");
  try {
    const job = await analyzeImage(image, { size: pngSize(), tone: selectedTone(), wait: WAIT_S });
    if (request !== latestRequest) return;
    results.show(job, URL.createObjectURL(image), sourceName);
    showStatus(""); // the result's summary (a live region) says what was found
    $("#results").scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (err) {
    if (request !== latestRequest) return;
    showStatus("");
    showError(err);
  } finally {
    if (request === latestRequest) document.body.removeAttribute("aria-busy");
  }
}

function analyzeFiles(files) {
  const file = [...(files ?? [])].find((f) => f.size > 0) ?? files?.[0];
  if (!file) return;
  analyze(file, file.name ? `“${file.name}”` : "your photo");
}

const fileInput = $("#file-input");
fileInput.addEventListener("change", () => {
  analyzeFiles(fileInput.files);
  fileInput.value = ""; // choosing the same file again is a new request
});

const dropZone = $("#drop-zone");
for (const type of ["dragenter", "dragover"]) {
  dropZone.addEventListener(type, (event) => {
    event.preventDefault();
    dropZone.classList.add("dragging");
  });
}
for (const type of ["dragleave", "drop"]) {
  dropZone.addEventListener(type, () => dropZone.classList.remove("dragging"));
}
// Drops anywhere on the page count (the zone only highlights): a photo dropped beside the zone must not make
// the browser navigate away from the page.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => {
  event.preventDefault();
  analyzeFiles(event.dataTransfer?.files);
});
window.addEventListener("paste", (event) => {
  const files = [...(event.clipboardData?.files ?? [])].filter((f) => f.type.startsWith("image/"));
  if (files.length) analyzeFiles(files);
});

// ---- options ------------------------------------------------------------------------------------------------

for (const radio of document.querySelectorAll('input[name="tone"]')) {
  radio.addEventListener("change", () => results.applyTone(selectedTone()));
}

const apiKeyInput = $("#api-key");
apiKeyInput.value = getApiKey();
apiKeyInput.addEventListener("change", () => setApiKey(apiKeyInput.value.trim()));

// ---- camera -------------------------------------------------------------------------------------------------

const camera = new Camera($("#video"));
const cameraToggle = $("#camera-toggle");
const snapshotButton = $("#camera-snapshot");
const liveToggle = $("#live-toggle");
const cameraMessage = $("#camera-message");
const cameraStage = $("#camera-stage");
const live = new LiveSession(camera, {
  layer: $("#live-layer"),
  rate: $("#live-rate"),
  count: $("#live-count"),
  latency: $("#live-latency"),
  server: $("#live-server"),
  faces: $("#live-faces"),
  tone: selectedTone,
  maxSide: LIVE_MAX_SIDE,
  onError: (err) => {
    liveToggle.checked = false;
    showError(err);
    cameraMessage.textContent = "Live mode stopped after repeated errors.";
  },
});

function setCameraOn(on) {
  cameraToggle.textContent = on ? "Stop camera" : "Start camera";
  cameraToggle.setAttribute("aria-pressed", String(on));
  snapshotButton.disabled = !on;
  $("#live-stats").hidden = !on;
  liveToggle.disabled = !on;
  cameraStage.hidden = !on;
  if (!on) {
    liveToggle.checked = false;
    live.stop();
  }
}

cameraToggle.addEventListener("click", async () => {
  if (camera.active) {
    camera.stop();
    setCameraOn(false);
    cameraMessage.textContent = "Camera stopped.";
    return;
  }
  clearError();
  cameraToggle.disabled = true;
  cameraMessage.textContent = "Starting the camera…";
  try {
    await camera.start();
    setCameraOn(true);
    cameraMessage.textContent = "Camera on. Take a snapshot, or turn on live mode.";
  } catch (err) {
    setCameraOn(false);
    cameraMessage.textContent = err.message;
    cameraMessage.dataset.code = err.code ?? "failed";
    showError(err);
  } finally {
    cameraToggle.disabled = false;
  }
});

snapshotButton.addEventListener("click", async () => {
  try {
    await analyze(await camera.frame(SNAPSHOT_MAX_SIDE, 0.9), "the camera snapshot");
  } catch (err) {
    showError(err);
  }
});

liveToggle.addEventListener("change", () => {
  if (liveToggle.checked) {
    clearError();
    live.start();
    cameraMessage.textContent = "Live: emoticons follow the faces in view.";
  } else {
    live.stop();
    cameraMessage.textContent = "Live mode off.";
  }
});

window.addEventListener("pagehide", () => camera.stop());
document.documentElement.dataset.ready = "true";
