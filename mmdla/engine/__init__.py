from .distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .hooks import AtomicCheckpointHook
from .launch import exit_on_input_error, load_config, prepare_runner_config

__all__ = ['CPUDistributedDataParallel', 'setup_cpu_distributed', 'AtomicCheckpointHook',
           'exit_on_input_error', 'load_config', 'prepare_runner_config']
