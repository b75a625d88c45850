from .checks import check_checkpoint_fits, check_config_inputs, unwrap_model
from .distributed import CPUDistributedDataParallel, setup_cpu_distributed
from .hooks import AtomicCheckpointHook
from .launch import (add_runner_args, add_tensorboard, build_tta_model, check_image_output,
                     load_config, parse_runner_args, prepare_runner_config,
                     require_gpu_for_amp, runner_with_model)

__all__ = ['check_checkpoint_fits', 'check_config_inputs', 'unwrap_model',
           'CPUDistributedDataParallel', 'setup_cpu_distributed', 'AtomicCheckpointHook',
           'add_runner_args', 'add_tensorboard', 'build_tta_model', 'check_image_output',
           'load_config', 'parse_runner_args', 'prepare_runner_config', 'require_gpu_for_amp',
           'runner_with_model']
