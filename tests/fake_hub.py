"""A Hugging Face Hub for the tests, without network: the cache layout huggingface_hub
reads offline, and an HTTP server on 127.0.0.1 that answers file requests the way the hub
does (``HEAD`` / ``GET /{repo}/resolve/{revision}/{file}`` with ``X-Repo-Commit``, ``ETag``
and ``Content-Length``; 404 with ``X-Error-Code`` for a missing repository or file).
"""
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import torch

COMMIT = 'a' * 40  # the revision the fake repositories are at


def safetensors_bytes(model: torch.nn.Module) -> bytes:
    """timm's ``model.safetensors`` of ``model`` (its state dict, as timm publishes it)."""
    from safetensors.torch import save
    return save({k: v.contiguous() for k, v in model.state_dict().items()})


def write_cached_file(hf_home: Path, repo_id: str, filename: str, data: bytes) -> Path:
    """Put ``data`` into the hub cache below ``hf_home`` as huggingface_hub stores a
    download: ``hub/models--{owner}--{name}/blobs/{etag}``, ``snapshots/{commit}/{filename}``
    (a link to the blob) and ``refs/main`` (the commit)."""
    repo = hf_home / 'hub' / ('models--' + repo_id.replace('/', '--'))
    blob = repo / 'blobs' / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    snapshot = repo / 'snapshots' / COMMIT / filename
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.symlink_to(Path('../../blobs') / blob.name)
    (repo / 'refs').mkdir(exist_ok=True)
    (repo / 'refs' / 'main').write_text(COMMIT)
    return snapshot


class FakeHub:
    """A threaded HTTP server serving ``files`` ({(repo_id, filename): bytes}).

    ``requests`` counts the requests per (method, path). For a file named in
    ``truncate_once``, ``HEAD`` announces the full size but the next ``GET`` sends only the
    first half (with a consistent ``Content-Length``, as a cut proxy response); later
    ``GET`` requests send it whole."""

    def __init__(self, files: dict):
        self.files, self.truncate_once, self.requests = dict(files), set(), {}
        hub = self

        class Handler(BaseHTTPRequestHandler):

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                self._answer(body=False)

            def do_GET(self):
                self._answer(body=True)

            def _answer(self, body: bool):
                key = (self.command, self.path.split('?')[0])
                hub.requests[key] = hub.requests.get(key, 0) + 1
                parts = key[1].strip('/').split('/')
                repos = {repo for repo, _ in hub.files}
                if len(parts) < 5 or parts[2] != 'resolve' or '/'.join(parts[:2]) not in repos:
                    return self._error('RepoNotFound')
                repo, filename = '/'.join(parts[:2]), '/'.join(parts[4:])
                data = hub.files.get((repo, filename))
                if data is None:
                    return self._error('EntryNotFound')
                sent = data
                if body and (repo, filename) in hub.truncate_once:
                    hub.truncate_once.discard((repo, filename))
                    sent = data[:len(data) // 2]
                self.send_response(200)
                self.send_header('X-Repo-Commit', COMMIT)
                self.send_header('ETag', f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header('Content-Length', str(len(sent)))
                self.send_header('Content-Type', 'application/octet-stream')
                self.end_headers()
                if body:
                    self.wfile.write(sent)

            def _error(self, code: str):
                self.send_response(404)
                self.send_header('X-Error-Code', code)
                self.send_header('X-Error-Message', f'{code} (fake hub)')
                self.send_header('Content-Length', '0')
                self.end_headers()

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def gets(self, repo_id: str, filename: str) -> int:
        return self.requests.get(('GET', f'/{repo_id}/resolve/main/{filename}'), 0)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
