"""A trained model as one uncompressed .npz file: a JSON header and plain arrays, no pickle.

Uncompressed, so that loading maps each array straight from the file (``np.memmap`` at the
member's offset in the zip) instead of reading and inflating it: a CLI ``recommend`` pays
for the pages it touches, not for the whole model.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import scipy.sparse as sp

from tailored.errors import InvalidInput
from tailored.recommend.catalog import CatalogView
from tailored.recommend.interactions import Interactions

if TYPE_CHECKING:
    from tailored.recommend.base import Recommender

__all__ = ["FORMAT_VERSION", "load_model", "model_bytes", "read_header", "save_model"]

FORMAT_VERSION = 1


def _arrays(model: Recommender, metadata: dict[str, Any] | None) -> dict[str, np.ndarray]:
    model._check_fitted()
    data, cat = model.interactions_, model.catalog_
    header = {"format": FORMAT_VERSION, "model": model.name, "params": model.get_params(),
              "metadata": metadata or {}}
    return {
        "header": np.array(json.dumps(header, default=str)),
        "user_ids": data.user_ids.astype(str), "item_ids": data.item_ids.astype(str),
        "x_data": data.matrix.data, "x_indices": data.matrix.indices,
        "x_indptr": data.matrix.indptr, "s_data": data.strongest.data,
        "s_indices": data.strongest.indices, "s_indptr": data.strongest.indptr,
        "titles": cat.titles.astype(str), "available": cat.available,
        "categories": cat.categories.astype(str), "brands": cat.brands.astype(str),
        "prices": cat.prices,
        **({} if data.last_seen is None else {
            "t_data": data.last_seen.data, "t_indices": data.last_seen.indices,
            "t_indptr": data.last_seen.indptr}),
        **{f"m_{k}": v for k, v in model._state().items()},
    }


def write_model(model: Recommender, f: BinaryIO, metadata: dict[str, Any] | None = None
                ) -> None:
    np.savez(f, **_arrays(model, metadata))  # type: ignore[arg-type]  # numpy stubs read **kwds as allow_pickle


def model_bytes(model: Recommender, metadata: dict[str, Any] | None = None) -> bytes:
    """The saved form of ``model``, for a store that keeps models in a table."""
    buffer = io.BytesIO()
    write_model(model, buffer, metadata)
    return buffer.getvalue()


def save_model(model: Recommender, path: Path, metadata: dict[str, Any] | None = None) -> None:
    """Write ``path`` whole or not at all: a reader never sees half a file, and a process
    that has the old file mapped keeps reading the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".npz.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write_model(model, f, metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mapped(path: Path) -> dict[str, np.ndarray] | None:
    """Each array of an uncompressed .npz, memory-mapped; None when a member is compressed
    (files saved by earlier versions), so the caller reads it the ordinary way."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, path.open("rb") as f:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                return None
            f.seek(info.header_offset)
            local = f.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            f.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(f)
            shape, fortran, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                                     else np.lib.format.read_array_header_2_0(f))
            if dtype.hasobject:
                raise InvalidInput(f"{path}: {info.filename} holds Python objects; refusing "
                                   "to load it", field="model")
            name = info.filename[:-4]
            if int(np.prod(shape)) == 0 or dtype.itemsize == 0:
                out[name] = np.zeros(shape, dtype=dtype)
            else:
                out[name] = np.memmap(path, dtype=dtype, mode="r", offset=f.tell(),
                                      shape=shape, order="F" if fortran else "C")
    return out


def _read(source: Path | bytes) -> dict[str, np.ndarray]:
    if isinstance(source, Path):
        try:
            mapped = _mapped(source)
        except (zipfile.BadZipFile, ValueError, struct.error) as error:
            raise InvalidInput(f"{source} is not a saved model ({error}): retrain",
                               field="model") from None
        if mapped is not None:
            return mapped
    with np.load(io.BytesIO(source) if isinstance(source, bytes) else source,
                 allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def read_header(source: Path | bytes) -> dict[str, Any]:
    return dict(json.loads(str(_read(source)["header"][()])))


def load_model(source: Path | bytes) -> Recommender:
    """A model from a file (arrays memory-mapped) or from the bytes a table kept."""
    from tailored.recommend.registry import MODELS

    z = _read(source)
    where = source if isinstance(source, Path) else "the saved model"
    header = json.loads(str(z["header"][()]))
    if header.get("format") != FORMAT_VERSION:
        raise InvalidInput(f"{where} was saved in format {header.get('format')}, this "
                           f"version reads {FORMAT_VERSION}: retrain", field="model")
    model = MODELS[header["model"]](**header["params"])
    shape = (len(z["user_ids"]), len(z["item_ids"]))

    def csr(prefix: str) -> sp.csr_matrix:
        return sp.csr_matrix((z[f"{prefix}_data"], z[f"{prefix}_indices"],
                              z[f"{prefix}_indptr"]), shape=shape)

    data = Interactions(matrix=csr("x"), user_ids=np.asarray(z["user_ids"]),
                        item_ids=np.asarray(z["item_ids"]), strongest=csr("s"),
                        last_seen=csr("t") if "t_data" in z else None)
    catalog = CatalogView(np.asarray(z["titles"]).astype(object), np.asarray(z["available"]),
                          np.asarray(z["categories"]).astype(object),
                          np.asarray(z["brands"]).astype(object), np.asarray(z["prices"]))
    model._loaded(data, catalog, header["metadata"])
    model._restore({k[2:]: v for k, v in z.items() if k.startswith("m_")})
    return model
