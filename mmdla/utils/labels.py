"""Label-value checks shared by the label loading transform and the decode head."""
from typing import Optional

from mmdla.errors import DataError


def first_invalid_label(labels, num_classes: int, ignore_index: int) -> Optional[int]:
    """The first value of ``labels`` (a numpy array or a tensor) outside
    ``0 .. num_classes - 1`` that is not ``ignore_index``, or None if there is none."""
    invalid = ((labels < 0) | (labels >= num_classes)) & (labels != ignore_index)
    if not invalid.any():
        return None
    return int(labels[invalid].reshape(-1)[0])


def check_labels(labels, num_classes: int, ignore_index: int, source: str, fix: str) -> None:
    """A :class:`~mmdla.errors.DataError` "<source> has value v outside 0..n-1 (ignore
    index i): <fix>" for the first invalid value of ``labels`` (see
    :func:`first_invalid_label`); nothing if every value is valid."""
    value = first_invalid_label(labels, num_classes, ignore_index)
    if value is not None:
        raise DataError(f'{source} has value {value} outside 0..{num_classes - 1} (ignore index '
                        f'{ignore_index}): {fix}')
