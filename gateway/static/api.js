// The HTTP API, as the page uses it: submit a photo, wait for its job, re-render a face.
// Every failure becomes an ApiError whose `message` is fit to show to a person.

const POLL_INTERVAL_MS = 400;
const POLL_TIMEOUT_MS = 120_000;
const API_KEY_STORAGE = "emoticon.apiKey";

/** Friendly text per stable error code (services/errors.py); the server's own message is kept as detail. */
const FRIENDLY = {
  invalid_image: "That file doesn't look like a photo we can read. Try a JPEG, PNG, WebP or BMP image.",
  unsupported_media_type: "That kind of image isn't supported. Try a JPEG, PNG, WebP or BMP photo.",
  payload_too_large: "That photo is too large. Try a smaller file or a lower resolution.",
  overloaded: "The server is busy right now. Please try again in a few seconds.",
  store_full: "The server is busy right now. Please try again in a few seconds.",
  image_too_small: "That image is too small to hold a face. Try a larger photo.",
  extreme_aspect_ratio: "That image is far too long and thin to be a photo of people. Try another photo.",
  worker_crashed: "The server could not analyse that image. Try another photo, or save it again in another format.",
  unauthorized: "This server needs an API key. Enter it in the “API key” field and try again.",
  service_unavailable: "The analysis service isn't ready yet. Please try again in a moment.",
  model_error: "The server's models aren't set up correctly. Please tell whoever runs this server.",
  not_found: "That result has expired or doesn't exist any more. Please analyse the photo again.",
  invalid_request: "The request wasn't accepted. Please reload the page and try again.",
  network: "Couldn't reach the server. Check your connection and try again.",
  timeout: "The analysis is taking too long. Please try again.",
};

export class ApiError extends Error {
  /**
   * @param {string} code stable code, e.g. "invalid_image", or "network" / "timeout" from the page itself
   * @param {string} detail the server's message (may be technical)
   * @param {number} status HTTP status, 0 when the server wasn't reached
   */
  constructor(code, detail, status = 0) {
    super(FRIENDLY[code] ?? (detail || "Something went wrong. Please try again."));
    this.name = "ApiError";
    this.code = code;
    this.detail = detail;
    this.status = status;
  }
}

export function getApiKey() {
  try {
    return localStorage.getItem(API_KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

export function setApiKey(value) {
  try {
    if (value) localStorage.setItem(API_KEY_STORAGE, value);
    else localStorage.removeItem(API_KEY_STORAGE);
  } catch {
    // storage disabled (private mode): the key then lasts only for this request
  }
}

function headers(extra = {}) {
  const key = getApiKey();
  return key ? { ...extra, "X-API-Key": key } : extra;
}

/** Resolve an API path against the page, so the site also works under a path prefix. */
export function apiUrl(path, params = {}) {
  const url = new URL(path.replace(/^\//, ""), document.baseURI);
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
  }
  return url.toString();
}

async function request(url, init = {}) {
  let response;
  try {
    response = await fetch(url, { ...init, headers: headers(init.headers) });
  } catch (err) {
    throw new ApiError("network", String(err));
  }
  if (response.ok) return response;
  let code = `http_${response.status}`;
  let detail = response.statusText;
  try {
    const body = await response.json();
    if (body?.error) {
      code = body.error.code ?? code;
      detail = body.error.message ?? detail;
    } else if (body?.detail) {
      detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
    }
  } catch {
    // not JSON (a proxy's HTML page): keep the status text
  }
  if (response.status === 401 || response.status === 403) code = "unauthorized";
  throw new ApiError(code, detail, response.status);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Upload one image and resolve with its finished JobState (services.contracts.JobState).
 * @param {Blob} image the photo or camera frame
 * @param {{size?: number, tone?: string, wait?: number, renders?: "all"|"svg", signal?: AbortSignal, filename?: string}} options
 * @returns {Promise<object>} the job, status "done"; a "failed" job rejects with its error
 */
export async function analyzeImage(
  image,
  { size = 256, tone = "auto", wait = 10, renders = "all", signal, filename } = {},
) {
  const form = new FormData();
  form.append("file", image, filename ?? image.name ?? "photo.jpg");
  const response = await request(apiUrl("v1/jobs", { size, tone, wait, renders }), { method: "POST", body: form, signal });
  let job = await response.json();
  const started = performance.now();
  while (job.status === "queued" || job.status === "running") {
    if (performance.now() - started > POLL_TIMEOUT_MS) throw new ApiError("timeout", "job did not finish");
    await sleep(POLL_INTERVAL_MS);
    const poll = await request(apiUrl(`v1/jobs/${encodeURIComponent(job.id)}`, { wait: 5 }), { signal });
    job = await poll.json();
  }
  if (job.status === "failed") {
    throw new ApiError(job.error?.code ?? "failed", job.error?.message ?? "the analysis failed");
  }
  return job;
}

/**
 * Delete a job and everything the server keeps of it (DELETE /v1/jobs/{id}); a job already gone is fine.
 * @param {string} jobId
 */
export async function deleteJob(jobId) {
  await request(apiUrl(`v1/jobs/${encodeURIComponent(jobId)}`), { method: "DELETE" });
}

/** URL of a file the job rendered: `faces/0.svg`, `faces/0.png`, `overlay.png`. */
export function jobFileUrl(jobId, path, params = {}) {
  return apiUrl(`v1/jobs/${encodeURIComponent(jobId)}/${path}`, params);
}

/**
 * Draw a face again from its attributes, without re-running any model (POST /v1/render).
 * @param {object} attributes FaceAttributes of the face
 * @param {{size?: number, tone?: string, format?: "svg"|"png"|"json"}} options
 * @returns {Promise<Blob>} image/svg+xml, image/png, or application/json {emoji, svg}
 */
export async function renderFace(attributes, { size = 256, tone = "auto", format = "svg" } = {}) {
  const response = await request(apiUrl("v1/render"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ attributes, options: { size, tone }, format }),
  });
  return response.blob();
}

/**
 * A URL an <img> or a download link can use for a job file. Without an API key that is the file's own URL;
 * with one, <img> could not send the X-API-Key header, so the file is fetched and given as an object URL
 * (the caller revokes it).
 * @returns {Promise<{url: string, owned: boolean}>} owned: an object URL the caller must revoke
 */
export async function jobFileSrc(jobId, path) {
  if (!getApiKey()) return { url: jobFileUrl(jobId, path), owned: false };
  return { url: URL.createObjectURL(await fetchJobFile(jobId, path)), owned: true };
}

/** GET a job file as a Blob (used when the file is needed as data, e.g. the live mode's emoticons). */
export async function fetchJobFile(jobId, path) {
  const response = await request(jobFileUrl(jobId, path));
  return response.blob();
}
