from .tta import DLASegTTAModel

__all__ = ['DLASegTTAModel']
