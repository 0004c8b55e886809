"""The Celery app: `celery -A worker.app worker` / `celery -A worker.app beat`."""

from celery import Celery, signals

from config import Settings, get_settings
from config.celery import celery_config
from config.logging import configure_logging
from worker.ingest import registry


def fetch_schedule(settings: Settings) -> dict:
    """A beat entry per fetched source, from the registry (config/ imports no app code)."""
    return {
        f"fetch-{source.name}": {
            "task": "paperboy.fetch_source",
            "schedule": source.every_hours(settings) * 3600,
            "args": (source.name,),
        }
        for source in registry.fetchable()
    }


app = Celery("paperboy", include=["worker.tasks"])
app.config_from_object(celery_config(get_settings()))
app.conf.beat_schedule.update(fetch_schedule(get_settings()))


@signals.setup_logging.connect
def _logging(**_kwargs) -> None:
    """Connected, so Celery leaves the root logger to us: LOG_LEVEL and token redaction apply
    to worker and beat logs too."""
    configure_logging(get_settings().log_level)


@signals.worker_init.connect
def _warm(**_kwargs) -> None:
    """Compile the email templates once in the worker's parent, before the pool forks: every
    child starts with them (the first send chunk would otherwise pay the MJML compile)."""
    from emails.compile import load_template, text_template

    for name in ("digest", "notice"):
        load_template(name)
        text_template(name)
