"""Public fixation datasets from a local copy: OSIE, MIT1003, CAT2000, or any image folder.

Each reader returns a :class:`FixationDataset`: the images (read lazily) and one tidy fixation
table (``subject``, ``image``, ``x``, ``y``, ``duration``, ``onset``) in xaikit's pixel
convention, which the maps, metrics, study tables and widgets take directly.
:func:`to_pysaliency` and :func:`from_pysaliency` convert to and from pysaliency's
``Stimuli`` / ``FixationTrains``; :func:`download` fetches a dataset from its official URL
when asked (hash-checked, unpacked atomically; never while ``XAIKIT_OFFLINE=1``).

Examples:
    >>> import xaikit as xk
    >>> dataset = xk.data.datasets.osie("../shared/realdata/eyetracking/osie")  # doctest: +SKIP
    >>> images, fixations = dataset.resized((240, 320), names=dataset.images[:8])  # doctest: +SKIP
"""

from xaikit.data.datasets._dataset import COLUMNS, FixationDataset
from xaikit.data.datasets.cat2000 import cat2000
from xaikit.data.datasets.download import DATASETS, download
from xaikit.data.datasets.folder import folder
from xaikit.data.datasets.interop import from_pysaliency, to_pysaliency
from xaikit.data.datasets.mit1003 import mit1003
from xaikit.data.datasets.osie import osie

__all__ = [
    "COLUMNS",
    "DATASETS",
    "FixationDataset",
    "cat2000",
    "download",
    "folder",
    "from_pysaliency",
    "mit1003",
    "osie",
    "to_pysaliency",
]
