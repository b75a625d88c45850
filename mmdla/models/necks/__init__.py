from .centernet_dla_neck import CenterNetDLANeck

__all__ = ['CenterNetDLANeck']
