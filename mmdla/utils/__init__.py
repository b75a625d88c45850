from .builders import build_in_scope, build_model_from_config
from .complexity import config_complexity, model_complexity
from .state_dict import Mismatch, summarise

__all__ = [
    'build_in_scope', 'build_model_from_config', 'config_complexity', 'model_complexity',
    'Mismatch', 'summarise'
]
