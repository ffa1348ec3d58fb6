"""The mvfit export format (docs/export-format.md): one Django-free package that defines, writes and reads it.

* :mod:`exportformat.schema` — every table, column and manifest key, with types, nullability, allowed
  values and meaning; the format version.
* :func:`write_export` — CSV + Parquet twins + ``manifest.json`` (provenance, versions, counts,
  checksums), each file written atomically.
* :func:`read_export` — typed pandas DataFrames, validated with pandera against the schema; clear errors
  that name the file, column and line.
* ``python -m exportformat check DIR`` verifies an export; ``python -m exportformat doc`` regenerates the
  format document's tables from the schema.

The platform's exporter (``experiments``), ``analysis/`` (loader and crowd simulator) and ``training/``
(reader and synthetic writer) all go through this package; nothing else writes or parses the files.
It imports neither Django nor any mvfit app. ``schema`` is plain Python; pandas, pyarrow and pandera are
loaded when the reading and writing functions are first used (``exportformat.read_export`` etc.).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from exportformat import schema
from exportformat.errors import ExportError
from exportformat.schema import FORMAT_NAME, FORMAT_VERSION, TABLES

if TYPE_CHECKING:
    from exportformat.frames import empty_table
    from exportformat.manifest import read_manifest
    from exportformat.read import Export, read_export, read_table, verify_export
    from exportformat.write import WrittenExport, prepare_table, write_export, write_table

_LAZY = {
    "Export": "exportformat.read",
    "read_export": "exportformat.read",
    "read_table": "exportformat.read",
    "read_manifest": "exportformat.manifest",
    "verify_export": "exportformat.read",
    "WrittenExport": "exportformat.write",
    "write_export": "exportformat.write",
    "write_table": "exportformat.write",
    "prepare_table": "exportformat.write",
    "empty_table": "exportformat.frames",
}

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "TABLES",
    "Export",
    "ExportError",
    "WrittenExport",
    "empty_table",
    "prepare_table",
    "read_export",
    "read_manifest",
    "read_table",
    "schema",
    "verify_export",
    "write_export",
    "write_table",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'exportformat' has no attribute {name!r}")
