#!/usr/bin/env python
"""Make a trained checkpoint ready to publish: weights and meta only, hash in the name.

    python tools/misc/publish_model.py IN.pth OUT.pth

Keeps ``state_dict`` and ``meta`` (config text, dataset_meta with the class names, seed,
versions) and drops everything else MMEngine saves for resuming - ``optimizer``,
``message_hub``, ``param_schedulers`` (and any other key). Writes
``OUT-<first 8 hex digits of the SHA-256 of the written file>.pth`` (mmseg's naming, the
hash ``torch.hub`` checks) and prints its path. IN is never modified or overwritten.
"""
import argparse
import os
import os.path as osp
import tempfile

import mmdla  # noqa: F401  (compat fixes + registration)

# isort: split
import torch

from mmdla.cli import exit_on_input_error
from mmdla.compat import load_checkpoint_file
from mmdla.errors import CheckpointError, ConfigInputError
from mmdla.utils.files import sha256sum

KEEP = ('state_dict', 'meta')


def published_name(out_file: str, sha: str) -> str:
    """``OUT-<sha[:8]>.pth`` (``.pth`` replaced, not stripped character-wise)."""
    stem = out_file[:-len('.pth')] if out_file.endswith('.pth') else out_file
    return f'{stem}-{sha[:8]}.pth'


def _same_file(a: str, b: str) -> bool:
    return osp.exists(a) and osp.exists(b) and osp.samefile(a, b)


def process_checkpoint(in_file: str, out_file: str) -> str:
    """Write the stripped checkpoint; returns the final path."""
    if _same_file(in_file, out_file):
        raise ConfigInputError(f"OUT '{out_file}' is IN: give another file name (IN is never "
                               'overwritten)')
    if osp.isdir(out_file) or out_file.endswith(os.sep):
        raise ConfigInputError(f"OUT '{out_file}' is a directory: give the output file name, "
                               'e.g. dla34_toy.pth')
    out_dir = osp.dirname(osp.abspath(out_file))
    if not osp.isdir(out_dir):
        raise ConfigInputError(f"OUT '{out_file}': directory '{out_dir}' does not exist")
    checkpoint = load_checkpoint_file(in_file, map_location='cpu')
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get('state_dict'), dict):
        raise CheckpointError(f"checkpoint '{in_file}' has no state_dict: give an MMEngine "
                              'checkpoint (tools/train.py writes them)')
    dropped = sorted(k for k in checkpoint if k not in KEEP)
    published = {k: checkpoint[k] for k in KEEP if k in checkpoint}
    # NOTE: mmseg hashes IN (the hash then does not describe the published file) and
    # strips '.pth' character-wise; here the hash is of the file written.
    fd, tmp = tempfile.mkstemp(suffix='.pth', dir=out_dir)
    try:
        # saved through a file object: the zip's root is 'archive' whatever the file is
        # called, so the same weights give the same bytes (and hash) under any name
        with os.fdopen(fd, 'wb') as f:
            torch.save(published, f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates it private
        final = published_name(out_file, sha256sum(tmp))
        if _same_file(in_file, final):
            raise ConfigInputError(f"the published file would be IN '{in_file}': give another "
                                   'OUT name')
        os.replace(tmp, final)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    size = osp.getsize(final) / 2**20
    print(f"dropped {', '.join(dropped) or 'nothing'}; kept {', '.join(published)}")
    print(f'published {final} ({size:.1f} MiB, from {osp.getsize(in_file) / 2**20:.1f} MiB)')
    return final


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Process a checkpoint to be published')
    parser.add_argument('in_file', help='input checkpoint (left unchanged)')
    parser.add_argument('out_file', help='output name; OUT-<sha256[:8]>.pth is written')
    return parser.parse_args(argv)


@exit_on_input_error
def main(argv=None):
    args = parse_args(argv)
    return process_checkpoint(args.in_file, args.out_file)


if __name__ == '__main__':
    main()
