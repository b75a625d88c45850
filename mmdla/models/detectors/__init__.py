from .centernet_tta import CenterNetTTAModel

__all__ = ['CenterNetTTAModel']
