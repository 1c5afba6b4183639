"""Speaker embedding models."""

from .resnet50 import ResNet50

__all__ = ["ResNet50"]
