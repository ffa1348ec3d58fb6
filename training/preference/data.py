"""Preference items as index tensors into per-stimulus feature matrices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from training.features.store import FeatureStore


@dataclass
class PreferenceTensors:
    """Feature matrices of the unique queries / options and, per item, rows into them."""

    queries: torch.Tensor  # (n_queries, query_dim)
    options: torch.Tensor  # (n_options, option_dim)
    query_index: torch.Tensor  # (n_items,) long
    a_index: torch.Tensor
    b_index: torch.Tensor
    labels: torch.Tensor  # (n_items,) float, 1 = A chosen

    def subset(self, indices: np.ndarray) -> PreferenceTensors:
        rows = torch.as_tensor(indices, dtype=torch.long)
        return PreferenceTensors(
            queries=self.queries,
            options=self.options,
            query_index=self.query_index[rows],
            a_index=self.a_index[rows],
            b_index=self.b_index[rows],
            labels=self.labels[rows],
        )

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device) -> PreferenceTensors:
        return PreferenceTensors(
            *(
                getattr(self, name).to(device)
                for name in ("queries", "options", "query_index", "a_index", "b_index", "labels")
            )
        )

    @property
    def device(self) -> torch.device:
        return self.labels.device

    def batch(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        return (
            self.queries[self.query_index[rows]],
            self.options[self.a_index[rows]],
            self.options[self.b_index[rows]],
            self.labels[rows],
        )

    def normalisation(self) -> dict[str, torch.Tensor]:
        """Mean/std over the distinct stimuli these items use (each stimulus counted once)."""
        queries = self.queries[torch.unique(self.query_index)]
        options = self.options[torch.unique(torch.cat([self.a_index, self.b_index]))]
        return {
            "query_mean": queries.mean(0),
            "query_std": queries.std(0, unbiased=False) if len(queries) > 1 else torch.ones(queries.shape[1]),
            "option_mean": options.mean(0),
            "option_std": options.std(0, unbiased=False) if len(options) > 1 else torch.ones(options.shape[1]),
        }


def build_tensors(items: pd.DataFrame, store: FeatureStore, *, pooling: str = "mean") -> PreferenceTensors:
    query_kind = items["query_kind"].iloc[0]
    option_kind = items["option_kind"].iloc[0]
    query_ids = np.unique(items["query_id"].to_numpy())
    option_ids = np.unique(np.concatenate([items["a_id"].to_numpy(), items["b_id"].to_numpy()]))
    query_row = {int(i): r for r, i in enumerate(query_ids)}
    option_row = {int(i): r for r, i in enumerate(option_ids)}
    return PreferenceTensors(
        queries=torch.from_numpy(store.matrix(query_kind, query_ids, pooling=pooling)),
        options=torch.from_numpy(store.matrix(option_kind, option_ids, pooling=pooling)),
        query_index=torch.tensor([query_row[int(i)] for i in items["query_id"]], dtype=torch.long),
        a_index=torch.tensor([option_row[int(i)] for i in items["a_id"]], dtype=torch.long),
        b_index=torch.tensor([option_row[int(i)] for i in items["b_id"]], dtype=torch.long),
        labels=torch.tensor(items["label"].to_numpy(), dtype=torch.float32),
    )
