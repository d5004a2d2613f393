"""The blocking client (``httpx.Client``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from typing import Any, Literal, Self

import httpx

from emoticon_client._common import (
    DEFAULT_TIMEOUT_S,
    POLL_S,
    SERVER_WAIT_S,
    ImageInput,
    JobTimeout,
    file_part,
    file_parts,
    headers,
    job_error,
    options_params,
    raise_for_error,
)
from gateway.schemas import BatchCreated, BatchView, JobView, RenderedJson, RenderRequest
from services.contracts import (
    BatchResultLine,
    FaceAttributes,
    JobStatus,
    RenderOptions,
    RenderSet,
    ToneChoice,
)

FINISHED = (JobStatus.done, JobStatus.failed)


class EmoticonClient:
    """``EmoticonClient("http://127.0.0.1:8000", api_key=...)``; use as a context manager or ``close()`` it.

    Results are the service's own pydantic models (``JobView``, ``BatchView``, ``BatchResultLine``); a 4xx/5xx
    answer or a failed job raises the matching ``services.errors`` type (``InvalidImage``, ``NotFound``...).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers(api_key), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        raise_for_error(response)
        return response

    # ---- jobs ------------------------------------------------------------------------------------------------

    def analyze(
        self,
        image: ImageInput,
        *,
        wait: float | None = 60.0,
        size: int = 256,
        tone: ToneChoice = "auto",
        renders: RenderSet = "all",
        callback_url: str | None = None,
        raise_on_failure: bool = True,
    ) -> JobView:
        """Submit a photo (a path, bytes, or (name, bytes)) and, with ``wait`` seconds, return it finished.

        ``wait=None`` (or 0) returns the queued job at once. A job still running after ``wait`` raises
        ``JobTimeout``; a failed job raises its typed error (``InvalidImage``...) unless ``raise_on_failure``
        is False."""
        name, data = file_part(image)
        params = options_params(size, tone, renders, callback_url)
        if wait:
            params["wait"] = min(wait, SERVER_WAIT_S)
        deadline = time.monotonic() + (wait or 0)
        response = self._request("POST", "/v1/jobs", params=params, files={"file": (name, data)})
        job_id = response.json()["id"]
        if response.status_code == 200:
            job = JobView.model_validate(response.json())
        elif wait:
            job = self.wait_for(job_id, max(0.0, deadline - time.monotonic()), raise_on_failure=False)
        else:
            job = self.job(job_id)
        return self._checked(job, raise_on_failure)

    def job(self, job_id: str) -> JobView:
        return JobView.model_validate(self._request("GET", f"/v1/jobs/{job_id}").json())

    def delete_job(self, job_id: str) -> None:
        """Delete the job and everything of it now (its upload, renders); fine if it is already gone."""
        self._request("DELETE", f"/v1/jobs/{job_id}")

    def wait_for(self, job_id: str, timeout: float, raise_on_failure: bool = True) -> JobView:
        """Poll the job until it is done or failed, for at most ``timeout`` seconds (``JobTimeout`` after)."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.status in FINISHED:
                return self._checked(job, raise_on_failure)
            if time.monotonic() >= deadline:
                raise JobTimeout(f"job {job_id} is still {job.status.value} after {timeout:.1f} s", job_id)
            time.sleep(POLL_S)

    @staticmethod
    def _checked(job: JobView, raise_on_failure: bool) -> JobView:
        if raise_on_failure and job.status == JobStatus.failed and job.error is not None:
            error = job_error(job.error)
            error.job = job  # type: ignore[attr-defined]
            raise error
        return job

    def file(self, path: str) -> bytes:
        """A rendered file by its link (``job.links.faces[0].svg``, ``job.links.overlay``)."""
        return self._request("GET", path).content

    def face_svg(self, job: JobView, index: int = 0) -> str:
        return self.file(job.links.faces[index].svg).decode()

    def face_png(self, job: JobView, index: int = 0) -> bytes:
        png = job.links.faces[index].png
        if png is None:
            raise ValueError("the job was submitted with renders='svg': it has no PNGs")
        return self.file(png)

    def overlay(self, job: JobView) -> bytes:
        if job.links.overlay is None:
            raise ValueError("the job has no overlay (renders='svg', or not done)")
        return self.file(job.links.overlay)

    # ---- render ----------------------------------------------------------------------------------------------

    def render(
        self,
        attributes: FaceAttributes,
        options: RenderOptions | None = None,
        format: Literal["svg", "png", "json"] = "svg",
    ) -> str | bytes | RenderedJson:
        """Draw a face from its attributes: SVG text, PNG bytes, or ``RenderedJson`` (emoji + SVG)."""
        body = RenderRequest(attributes=attributes, options=options or RenderOptions(), format=format)
        response = self._request("POST", "/v1/render", json=body.model_dump(mode="json"))
        if format == "png":
            return response.content
        if format == "json":
            return RenderedJson.model_validate(response.json())
        return response.text

    # ---- batches ---------------------------------------------------------------------------------------------

    def submit_batch(
        self,
        images: Iterable[ImageInput],
        *,
        size: int = 256,
        tone: ToneChoice = "auto",
        renders: RenderSet = "all",
        callback_url: str | None = None,
    ) -> BatchCreated:
        params = options_params(size, tone, renders, callback_url)
        response = self._request("POST", "/v1/batches", params=params, files=file_parts(images))
        return BatchCreated.model_validate(response.json())

    def batch(self, batch_id: str) -> BatchView:
        return BatchView.model_validate(self._request("GET", f"/v1/batches/{batch_id}").json())

    def batch_results(
        self, batch_id: str, wait: float | None = 300.0, start: int = 0
    ) -> Iterator[BatchResultLine]:
        """Each item's result line in upload order, as it finishes; ``JobTimeout`` when items are still running
        after ``wait`` seconds (``None``: wait as long as it takes)."""
        total = len(self.batch(batch_id).items)
        deadline = None if wait is None else time.monotonic() + wait
        next_index = start
        while next_index < total:
            left = SERVER_WAIT_S if deadline is None else min(SERVER_WAIT_S, deadline - time.monotonic())
            if left <= 0:
                raise JobTimeout(
                    f"batch {batch_id}: item {next_index} is not finished after {wait} s", batch_id
                )
            params = {"wait": round(left, 3), "start": next_index}
            with self._http.stream("GET", f"/v1/batches/{batch_id}/results", params=params) as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_error(response)
                for text in response.iter_lines():
                    if text.strip():
                        line = BatchResultLine.model_validate(json.loads(text))
                        next_index = line.index + 1
                        yield line

    def analyze_many(
        self,
        images: Iterable[ImageInput],
        *,
        wait: float | None = 300.0,
        size: int = 256,
        tone: ToneChoice = "auto",
        renders: RenderSet = "all",
    ) -> list[BatchResultLine]:
        """One batch: submit, then collect every item's line (failed items carry their error, nothing raises)."""
        created = self.submit_batch(images, size=size, tone=tone, renders=renders)
        return list(self.batch_results(created.id, wait=wait))
