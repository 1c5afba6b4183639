from .logmel import LogMel

__all__ = ["LogMel"]
