from .backbones import DLA

__all__ = ['DLA']
