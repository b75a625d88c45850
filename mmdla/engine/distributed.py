"""Distributed training without CUDA (gloo), e.g. CI's 2-process CPU runs.

MMEngine 0.10 assumes CUDA for distributed runs: ``init_dist`` calls
``torch.cuda.set_device`` and the default DDP wrapper passes ``device_ids=[LOCAL_RANK]``;
SyncBN refuses CPU modules. :func:`setup_cpu_distributed` (called by tools/train.py and
tools/test.py before the Runner is built) initialises the process group with gloo itself
and selects :class:`CPUDistributedDataParallel`. On GPU machines it does nothing.
"""
import logging

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel, revert_sync_batchnorm
from mmengine.registry import MODEL_WRAPPERS

from mmdla.errors import ConfigInputError


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that also works on CPU.

    Without CUDA, SyncBN layers are reverted to plain BN (each process normalises with its
    own batch statistics; a warning says so) and ``device_ids`` is None, as DDP requires
    for CPU modules. With CUDA it is exactly MMDistributedDataParallel.
    """

    def __init__(self, module, detect_anomalous_params: bool = False, **kwargs):
        if not torch.cuda.is_available():
            if any(isinstance(m, torch.nn.SyncBatchNorm) for m in module.modules()):
                print_log(
                    'SyncBN needs CUDA: reverted to BatchNorm for this CPU run '
                    '(per-process batch statistics)',
                    logger='current',
                    level=logging.WARNING)
                module = revert_sync_batchnorm(module)
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        super().__init__(module, detect_anomalous_params, **kwargs)


def setup_cpu_distributed(cfg: Config) -> None:
    """For a distributed launch (``cfg.launcher != 'none'``) on a machine without CUDA:
    init the gloo process group (env:// as set by torchrun) and use
    :class:`CPUDistributedDataParallel`."""
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if cfg.launcher != 'pytorch':
        raise ConfigInputError(f"launcher '{cfg.launcher}' needs CUDA GPUs; on a CPU machine "
                               'launch with torchrun (tools/dist_train.sh, --launcher pytorch)')
    if not dist.is_initialized():
        dist.init_process_group('gloo')  # env:// from torchrun
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper['type'] = 'CPUDistributedDataParallel'
    cfg.model_wrapper_cfg = wrapper
