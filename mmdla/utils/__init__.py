from .checks import ConfigInputError, check_config_inputs
from .complexity import model_complexity

__all__ = ['ConfigInputError', 'check_config_inputs', 'model_complexity']
