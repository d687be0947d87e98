"""Screenshots inside the dataset folder, for ``--images``.

Each PNG is copied once into ``<export folder>/images/``, named by its content
(``<first 16 hex digits of its SHA-256>.png``), so an image shared by many rows (the starter's
screenshot is the prompt image of every row of its challenge) is stored once, and the same
screenshot keeps its name from one export to the next. ``images/metadata.jsonl`` holds the
preference pairs with ``chosen_image_file_name``, ``rejected_image_file_name`` and
``images_file_names`` columns: HuggingFace's image-folder loader turns them into ``Image``
columns (``chosen_image``, ``rejected_image``, ``images``), which is how the card's ``pairs``
config yields decoded screenshots.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from vizhub_pipeline.core.atomic import write_bytes_atomic

IMAGES_DIR = "images"
METADATA_FILE = "metadata.jsonl"


class ImageStore:
    """The content-named PNGs of one export folder."""

    def __init__(self, export_folder: Path):
        self.folder = Path(export_folder) / IMAGES_DIR
        self.names: set[str] = set()

    def add(self, png: Path) -> tuple[str, str]:
        """Copy ``png`` in (once) and return ``(its name in images/, its SHA-256)``."""
        data = Path(png).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        name = f"{digest[:16]}.png"
        if name not in self.names:
            target = self.folder / name
            # content-named and written whole: a file of that name and size holds these bytes
            if not (target.is_file() and target.stat().st_size == len(data)):
                write_bytes_atomic(target, data, durable=False)
            self.names.add(name)
        return name, digest

    def prune(self) -> None:
        """Remove the PNGs no row of this export uses (left by an earlier export)."""
        if not self.folder.is_dir():
            return
        for entry in self.folder.glob("*.png"):
            if entry.name not in self.names:
                entry.unlink(missing_ok=True)


def remove_images(export_folder: Path) -> None:
    """Without ``--images``: the images folder of an earlier export goes (its files are ours)."""
    folder = Path(export_folder) / IMAGES_DIR
    if folder.is_dir():
        shutil.rmtree(folder)
