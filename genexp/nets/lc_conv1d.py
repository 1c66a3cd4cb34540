"""1-D residual blocks (down: average pooling by 2; up: linear upsampling by 2) for sequence nets."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class ResBlock1d(nn.Module):
    """ReLU-conv3-ReLU-conv3 with a (1x1 when widths differ) shortcut; ``resample`` is
    ``"down"`` (avg-pool 2 after), ``"up"`` (linear x2 before) or ``None``."""

    def __init__(self, in_ch: int, out_ch: int, resample: str | None = None) -> None:
        super().__init__()
        if resample not in (None, "down", "up"):
            raise ValueError(f"resample must be None, 'down' or 'up', got {resample!r}")
        self.resample = resample
        self.conv1 = nn.Conv1d(in_ch, out_ch, 3, padding=1)
        self.conv2 = nn.Conv1d(out_ch, out_ch, 3, padding=1)
        self.skip = nn.Conv1d(in_ch, out_ch, 1) if in_ch != out_ch else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        """(n, in_ch, L) -> (n, out_ch, L') with L' = L/2, 2L or L."""
        if self.resample == "up":
            x = F.interpolate(x, scale_factor=2, mode="linear", align_corners=False)
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        out = h + self.skip(x)
        return F.avg_pool1d(out, 2) if self.resample == "down" else out
