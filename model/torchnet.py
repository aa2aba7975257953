"""The challenge CNN as a torch module. Importing this module imports torch (~2 s); import it lazily."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from model.spec import N_FEATURES, N_LOGITS, N_NEURONS


class ChallengeNet(nn.Module):
    """``pool(drop(relu(conv1))) -> pool(drop(relu(conv2))) -> flatten(400) -> relu(fc1) -> fc2``."""

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3)
        self.conv2 = nn.Conv2d(8, 16, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(N_FEATURES, N_NEURONS)
        self.fc2 = nn.Linear(N_NEURONS, N_LOGITS)
        self.drop = nn.Dropout(dropout)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 400-d input of fc1 for images ``x`` of shape (N, 1, 28, 28), floats in [0, 1].

        In eval mode dropout is the identity and max-pooling commutes with ReLU (max(relu(a)) = relu(max(a)), both
        exact, gradients too), so the ReLU is applied after pooling, to a quarter of the values: the same bits
        ~15% sooner. Training keeps dropout between the ReLU and the pooling."""
        if self.training:
            h = self.pool(self.drop(F.relu(self.conv1(x))))
            h = self.pool(self.drop(F.relu(self.conv2(h))))
        else:
            h = F.relu(self.pool(self.conv2(F.relu(self.pool(self.conv1(x))))))
        return torch.flatten(h, 1)

    def taps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every named tap: ``features`` (400), ``pre`` and ``post`` (200 fc1 units), ``logits`` (2)."""
        features = self.features(x)
        pre = self.fc1(features)
        post = F.relu(pre)
        return {"features": features, "pre": pre, "post": post, "logits": self.fc2(post)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.taps(x)["logits"]
