"""In-memory datamodule base and a batch loader that indexes tensors once per batch."""

from __future__ import annotations

import math
from typing import Callable, Iterator, Literal, Optional, Sequence, Union

import lightning as L
import torch
from torch import Tensor

from genexp.constraints import PositiveInt
from genexp.errors import ConfigError

OnDevice = Union[bool, Literal["auto"]]
"""``dataset.on_device``: keep the stored splits on the run's accelerator (``true``), never
(``false``), or ``auto`` (on an accelerator when they fit, see :func:`fits_on_device`)."""

AUTO_ON_DEVICE_MAX_BYTES = 4 * 2**30
"""``on_device: auto`` moves at most this many bytes of stored splits to an accelerator..."""
AUTO_ON_DEVICE_MEMORY_SHARE = 0.25
"""... and at most this share of the device's memory (where torch reports it)."""


def fits_on_device(nbytes: int, device: torch.device) -> bool:
    """Whether ``nbytes`` of stored data may live on ``device`` under ``on_device: auto``."""
    limit = AUTO_ON_DEVICE_MAX_BYTES
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
        limit = min(limit, int(total * AUTO_ON_DEVICE_MEMORY_SHARE))
    return nbytes <= limit


def _rank_and_world() -> tuple[int, int]:
    """The (rank, world size) of the current process; (0, 1) outside torch.distributed."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class TensorBatchLoader:
    """Iterates (x, y) batches over in-memory tensors with one index operation per batch.

    Cheaper than a ``DataLoader`` over a ``TensorDataset`` (no per-sample fetch and collate).
    Under DDP each rank takes a disjoint, equally long shard of every epoch's permutation, so
    the trainer must run with ``use_distributed_sampler=False`` (genexp's trainer configs do).
    The shuffle order is a function of (seed, epoch), so runs are reproducible. ``transform``
    is applied to each x batch (e.g. uint8 storage -> float in ``value_range``).

    The loader is stateful (Lightning saves :meth:`state_dict` in every checkpoint and calls
    :meth:`load_state_dict` on resume): the epoch whose permutation is in use and the batches of
    it the training loop has consumed (``progress``, set by the datamodule from its trainer, since
    Lightning fetches one batch ahead), so a resumed run continues mid-epoch with the same data.

    ``to_device`` (the datamodule's ``dataset.on_device``) moves the stored tensors to the
    accelerator once; batches are then indexed, and decoded by ``transform``, there (each epoch's
    permutation is still drawn on the CPU, so the order is the same on every device, and copied
    to the device once per epoch).
    """

    def __init__(
        self,
        x: Tensor,
        y: Optional[Tensor] = None,
        batch_size: int = 128,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
        transform: Optional[Callable[[Tensor], Tensor]] = None,
        to_device: Optional[Callable[[Tensor], Tensor]] = None,
    ) -> None:
        if len(x) == 0:
            raise ConfigError(
                "a data split is empty: check the dataset's split sizes (n_train, val_size, n_val, ...)"
            )
        self.x = x
        self.y = y if y is not None else torch.full((len(x),), -1, dtype=torch.long)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last and len(x) >= batch_size
        self.seed = seed
        self.transform = transform
        self._x, self._y = (to_device(self.x), to_device(self.y)) if to_device else (self.x, self.y)
        self.epoch = 0
        self.progress: Optional[Callable[[], int]] = None
        self._iter_epoch = 0
        self._yielded = 0
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """Fix the epoch whose permutation the next iteration uses."""
        self.epoch = epoch

    def state_dict(self) -> dict[str, int]:
        """The permutation epoch in use and how many of its batches the training loop consumed."""
        consumed = self.progress() if self.progress is not None else self._yielded
        if consumed >= len(self):  # the epoch is done: the next one starts at its first batch
            return {"epoch": self._iter_epoch + 1, "consumed": 0}
        return {"epoch": self._iter_epoch, "consumed": int(consumed)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a :meth:`state_dict`: the next iteration skips the consumed batches."""
        self.epoch = int(state["epoch"])
        self._skip = int(state["consumed"])

    def _indices(self) -> Tensor:
        n = len(self.x)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            idx = torch.randperm(n, generator=gen)
        else:
            idx = torch.arange(n)
        rank, world = _rank_and_world()
        if world > 1:
            per_rank = n // world
            idx = idx[rank * per_rank : (rank + 1) * per_rank]
        return idx

    def __len__(self) -> int:
        _, world = _rank_and_world()
        n = len(self.x) // world
        if self.drop_last:
            return max(1, n // self.batch_size)
        return math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        # each pass takes the next epoch's permutation when it starts: Lightning stops a pass after
        # len(self) batches without exhausting it, so code after the loop would never run
        self._iter_epoch = self.epoch
        idx = self._indices().to(self._x.device)
        if self.shuffle:
            self.epoch += 1
        n_batches = len(self)
        start, self._skip = self._skip, 0
        for b in range(start, n_batches):
            self._yielded = b + 1
            sel = idx[b * self.batch_size : (b + 1) * self.batch_size]
            xb = self._x[sel]
            yield (self.transform(xb) if self.transform is not None else xb), self._y[sel]


class InMemoryDataModule(L.LightningDataModule):
    """A datamodule whose splits are tensors held in memory.

    Subclasses implement :meth:`load_splits`, returning ``{"train": (x, y), "val": (x, y),
    "test": (x, y)}``; labels may be ``None`` (they are used for evaluation only). Public
    attributes every genexp datamodule has: ``name``, ``shape`` (one sample's shape), ``kind``
    (``"image"``, ``"points"`` or ``"sequence"``), ``num_classes`` (or ``None``) and
    ``value_range`` (the (low, high) range of the data, e.g. (-1, 1) for images).
    Splits may be stored compactly (e.g. uint8); :meth:`decode_batch` turns a stored batch into
    the float tensors models see, and :meth:`get_data` returns a decoded split for metrics.
    ``on_device`` (see :data:`OnDevice`): the loaders copy the stored splits to the trainer's
    root device once and draw and decode batches there (no per-batch host-to-device copy);
    ``auto`` does so on an accelerator when the splits fit (:func:`fits_on_device`), never on
    the CPU. :meth:`get_data` (metrics, stages) always returns host tensors.
    """

    kind: str = "points"

    def __init__(
        self,
        name: str,
        shape: Sequence[int],
        batch_size: PositiveInt = 128,
        eval_batch_size: Optional[PositiveInt] = None,
        num_classes: Optional[int] = None,
        value_range: Optional[Sequence[float]] = None,
        seed: int = 0,
        on_device: OnDevice = "auto",
    ) -> None:
        super().__init__()
        if on_device not in (True, False, "auto"):
            raise ConfigError(f"dataset.on_device must be true, false or auto, got {on_device!r}")
        self.on_device = on_device
        self._device_copies: dict[tuple[int, str], tuple[Tensor, Tensor]] = {}
        self.name = name
        self.shape = tuple(int(s) for s in shape)
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size or max(batch_size, 256))
        self.num_classes = num_classes
        self.value_range = tuple(value_range) if value_range is not None else None
        self.seed = seed
        self.splits: dict[str, tuple[Tensor, Optional[Tensor]]] = {}

    def load_splits(self) -> dict[str, tuple[Tensor, Optional[Tensor]]]:
        """Return the split tensors; raise :class:`genexp.errors.DataError` if files are missing."""
        raise NotImplementedError

    def setup(self, stage: Optional[str] = None) -> None:
        """Load all splits once (every rank loads its own copy; they are small)."""
        if not self.splits:
            self.splits = self.load_splits()

    def split(self, name: str) -> tuple[Tensor, Optional[Tensor]]:
        """The (x, y) tensors of split ``name`` (``train``, ``val`` or ``test``)."""
        self.setup()
        if name not in self.splits:
            raise KeyError(f"dataset {self.name!r} has no split {name!r}; has {sorted(self.splits)}")
        return self.splits[name]

    def decode_batch(self, x: Tensor) -> Tensor:
        """Turn a stored batch into model input (identity for splits stored as float)."""
        return x

    def get_data(self, name: str, n: Optional[int] = None) -> tuple[Tensor, Optional[Tensor]]:
        """The first ``n`` (all if None) decoded samples and labels of split ``name``."""
        x, y = self.split(name)
        if n is not None:
            x = x[:n]
            y = y[:n] if y is not None else None
        return self.decode_batch(x), y

    def stored_bytes(self) -> int:
        """The bytes of the stored splits (each tensor once)."""
        self.setup()
        tensors = {id(t): t for pair in self.splits.values() for t in pair if t is not None}
        return sum(t.numel() * t.element_size() for t in tensors.values())

    def batch_device(self) -> Optional[torch.device]:
        """The device loaders draw batches on (see ``on_device``); None: on the host, copied to the
        device by Lightning per batch."""
        trainer = getattr(self, "trainer", None)
        if self.on_device is False or trainer is None:
            return None
        device = trainer.strategy.root_device
        if self.on_device == "auto" and (
            device.type == "cpu" or not fits_on_device(self.stored_bytes(), device)
        ):
            return None
        return device

    def device_copy(self, t: Tensor, device: torch.device) -> Tensor:
        """``t`` on ``device``, copied once per tensor and device (loaders of several splits, and
        later fits, share the copy)."""
        key = (id(t), str(device))
        if key not in self._device_copies:  # keeps ``t`` alive, so its id is not reused
            self._device_copies[key] = (t, t.to(device))
        return self._device_copies[key][1]

    def device_mover(self) -> Optional[Callable[[Tensor], Tensor]]:
        """The ``to_device`` of this datamodule's loaders (None: batches stay on the host)."""
        device = self.batch_device()
        return None if device is None else (lambda t: self.device_copy(t, device))

    def track_progress(self, loader: TensorBatchLoader) -> TensorBatchLoader:
        """Let a training loader report the batches its trainer's loop has processed this epoch."""
        trainer = getattr(self, "trainer", None)
        if trainer is not None:
            loader.progress = lambda: trainer.fit_loop.epoch_loop.batch_progress.current.processed
        return loader

    def _loader(self, name: str, train: bool) -> TensorBatchLoader:
        x, y = self.split(name)
        loader = TensorBatchLoader(
            x,
            y,
            batch_size=self.batch_size if train else self.eval_batch_size,
            shuffle=train,
            drop_last=train,
            seed=self.seed,
            transform=self.decode_batch,
            to_device=self.device_mover(),
        )
        return self.track_progress(loader) if train else loader

    def train_dataloader(self) -> TensorBatchLoader:
        """Shuffled training batches."""
        return self._loader("train", train=True)

    def val_dataloader(self) -> TensorBatchLoader:
        """Validation batches in order."""
        return self._loader("val", train=False)

    def test_dataloader(self) -> TensorBatchLoader:
        """Test batches in order."""
        return self._loader("test", train=False)
