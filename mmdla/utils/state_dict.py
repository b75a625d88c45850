"""How a set of named tensors differs from what a model expects (names and shapes).

Shared by the checkpoint converter, the backbone's strict ``Pretrained`` loading and the
tools' checkpoint checks, so that every mismatch is reported the same way.
"""
from dataclasses import dataclass
from typing import Iterable, Mapping


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
        return cls(set(expected_shapes) - set(tensors), set(tensors) - set(expected_shapes),
                   {k: (tuple(tensors[k].shape), tuple(expected_shapes[k])) for k in common
                    if tuple(tensors[k].shape) != tuple(expected_shapes[k])})

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
            details.append('wrong shape: ' + summarise(
                f'{k} {found} != {expected}' for k, (found, expected) in self.wrong_shape.items()))
        return '; '.join(details)
