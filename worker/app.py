"""The Celery app: `celery -A worker.app worker` / `celery -A worker.app beat`.

Importing this module configures nothing: the app reads the settings in force when it is
first used (`configure`, through Celery's on_configure signal), so a process whose settings
change (tests) calls `configure` again instead of re-importing.
"""

import gc

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
GC_YOUNG = 10_000  # allocations between young-generation collections in a worker (see _warm)


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
    """What every pool process would otherwise do on its own, done once in the worker's parent
    before the pool forks: the email templates compiled (the first send chunk would pay the
    MJML compile), the configured provider's module imported, and numba's CPU target loaded
    (its registries: half a second of the first ranking in each process)."""
    from numba.core.registry import cpu_target

    from emails.compile import load_template, text_template

    for name in ("digest", "notice"):
        load_template(name)
        text_template(name)
    providers.configured(get_settings())
    cpu_target.target_context.refresh()
    cpu_target.typing_context.refresh()
    # The cyclic GC: what the parent built is frozen (never scanned again by a child's
    # collections, nor its pages copied by them), and the young generation collected every
    # GC_YOUNG allocations, not 700: planning and rendering allocate millions of short-lived,
    # acyclic objects that reference counting frees, and at 700 the collector took a fifth of
    # a planning chunk's CPU scanning what was already gone.
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
