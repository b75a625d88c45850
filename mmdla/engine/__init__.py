from .checks import check_checkpoint_fits, check_config_inputs, unwrap_model
from .distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .hooks import AtomicCheckpointHook, FuseConvBNHook
from .launch import add_runner_args, load_config, parse_runner_args, prepare_runner_config

__all__ = ['check_checkpoint_fits', 'check_config_inputs', 'unwrap_model',
           'CPUDistributedDataParallel', 'setup_cpu_distributed', 'AtomicCheckpointHook',
           'FuseConvBNHook', 'add_runner_args', 'load_config', 'parse_runner_args',
           'prepare_runner_config']
