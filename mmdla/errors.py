"""The errors that describe a user's input, and how the tools report them.

Every error caused by what a user gave mmdla - a config, a data file, a checkpoint, a file
to convert - is an :class:`InputError`. Its message names the thing and the fix in one
line. The tools (``tools/*.py``, ``demo/``) wrap their ``main`` in
:func:`mmdla.cli.exit_on_input_error`: an :class:`InputError` becomes ``error: <message>``
on stderr and exit code 2, anything else keeps its traceback (a bug, not bad input).

This module is a leaf: it imports nothing from mmdla or OpenMMLab.
"""
import re
from typing import Optional

__all__ = [
    'InputError', 'ConfigInputError', 'DataError', 'CheckpointError', 'CheckpointMismatchError',
    'ArchError', 'ShapeError', 'MissingPackageError', 'input_error_message'
]


class InputError(Exception):
    """Base class: the user's input (config, data, checkpoint, conversion) is wrong."""


class ConfigInputError(InputError, ValueError):
    """A config value, or a file or directory a config refers to, is missing or unusable."""


class ArchError(ConfigInputError):
    """An unknown DLA arch or an inconsistent custom arch / backbone argument."""


class ShapeError(InputError, ValueError):
    """An input tensor or input size the model cannot take (channels, too small, ...)."""


class MissingPackageError(InputError, ImportError):
    """A feature that needs a package which is not installed (the message says how to)."""


class DataError(InputError, ValueError):
    """A data file (image, label map) that is corrupt or does not fit the dataset."""


class CheckpointError(InputError, ValueError):
    """A checkpoint file that cannot be read (missing, truncated, corrupt, not a checkpoint)."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose tensors do not fit the model (or no DLA arch at all)."""


# MMEngine's registry re-raises a constructor's error as the same type with
# "class `X` in module: " in front, once per nesting level (EncoderDecoder -> DLA).
_REGISTRY_PREFIX = re.compile(r'^(?:class `\w+` in [\w.]+: )+')
# NOTE: mmcv's LoadImageFromFile fails with a bare AssertionError; its text is the one
# foreign message recognised (configs keep mmcv's loader so the inferencers still work).
_IMAGE_ERROR = re.compile(r'failed to load image: (\S+)')
_WORKER_PREFIX = re.compile(r'^[\w.]*Error: ')  # 'mmdla.errors.DataError: ' in a worker's text


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text


def input_error_message(exc: BaseException) -> Optional[str]:
    """The one-line message of an error caused by bad input, else None.

    A DataLoader worker's error reaches the main process rebuilt as the same type with the
    worker's traceback in its text; the original message is then its last line.
    """
    if isinstance(exc, InputError):
        line = _last_line(str(exc))
        return _REGISTRY_PREFIX.sub('', _WORKER_PREFIX.sub('', line))
    images = _IMAGE_ERROR.findall(str(exc))  # the last one: a worker traceback quotes code
    if images:
        return (f'cannot read image {images[-1]}: the file is corrupt, truncated or not '
                'an image; replace or remove it')
    return None
