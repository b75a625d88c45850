from .distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .hooks import AtomicCheckpointHook, FuseConvBNHook
from .launch import exit_on_input_error, load_config, prepare_runner_config

__all__ = ['CPUDistributedDataParallel', 'setup_cpu_distributed', 'AtomicCheckpointHook',
           'FuseConvBNHook', 'exit_on_input_error', 'load_config', 'prepare_runner_config']
