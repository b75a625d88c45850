"""Label-value checks shared by the label loading transform and the decode head."""
from typing import Optional


def first_invalid_label(labels, num_classes: int, ignore_index: int) -> Optional[int]:
    """The first value of ``labels`` (a numpy array or a tensor) outside
    ``0 .. num_classes - 1`` that is not ``ignore_index``, or None if there is none."""
    invalid = ((labels < 0) | (labels >= num_classes)) & (labels != ignore_index)
    if not invalid.any():
        return None
    return int(labels[invalid].reshape(-1)[0])
