"""What happens when a job finishes (done or failed): its webhook, and its batch's progress — and, when it was
the batch's last job, the batch's webhook.

``Notifier`` is called by whoever finished the job (``services.worker`` after the last stage or a failure; the
embedded runner through the same code). How a webhook is sent differs by mode and is passed in: the embedded
gateway delivers on a small thread pool (``ThreadedWebhookSender``), the workers publish a Celery task on the
``webhooks`` queue (retried there with backoff, so no worker sleeps).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from gateway.schemas import job_view
from services import batches
from services.contracts import BatchState, JobState
from services.settings import Settings
from services.store import JobStore
from services.webhooks import Webhook, deliver

log = logging.getLogger(__name__)

JOB_EVENT = "job.finished"
BATCH_EVENT = "batch.finished"
SendWebhook = Callable[[Webhook], None]


def job_webhook(job: JobState) -> Webhook:
    """The job's JSON exactly as ``GET /v1/jobs/{id}`` returns it."""
    assert job.callback_url is not None
    return Webhook.create(job.callback_url, JOB_EVENT, job_view(job).model_dump_json())


def batch_webhook(batch: BatchState, jobs: list[JobState | None]) -> Webhook:
    """The batch's JSON exactly as ``GET /v1/batches/{id}`` returns it."""
    assert batch.callback_url is not None
    return Webhook.create(batch.callback_url, BATCH_EVENT, batches.batch_view(batch, jobs).model_dump_json())


class Notifier:
    def __init__(self, store: JobStore, send: SendWebhook) -> None:
        self.store = store
        self.send = send

    def job_finished(self, job: JobState) -> None:
        """Never raises: a notification must not fail the job it is about."""
        try:
            if job.callback_url:
                self.send(job_webhook(job))
            if job.batch_id:
                batch = batches.load_batch(self.store, job.batch_id)
                if batch is not None and batches.record_finished(self.store, batch, job.id):
                    self.batch_finished(batch)
        except Exception:
            log.exception("notification failed", extra={"job_id": job.id})

    def batch_finished(self, batch: BatchState) -> None:
        log.info("batch finished", extra={"batch_id": batch.id, "items": len(batch.items)})
        if batch.callback_url:
            self.send(batch_webhook(batch, batches.load_jobs(self.store, batch)))


class ThreadedWebhookSender:
    """Embedded mode: each webhook is delivered (with its retries and backoff) on one of a few threads."""

    def __init__(self, settings: Settings, threads: int = 2) -> None:
        self.settings = settings
        self._stop = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="emoticon-webhook")

    def __call__(self, hook: Webhook) -> None:
        self._executor.submit(self._deliver, hook)

    def _deliver(self, hook: Webhook) -> None:
        try:
            deliver(hook, self.settings, self._stop.wait)
        except Exception:
            log.exception("webhook delivery crashed", extra={"delivery_id": hook.delivery_id})

    def close(self) -> None:
        self._stop.set()  # a backoff in progress returns at once; its attempt is the last
        self._executor.shutdown(wait=False, cancel_futures=True)
