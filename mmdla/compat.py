"""Compatibility fixes for the tested CPU stack (torch 2.13 CPU + OpenMMLab 2.x).

Every fix here is guarded so that it changes nothing on an installation that does not need
it (a CUDA build of torch with its matching torchvision, an older torch, ...). Nothing in
site-packages is patched; the fixes act at import time of :mod:`mmdla`, which configs load
through ``custom_imports`` before MMEngine builds the Runner.

1. ``torchvision`` beside a CPU torch. PyPI's torchvision 0.28.0 wheel is CUDA-linked; next
   to the CPU torch its compiled ops cannot load and ``import torchvision`` dies with
   "operator torchvision::nms does not exist" (mmpretrain, timm and MMEngine's environment
   logging all import it). Declaring the two op schemas torchvision registers Python fakes
   for lets it import; its C++ ops stay unusable (mmcv.ops provides what we need).
   Applied only when torch is a CPU build AND torchvision's ``_C`` library fails to load.

2. ``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and MMEngine 0.10.7
   checkpoints (``resume=True``, ``load_from``) hold a few non-tensor objects (the message
   hub's ``HistoryBuffer``, numpy arrays/scalars/dtypes of logged values, and
   ``getattr(HistoryBuffer, 'mean')``-style references to its statistics methods). We keep
   ``weights_only=True`` and allow-list exactly those globals in
   :func:`load_checkpoint_file`, which MMEngine's local-file loader runs (mmdla registers
   it: :mod:`mmdla.models.checkpoint_io`); ``getattr`` is replaced by a version that only
   returns those HistoryBuffer methods, so allowing it opens nothing else. This is safer
   than disabling the check for every load (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``). On a
   torch without ``torch.serialization.safe_globals`` (< 2.5) nothing is allow-listed.
"""
import glob
import importlib.util
import os.path as osp
import pickle
import sys

import torch

from .errors import CheckpointError

__all__ = [
    'torchvision_fix_needed', 'MMENGINE_CHECKPOINT_GLOBALS', 'check_checkpoint_path',
    'load_checkpoint_file'
]


def torchvision_fix_needed() -> bool:
    """True when torch is a CPU build and torchvision's C++ extension cannot be loaded."""
    if torch.version.cuda is not None:
        return False
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return False
    if 'torchvision' in sys.modules:
        return False  # already imported: too late to help, and it evidently worked
    libs = glob.glob(osp.join(spec.submodule_search_locations[0], '_C*.so'))
    if not libs:
        return False
    try:
        torch.ops.load_library(libs[0])
    except (OSError, RuntimeError):
        return True
    return False


def _fix_torchvision():
    if not torchvision_fix_needed():
        return
    try:
        torch.library.define('torchvision::nms',
                             '(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
        torch.library.define('torchvision::qnms',
                             '(Tensor qdets, Tensor scores, float iou_threshold) -> Tensor')
    except RuntimeError:  # already defined (e.g. imported twice in odd ways)
        pass


def _history_buffer_getattr(obj, name):
    """The one use of ``getattr`` in MMEngine checkpoints: a HistoryBuffer's
    ``statistics_methods`` hold its methods (pickled as ``getattr(HistoryBuffer, 'mean')``).
    Anything else is refused."""
    from mmengine.logging import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean'} | set(
        getattr(HistoryBuffer, '_statistics_methods', {}))
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({obj!r}, {name!r}), which is not part of an MMEngine '
        'checkpoint; refusing to load it with weights_only=True')


def _mmengine_checkpoint_globals():
    """The non-tensor globals an MMEngine checkpoint contains (see module docstring)."""
    import numpy as np
    from mmengine.logging import HistoryBuffer
    np_core = getattr(np, '_core', None) or np.core
    allowed = [
        HistoryBuffer, np_core.multiarray._reconstruct, np_core.multiarray.scalar, np.ndarray,
        np.dtype, (_history_buffer_getattr, 'builtins.getattr'),
        (_history_buffer_getattr, '__builtin__.getattr')
    ]
    # numpy >= 1.25 pickles dtypes by their class, e.g. numpy.dtypes.Float64DType
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        allowed += [getattr(dtypes, name) for name in dir(dtypes) if name.endswith('DType')]
    return allowed


MMENGINE_CHECKPOINT_GLOBALS = []


def check_checkpoint_path(filename) -> None:
    """:class:`~mmdla.errors.CheckpointError` unless ``filename`` is an existing file."""
    if not osp.isfile(filename):
        what = 'is a directory, not a checkpoint file' if osp.isdir(filename) else \
            'does not exist'
        raise CheckpointError(f"checkpoint '{filename}' {what}")


def load_checkpoint_file(filename, map_location=None, mmap: bool = False):
    """``torch.load`` with ``weights_only=True`` plus MMEngine's own objects allowed.

    A missing, truncated or corrupt file, or one holding objects outside the allow-list,
    raises :class:`~mmdla.errors.CheckpointError` naming the file.
    """
    check_checkpoint_path(filename)
    safe_globals = getattr(torch.serialization, 'safe_globals', None)
    if safe_globals is None:  # torch < 2.5: weights_only without an allow-list
        return torch.load(filename, map_location=map_location, weights_only=True, mmap=mmap)
    if not MMENGINE_CHECKPOINT_GLOBALS:
        MMENGINE_CHECKPOINT_GLOBALS.extend(_mmengine_checkpoint_globals())
    try:
        with safe_globals(MMENGINE_CHECKPOINT_GLOBALS):
            if mmap:
                return torch.load(filename, map_location=map_location, weights_only=True, mmap=True)
            # (a file object: by name, torch.load reads a file named *.safetensors as one)
            with open(filename, 'rb') as f:
                return torch.load(f, map_location=map_location, weights_only=True)
    except Exception as exc:  # zip, pickle and EOF errors come in many types
        raise CheckpointError(f"cannot read checkpoint '{filename}': "
                              f'{_load_failure(exc)}') from None


def _load_failure(exc: Exception) -> str:
    text = str(exc)
    refusal = [line for line in text.splitlines() if 'not part of an MMEngine' in line]
    if refusal:  # our getattr refusal, wrapped by torch's weights-only message
        return refusal[0].strip().split('UnpicklingError: ')[-1]
    first = (text.splitlines() or [''])[0][:160]
    reason = f' ({type(exc).__name__}{": " + first if first else ""})'
    return ('the file is truncated, corrupt or not a PyTorch checkpoint' + reason +
            '; re-create it (download, convert or train again)')


_fix_torchvision()
