from .complexity import model_complexity

__all__ = ['model_complexity']
