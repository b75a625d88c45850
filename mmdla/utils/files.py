"""File helpers of the checkpoint tools (converter, publish_model)."""
import hashlib

BLOCK_SIZE = 1 << 20


def sha256sum(path: str) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(BLOCK_SIZE), b''):
            digest.update(block)
    return digest.hexdigest()
