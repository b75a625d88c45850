"""Checkpoints by name from the Hugging Face Hub: timm's notation and the hub's file URLs.

Registered with MMEngine's ``CheckpointLoader``, so they work wherever a checkpoint is
taken (``load_from``, ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix=...)``,
``tools/test.py CONFIG CHECKPOINT``, the demo, :func:`mmdla.apis.init_model`, the
inferencers):

- ``hf-hub:timm/dla34.in1k`` (timm's notation; ``@REVISION`` may follow): the repository's
  ``model.safetensors``, else its ``pytorch_model.bin``;
- ``https://huggingface.co/timm/dla34.in1k/resolve/main/model.safetensors`` (or any file
  of a repository, ``/resolve/`` or ``/blob/``).

``huggingface_hub`` downloads the file into its cache (``HF_HOME``; progress bar; a
download is written to a temporary file and checked against the size the hub announces
before it enters the cache, so a partial one is never used; ``HF_HUB_OFFLINE=1`` and
``HF_ENDPOINT`` work as everywhere). The file is read safely (safetensors, or
``torch.load(weights_only=True)``) and converted in memory like any local file
(:mod:`mmdla.models.checkpoint_io`): timm's ImageNet weights become an mmdla classifier
checkpoint (``backbone.*``, ``head.fc.*``, ImageNet class names).
"""
import re
from typing import Optional, Sequence, Tuple

from mmengine.runner.checkpoint import CheckpointLoader

from mmdla.errors import CheckpointError, ConfigInputError, MissingPackageError
from .checkpoint_io import as_mmdla_checkpoint, first_line, read_checkpoint

__all__ = ['HUB_PREFIX', 'WEIGHT_FILES', 'parse_hub_name', 'parse_hub_url', 'hub_file']

HUB_PREFIX = 'hf-hub:'
#: the weights files of a timm hub repository, the preferred (safe, fast) one first
WEIGHT_FILES = ('model.safetensors', 'pytorch_model.bin')
_HUB_URL = re.compile(r'^https?://huggingface\.co/(?P<repo>[\w.-]+/[\w.-]+)/(?:resolve|blob)/'
                      r'(?P<revision>[^/]+)/(?P<filename>[^?#]+)')


def parse_hub_name(name: str) -> Tuple[str, Optional[str]]:
    """``'hf-hub:timm/dla34.in1k[@REV]'`` -> (``'timm/dla34.in1k'``, ``REV`` or None)."""
    repo_id, _, revision = name[len(HUB_PREFIX):].partition('@')
    if not re.fullmatch(r'[\w.-]+/[\w.-]+', repo_id):
        raise ConfigInputError(f"'{name}' is not a hub name: write hf-hub:OWNER/REPO, e.g. "
                               'hf-hub:timm/dla34.in1k')
    return repo_id, revision or None


def parse_hub_url(url: str) -> Tuple[str, str, str]:
    """``https://huggingface.co/REPO/resolve/REV/FILE`` -> (REPO, REV, FILE)."""
    match = _HUB_URL.match(url)
    if match is None:
        raise ConfigInputError(
            f"'{url}' is not a hub file URL: write https://huggingface.co/OWNER/REPO/resolve/"
            'main/model.safetensors, or hf-hub:OWNER/REPO')
    return match['repo'], match['revision'], match['filename']


def _manual_fetch(repo_id: str, filename: str) -> str:
    local = f'checkpoints/{repo_id.split("/")[-1]}'
    return (f'fetch it by hand: hf download {repo_id} {filename} --local-dir {local}, then give '
            f'{local}/{filename} as the checkpoint')


def hub_file(repo_id: str, filenames: Sequence[str], revision: Optional[str] = None) -> str:
    """The local path of the first of ``filenames`` that repository ``repo_id`` holds,
    downloaded into (or read from) huggingface_hub's cache. Raises
    :class:`CheckpointError` in one line: the repository or file does not exist, the
    download failed (the URL), or there is neither network nor a cached copy (how to fetch
    it by hand)."""
    try:
        from huggingface_hub import errors, hf_hub_download, hf_hub_url
    except ImportError:
        raise MissingPackageError(f'loading {repo_id} from the Hugging Face Hub needs '
                                  'huggingface_hub: pip install huggingface_hub') from None
    remote_missing = getattr(errors, 'RemoteEntryNotFoundError', errors.EntryNotFoundError)
    not_cached = []
    for filename in filenames:
        url = hf_hub_url(repo_id, filename, revision=revision)
        try:  # (once the hub proved unreachable, only the cache is asked: no more retries)
            return hf_hub_download(
                repo_id, filename, revision=revision, local_files_only=bool(not_cached))
        except errors.LocalEntryNotFoundError:  # offline / unreachable, not in the cache
            not_cached.append(filename)
        except errors.RevisionNotFoundError:
            raise CheckpointError(f'{repo_id} has no revision {revision!r} ({url})') from None
        except errors.RepositoryNotFoundError:
            raise CheckpointError(f"the hub has no repository '{repo_id}' ({url}): check the "
                                  'name, e.g. hf-hub:timm/dla34.in1k') from None
        except remote_missing:
            continue  # the repository lacks this file: try the next one
        except (OSError, ValueError) as exc:  # HTTP errors, size check of a partial download
            raise CheckpointError(f'downloading {url} failed ({first_line(exc)}); '
                                  'nothing of it was kept: retry, or ' +
                                  _manual_fetch(repo_id, filename)) from None
    if not_cached:
        from huggingface_hub import constants
        offline = getattr(constants, 'is_offline_mode', lambda: constants.HF_HUB_OFFLINE)()
        why = ' (HF_HUB_OFFLINE is set)' if offline else ' (HF_HUB_OFFLINE=1: fail at once)'
        raise CheckpointError(f'{repo_id}: {not_cached[0]} is not in the Hugging Face cache '
                              f'({constants.HF_HUB_CACHE}) and the hub cannot be reached'
                              f'{why}; ' + _manual_fetch(repo_id, not_cached[0]))
    raise CheckpointError(f'hub repository {repo_id} holds none of {", ".join(filenames)}')


def load_from_hub(source: str, map_location=None):
    """MMEngine loader of ``hf-hub:OWNER/REPO[@REV]`` (its :data:`WEIGHT_FILES`) and of
    ``https://huggingface.co/OWNER/REPO/resolve/REV/FILE``."""
    if source.startswith(HUB_PREFIX):
        (repo_id, revision), filenames = parse_hub_name(source), WEIGHT_FILES
    else:
        repo_id, revision, filename = parse_hub_url(source)
        filenames = [filename]
    path = hub_file(repo_id, filenames, revision)
    return as_mmdla_checkpoint(read_checkpoint(path, map_location), source)


CheckpointLoader.register_scheme(
    prefixes=[HUB_PREFIX, 'https://huggingface.co/', 'http://huggingface.co/'],
    loader=load_from_hub,
    force=True)
