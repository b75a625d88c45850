from .distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .hooks import AtomicCheckpointHook, FuseConvBNHook
from .launch import (add_runner_args, exit_on_input_error, load_config, parse_runner_args,
                     prepare_runner_config)

__all__ = ['CPUDistributedDataParallel', 'setup_cpu_distributed', 'AtomicCheckpointHook',
           'FuseConvBNHook', 'add_runner_args', 'exit_on_input_error', 'load_config',
           'parse_runner_args', 'prepare_runner_config']
