"""The Celery app: `celery -A worker.app worker` / `celery -A worker.app beat`."""

from celery import Celery

from config import get_settings
from config.celery import celery_config

app = Celery("paperboy", include=["worker.tasks"])
app.config_from_object(celery_config(get_settings()))
