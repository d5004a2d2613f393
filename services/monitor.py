"""The Celery app for Celery's own tools, configured from the settings exactly as the workers are (broker URL,
key prefix, queues): ``celery --app services.monitor:app flower`` (the ``monitor`` profile of
docker-compose.yml), ``celery --app services.monitor:app inspect active``."""

from __future__ import annotations

from services.settings import get_settings
from services.worker import create_celery

app = create_celery(get_settings())
