"""Protocols shipped with pyannote_resnet50 and helpers to load them."""

from .registry import (
    DATA_DIR,
    DATABASE_YML,
    PACKAGE_DATABASE_YML,
    AudioFinder,
    get_protocol,
    load_registry,
    validate_protocol,
)

__all__ = [
    "DATA_DIR",
    "DATABASE_YML",
    "PACKAGE_DATABASE_YML",
    "AudioFinder",
    "get_protocol",
    "load_registry",
    "validate_protocol",
]
