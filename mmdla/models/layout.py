"""Memory layout of the DLA models: channels_last (NHWC) by default.

On CPUs (oneDNN) as on GPUs (cuDNN), convolutions run fastest on NHWC ("channels_last")
tensors. :class:`~mmdla.models.DLA` and :class:`~mmdla.models.DLAUpHead` keep their conv
weights in the layout given by their ``memory_format`` argument and convert their input to
it, so the model built from a config is already the fast one. Only the layout changes:
the values are the same up to the order of float additions inside a convolution.
"""
import torch
import torch.nn as nn

from mmdla.errors import ConfigInputError

MEMORY_FORMATS = {'channels_last': torch.channels_last, 'contiguous': torch.contiguous_format}


def memory_format_of(name: str) -> torch.memory_format:
    """``'channels_last'`` (the default of every mmdla module) or ``'contiguous'`` (NCHW)."""
    if name not in MEMORY_FORMATS:
        raise ConfigInputError(f"memory_format must be one of {sorted(MEMORY_FORMATS)}, got "
                               f'{name!r}')
    return MEMORY_FORMATS[name]


def apply_memory_format(module: nn.Module, memory_format: torch.memory_format) -> nn.Module:
    """Store every 4-D parameter and buffer of ``module`` in ``memory_format`` (in place:
    later in-place initialisation and ``load_state_dict`` keep the layout)."""
    return module.to(memory_format=memory_format)
