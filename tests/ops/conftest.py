"""Fixtures for the operations tests."""

import io
import logging

import pytest


@pytest.fixture
def captured_logs():
    """Everything the console's JSON handler writes, with the root and urllib3 loggers at DEBUG."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous_stream = handler.setStream(stream)
    loggers = [root, logging.getLogger("urllib3")]
    previous_levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        handler.setStream(previous_stream)
        for logger, level in zip(loggers, previous_levels, strict=True):
            logger.setLevel(level)
