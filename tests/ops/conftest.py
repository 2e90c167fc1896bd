"""Fixtures for the operations tests."""

import io
import logging

import pytest
from django.conf import settings
from django.utils.module_loading import import_string


@pytest.fixture
def captured_logs():
    """Everything the console's handler writes, as JSON lines (the production format, whatever
    LOG_FORMAT says here), with the root and urllib3 loggers at DEBUG."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous_stream = handler.setStream(stream)
    previous_formatter = handler.formatter
    handler.setFormatter(json_formatter())
    loggers = [root, logging.getLogger("urllib3")]
    previous_levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        handler.setStream(previous_stream)
        handler.setFormatter(previous_formatter)
        for logger, level in zip(loggers, previous_levels, strict=True):
            logger.setLevel(level)


def json_formatter() -> logging.Formatter:
    """The JSON formatter exactly as settings.LOGGING configures it."""
    config = dict(settings.LOGGING["formatters"]["json"])
    return import_string(config.pop("()"))(**config)
