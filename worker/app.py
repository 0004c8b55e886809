"""The Celery app: `celery -A worker.app worker` / `celery -A worker.app beat`."""

from celery import Celery, signals

from config import get_settings
from config.celery import celery_config
from config.logging import configure_logging

app = Celery("paperboy", include=["worker.tasks"])
app.config_from_object(celery_config(get_settings()))


@signals.setup_logging.connect
def _logging(**_kwargs) -> None:
    """Connected, so Celery leaves the root logger to us: LOG_LEVEL and token redaction apply
    to worker and beat logs too."""
    configure_logging(get_settings().log_level)
