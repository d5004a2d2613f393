"""The asyncio client (``httpx.AsyncClient``): the methods of ``EmoticonClient``, awaited."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
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


class AsyncEmoticonClient:
    """``async with AsyncEmoticonClient(url) as client: job = await client.analyze(path)``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers=headers(api_key), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._http.request(method, path, **kwargs)
        raise_for_error(response)
        return response

    # ---- jobs ------------------------------------------------------------------------------------------------

    async def analyze(
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
        """As ``EmoticonClient.analyze``."""
        name, data = file_part(image)
        params = options_params(size, tone, renders, callback_url)
        if wait:
            params["wait"] = min(wait, SERVER_WAIT_S)
        deadline = time.monotonic() + (wait or 0)
        response = await self._request("POST", "/v1/jobs", params=params, files={"file": (name, data)})
        job_id = response.json()["id"]
        if response.status_code == 200:
            job = JobView.model_validate(response.json())
        elif wait:
            job = await self.wait_for(job_id, max(0.0, deadline - time.monotonic()), raise_on_failure=False)
        else:
            job = await self.job(job_id)
        return self._checked(job, raise_on_failure)

    async def job(self, job_id: str) -> JobView:
        return JobView.model_validate((await self._request("GET", f"/v1/jobs/{job_id}")).json())

    async def delete_job(self, job_id: str) -> None:
        await self._request("DELETE", f"/v1/jobs/{job_id}")

    async def wait_for(self, job_id: str, timeout: float, raise_on_failure: bool = True) -> JobView:
        deadline = time.monotonic() + timeout
        while True:
            job = await self.job(job_id)
            if job.status in FINISHED:
                return self._checked(job, raise_on_failure)
            if time.monotonic() >= deadline:
                raise JobTimeout(f"job {job_id} is still {job.status.value} after {timeout:.1f} s", job_id)
            await asyncio.sleep(POLL_S)

    @staticmethod
    def _checked(job: JobView, raise_on_failure: bool) -> JobView:
        if raise_on_failure and job.status == JobStatus.failed and job.error is not None:
            error = job_error(job.error)
            error.job = job  # type: ignore[attr-defined]
            raise error
        return job

    async def file(self, path: str) -> bytes:
        return (await self._request("GET", path)).content

    async def face_svg(self, job: JobView, index: int = 0) -> str:
        return (await self.file(job.links.faces[index].svg)).decode()

    async def face_png(self, job: JobView, index: int = 0) -> bytes:
        png = job.links.faces[index].png
        if png is None:
            raise ValueError("the job was submitted with renders='svg': it has no PNGs")
        return await self.file(png)

    async def overlay(self, job: JobView) -> bytes:
        if job.links.overlay is None:
            raise ValueError("the job has no overlay (renders='svg', or not done)")
        return await self.file(job.links.overlay)

    # ---- render ----------------------------------------------------------------------------------------------

    async def render(
        self,
        attributes: FaceAttributes,
        options: RenderOptions | None = None,
        format: Literal["svg", "png", "json"] = "svg",
    ) -> str | bytes | RenderedJson:
        body = RenderRequest(attributes=attributes, options=options or RenderOptions(), format=format)
        response = await self._request("POST", "/v1/render", json=body.model_dump(mode="json"))
        if format == "png":
            return response.content
        if format == "json":
            return RenderedJson.model_validate(response.json())
        return response.text

    # ---- batches ---------------------------------------------------------------------------------------------

    async def submit_batch(
        self,
        images: Iterable[ImageInput],
        *,
        size: int = 256,
        tone: ToneChoice = "auto",
        renders: RenderSet = "all",
        callback_url: str | None = None,
    ) -> BatchCreated:
        params = options_params(size, tone, renders, callback_url)
        response = await self._request("POST", "/v1/batches", params=params, files=file_parts(images))
        return BatchCreated.model_validate(response.json())

    async def batch(self, batch_id: str) -> BatchView:
        return BatchView.model_validate((await self._request("GET", f"/v1/batches/{batch_id}")).json())

    async def batch_results(
        self, batch_id: str, wait: float | None = 300.0, start: int = 0
    ) -> AsyncIterator[BatchResultLine]:
        total = len((await self.batch(batch_id)).items)
        deadline = None if wait is None else time.monotonic() + wait
        next_index = start
        while next_index < total:
            left = SERVER_WAIT_S if deadline is None else min(SERVER_WAIT_S, deadline - time.monotonic())
            if left <= 0:
                raise JobTimeout(
                    f"batch {batch_id}: item {next_index} is not finished after {wait} s", batch_id
                )
            params = {"wait": round(left, 3), "start": next_index}
            async with self._http.stream("GET", f"/v1/batches/{batch_id}/results", params=params) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise_for_error(response)
                async for text in response.aiter_lines():
                    if text.strip():
                        line = BatchResultLine.model_validate(json.loads(text))
                        next_index = line.index + 1
                        yield line

    async def analyze_many(
        self,
        images: Iterable[ImageInput],
        *,
        wait: float | None = 300.0,
        size: int = 256,
        tone: ToneChoice = "auto",
        renders: RenderSet = "all",
    ) -> list[BatchResultLine]:
        created = await self.submit_batch(images, size=size, tone=tone, renders=renders)
        return [line async for line in self.batch_results(created.id, wait=wait)]
