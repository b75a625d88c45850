from .dla_up_head import DLAUp, DLAUpHead, IDAUp

__all__ = ['DLAUp', 'DLAUpHead', 'IDAUp']
