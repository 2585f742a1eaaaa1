"""A look at an ``.npz`` file's array headers before any array is read.

``numpy.load`` allocates an array from the shape its header declares before it reads the data, so a
20-byte member declaring shape (2**40,) asks for 4 TiB. :func:`check_npz` reads only the headers
(and the zip directory) and refuses such a file in one line, so a user's inputs file (``check
--inputs``, a finding's ``inputs.npz``) is bounded by the graph's own size cap. It belongs next to
:func:`fuzzer.case.load_inputs`, which should call it.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from fuzzer.case import InputsFormatError
from fuzzer.ir.graph import MAX_NUMEL

#: All arrays of one file together: the graph's inputs hold at most MAX_NUMEL elements of at most
#: 8 bytes (float64, int64).
MAX_NPZ_BYTES = MAX_NUMEL * 8
MAX_MEMBERS = 1024


def check_npz(path: Path) -> None:
    """Raise :class:`InputsFormatError` unless ``path`` is a zip of ``.npy`` members whose headers
    declare plain (non-object) arrays of at most :data:`MAX_NPZ_BYTES` together."""
    try:
        if not zipfile.is_zipfile(path):
            raise InputsFormatError(f"{path}: not a readable .npz file (not a zip of .npy arrays, as numpy.savez writes)")
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
            if len(members) > MAX_MEMBERS:
                raise InputsFormatError(f"{path}: {len(members)} arrays, more than {MAX_MEMBERS}")
            total = 0
            for m in members:
                with z.open(m) as f:
                    total += _declared_bytes(f, path, m.filename)
                if total > MAX_NPZ_BYTES:
                    raise InputsFormatError(f"{path}: its arrays declare more than {MAX_NPZ_BYTES} bytes together")
    except FileNotFoundError:
        raise InputsFormatError(f"{path}: no such file") from None
    except (OSError, zipfile.BadZipFile, EOFError, RuntimeError, NotImplementedError) as e:
        raise InputsFormatError(f"{path}: not a readable .npz file ({str(e)[:120]})") from None


def _declared_bytes(f, path: Path, name: str) -> int:
    where = f"{path}: array {name[:60]!r}"
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise InputsFormatError(f"{where} has .npy format version {version}, expected 1.0 or 2.0")
    except InputsFormatError:
        raise
    except Exception as e:  # noqa: BLE001 - numpy parses the header text as a Python literal: any error means "not a header"
        raise InputsFormatError(f"{where} has no readable .npy header ({type(e).__name__}: {str(e)[:120]})") from None
    if dtype.hasobject:
        raise InputsFormatError(f"{where} holds Python objects (pickled data is never loaded)")
    n = dtype.itemsize
    for d in shape:
        n *= d
        if n > MAX_NPZ_BYTES:
            raise InputsFormatError(f"{where} declares shape {shape!r:.80}: more than {MAX_NPZ_BYTES} bytes")
    return n
