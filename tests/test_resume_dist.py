"""Fault safety and distributed training on CPU, with the real tools in subprocesses.

* A toy run killed with SIGKILL while a checkpoint is being written leaves no truncated
  checkpoint for ``--resume`` (AtomicCheckpointHook), and the resumed run ends with weights
  bit-identical to an uninterrupted run (the toy config is deterministic).
* ``tools/dist_train.sh`` with 2 processes (gloo, SyncBN reverted to BN) trains, validates
  and saves a checkpoint without ``find_unused_parameters``.
"""
import os
import signal
import socket
import subprocess
import sys

import pytest
import torch

from tests.helpers import ROOT, SMALL_SEG, data_root_options, run_tool_main

#: the small segmentation model (SMALL_SEG) trains fast: a kill after the second checkpoint
#: still leaves half of the run to be resumed
MAX_ITERS, CHECKPOINT_EVERY = 16, 4


def toy_data(tmp_path):
    data = tmp_path / 'toy'
    run_tool_main('tools/misc/make_toy_data.py', data, '--num-train', '16', '--num-val', '4')
    return data


def train_args(data, work):
    return [
        'tools/train.py', 'configs/dla34_toy.py', '--work-dir',
        str(work), '--cfg-options', f'train_cfg.max_iters={MAX_ITERS}',
        f'train_cfg.val_interval={MAX_ITERS}',
        f'default_hooks.checkpoint.interval={CHECKPOINT_EVERY}',
        'default_hooks.checkpoint.max_keep_ckpts=1',
        *data_root_options(data, ('train_dataloader', 'val_dataloader')), *SMALL_SEG
    ]


def final_weights(work):
    ckpt = torch.load(work / f'iter_{MAX_ITERS}.pth', map_location='cpu', weights_only=False)
    return ckpt['state_dict']


def assert_identical(a, b):
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert different == [], f'{len(different)} tensors differ, e.g. {different[:3]}'


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """Data and the weights of an uninterrupted run (in this process: the same weights as in
    a fresh one, which the resumed runs below are)."""
    tmp = tmp_path_factory.mktemp('reference')
    data = toy_data(tmp)
    run_tool_main(*train_args(data, tmp / 'work'))
    return data, final_weights(tmp / 'work')


KILL_DURING_SAVE = """
import os, runpy, signal, sys
import mmengine.runner.runner as runner_module
original = runner_module.save_checkpoint
calls = []

def save_then_die(checkpoint, filename, *args, **kwargs):
    calls.append(filename)
    if len(calls) == 2:  # the second checkpoint: write half of it, then SIGKILL
        original(checkpoint, filename, *args, **kwargs)
        size = os.path.getsize(filename)
        with open(filename, 'r+b') as f:
            f.truncate(size // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    return original(checkpoint, filename, *args, **kwargs)

runner_module.save_checkpoint = save_then_die
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
"""


@pytest.mark.slow
def test_sigkill_while_saving_then_resume_is_bit_identical(reference, tmp_path):
    """SIGKILL half-way through writing the second checkpoint (the worst moment of a kill:
    the process dies between two iterations with a file open): no truncated checkpoint is
    left for --resume, and the resumed run ends with the uninterrupted run's weights."""
    data, expected = reference
    work = tmp_path / 'work'
    proc = subprocess.run([sys.executable, '-c', KILL_DURING_SAVE, *train_args(data, work)],
                          cwd=ROOT,
                          capture_output=True,
                          text=True,
                          timeout=900)
    assert proc.returncode == -signal.SIGKILL
    names = sorted(p.name for p in work.iterdir() if p.suffix in ('.pth', '.tmp'))
    assert names == ['.iter_8.pth.tmp', 'iter_4.pth'], names  # half-written file is a tmp
    assert (work / 'last_checkpoint').read_text().endswith('iter_4.pth')
    torch.load(work / 'iter_4.pth', map_location='cpu', weights_only=False)  # complete
    out = run_tool_main(*train_args(data, work), '--resume')
    assert 'resumed' in out.lower(), out[-2000:]
    assert_identical(final_weights(work), expected)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_distributed_training_on_cpu(tmp_path):
    data = toy_data(tmp_path)
    work = tmp_path / 'work'
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1')
    args = train_args(data, work)[2:]  # after tools/train.py CONFIG
    proc = subprocess.run([
        'bash', 'tools/dist_train.sh', 'configs/dla34_toy.py', '2', *args[:2], '--cfg-options',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=4', 'default_hooks.checkpoint.interval=4',
        'model.backbone.norm_cfg.type=SyncBN', 'model.decode_head.norm_cfg.type=SyncBN',
        *[a for a in args[3:] if 'data_root' in a], *SMALL_SEG
    ],
                          cwd=ROOT,
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert (work / 'iter_4.pth').exists()
    assert 'SyncBN needs CUDA: reverted to BatchNorm' in log
    assert 'mIoU' in log and 'find_unused_parameters' not in log
    run_log = next(work.glob('*/*.log')).read_text()
    assert 'Distributed training: True' in run_log and 'GPU number: 2' in run_log
    assert "model_wrapper_cfg = dict(type='CPUDistributedDataParallel')" in run_log
