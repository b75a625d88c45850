from .checks import check_checkpoint_fits, check_config_inputs, unwrap_model
from .config import (add_tensorboard, build_tta_model, load_config, prepare_runner_config,
                     require_gpu_for_amp, runner_with_model)
from .distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .hooks import AtomicCheckpointHook

__all__ = [
    'check_checkpoint_fits', 'check_config_inputs', 'unwrap_model', 'CPUDistributedDataParallel',
    'setup_cpu_distributed', 'AtomicCheckpointHook', 'add_tensorboard', 'build_tta_model',
    'load_config', 'prepare_runner_config', 'require_gpu_for_amp', 'runner_with_model'
]
