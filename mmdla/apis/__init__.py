from .inference import COMPILED_PARTS, init_model, optimize_for_inference

__all__ = ['COMPILED_PARTS', 'init_model', 'optimize_for_inference']
