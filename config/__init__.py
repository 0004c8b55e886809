"""Configuration: settings, Celery config, logging. Imports no app code."""

from config.settings import ConfigError, Settings, get_settings

__all__ = ["ConfigError", "Settings", "get_settings"]
