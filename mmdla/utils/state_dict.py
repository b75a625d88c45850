"""State dicts: the tensor dict inside a checkpoint, and how a set of named tensors differs
from what a model expects (names and shapes).

Shared by the checkpoint converter, the backbone's strict ``Pretrained`` loading and the
tools' checkpoint checks, so that every mismatch is reported the same way.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, Mapping

import torch

from mmdla.errors import CheckpointMismatchError


def summarise(names: Iterable[str], limit: int = 8) -> str:
    """The first ``limit`` sorted names, comma separated, with '(+N more)'."""
    names = sorted(names)
    more = f' ... (+{len(names) - limit} more)' if len(names) > limit else ''
    return ', '.join(names[:limit]) + more


@dataclass
class Mismatch:
    """Missing, unexpected and mis-shaped names of ``tensors`` against ``expected_shapes``."""
    missing: set
    unexpected: set
    wrong_shape: dict  # name -> (found shape, expected shape)

    @classmethod
    def between(cls, tensors: Mapping, expected_shapes: Mapping) -> 'Mismatch':
        """``tensors``: name -> tensor; ``expected_shapes``: name -> shape."""
        common = set(tensors) & set(expected_shapes)
        return cls(
            set(expected_shapes) - set(tensors),
            set(tensors) - set(expected_shapes), {
                k: (tuple(tensors[k].shape), tuple(expected_shapes[k]))
                for k in common if tuple(tensors[k].shape) != tuple(expected_shapes[k])
            })

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shape)

    @property
    def size(self) -> int:
        return len(self.missing) + len(self.unexpected) + len(self.wrong_shape)

    def describe(self) -> str:
        details = []
        if self.missing:
            details.append(f'missing {len(self.missing)}: {summarise(self.missing)}')
        if self.unexpected:
            details.append(f'unexpected {len(self.unexpected)}: {summarise(self.unexpected)}')
        if self.wrong_shape:
            details.append('wrong shape: ' +
                           summarise(f'{k} {found} != {expected}'
                                     for k, (found, expected) in self.wrong_shape.items()))
        return '; '.join(details)


def unwrap_state_dict(checkpoint: Mapping) -> Dict[str, torch.Tensor]:
    """The tensor dict of a plain state dict or one wrapped in 'state_dict' / 'model';
    a DataParallel ``module.`` prefix is removed."""
    if not isinstance(checkpoint, Mapping):
        raise CheckpointMismatchError(f'expected a state dict (a mapping of names to tensors), got '
                                      f'{type(checkpoint).__name__}')
    for wrapper in ('state_dict', 'model'):
        if wrapper in checkpoint and isinstance(checkpoint[wrapper], Mapping):
            checkpoint = checkpoint[wrapper]
            break
    state_dict = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if state_dict and all(k.startswith('module.') for k in state_dict):
        state_dict = {k[len('module.'):]: v for k, v in state_dict.items()}
    return state_dict
