"""The Celery app: `celery -A worker.app worker` / `celery -A worker.app beat`.

Importing this module configures nothing: the app reads the settings in force when it is
first used (`configure`, through Celery's on_configure signal), so a process whose settings
change (tests) calls `configure` again instead of re-importing.
"""

from celery import Celery, signals
from kombu import pools

from config import Settings, get_settings
from config.celery import celery_config
from config.logging import configure_logging
from emails.providers import registry as providers
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


def app_config(settings: Settings) -> dict:
    """config/'s Celery settings plus the beat entries the source registry adds; a worker
    with an unknown MAIL_BACKEND refuses to start rather than fail at its first send."""
    providers.check(settings)
    conf = celery_config(settings)
    conf["beat_schedule"] = {**conf["beat_schedule"], **fetch_schedule(settings)}
    return conf


app = Celery("paperboy", include=["worker.tasks"])


def configure(app: Celery, settings: Settings) -> Celery:
    """Point `app` at `settings` (broker, queues, retry policy, beat schedule). Connections to
    an earlier broker are closed first, and the cached AMQP helper (producers, queues, routes
    read from the earlier configuration) is dropped, so nothing keeps using them."""
    if app.configured:
        app.close()
        pools.reset()  # kombu's shared connection and producer pools, keyed by broker
        if "amqp" in vars(app):
            del app.amqp
    app.conf.update(app_config(settings))
    return app


@app.on_configure.connect
def _configure_on_first_use(sender: Celery, **_kwargs) -> None:
    sender.config_from_object(app_config(get_settings()))


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
