"""A fault hook for tests only: make a worker's stage process die on a chosen input, as a native crash would.

Off unless ``settings.fault_crash_sha256`` is set (``EMOTICON_FAULT_CRASH_SHA256``). The Celery task body calls
``crash_if_chosen`` before the detector stage runs, so a test can prove that an input which kills its worker
every time ends ``failed`` with ``worker_crashed`` instead of being redelivered forever. The embedded mode never
calls it: it would take the whole server down.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal

from services.settings import Settings
from services.store import JobStore

log = logging.getLogger(__name__)

CRASH_STAGE = "detector"  # where a decoder would crash


def crash_if_chosen(stage: str, job_id: str, store: JobStore, settings: Settings) -> None:
    """SIGKILL this process when the hook is on, ``stage`` is the detector and the job's upload has the chosen
    sha256; otherwise return (at once when the hook is off)."""
    if not settings.fault_crash_sha256 or stage != CRASH_STAGE:
        return
    data = store.load_upload(job_id)
    if data is not None and hashlib.sha256(data).hexdigest() == settings.fault_crash_sha256:
        log.warning("fault hook: killing this process on the chosen input", extra={"job_id": job_id})
        os.kill(os.getpid(), signal.SIGKILL)
