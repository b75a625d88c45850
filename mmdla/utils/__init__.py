from .builders import build_model_from_config
from .checks import ConfigInputError, DataError, check_config_inputs
from .complexity import model_complexity

__all__ = ['build_model_from_config', 'ConfigInputError', 'DataError', 'check_config_inputs',
           'model_complexity']
