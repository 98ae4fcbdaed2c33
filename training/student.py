"""The distillation student (our AdaIN network, encoder trained too): init, forward, loss, save and export."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adain_live._fs import atomic_write_text, sha256_file
from adain_live.core import AdaINModel, adain, mean_std
from adain_live.core.checkpoint import load_decoder, load_encoder, save_safetensors
from adain_live.errors import WeightsError
from training.checkpoint import CHECKPOINT_NAME, load_checkpoint

ENCODER_FILE = "adain-live-student-encoder.safetensors"
DECODER_FILE = "adain-live-student-decoder.safetensors"
MANIFEST_FILE = "MANIFEST.json"

#: Share of training samples at alpha = 1 (the teacher's own output), alpha = 0 (reconstruct the content);
#: the rest draw alpha uniformly in (0, 1).
ALPHA_ONE, ALPHA_ZERO = 0.7, 0.1


def new_student(seed: int = 0) -> AdaINModel:
    """Build a student with He-initialised convolutions and a trainable encoder.

    PyTorch's default init shrinks activations ~0.6x per layer, so relu4_1 features of a fresh VGG would be
    ~1e-3 and AdaIN's eps would flatten them; He init keeps them O(1) from the first step.
    """
    torch.manual_seed(seed)
    model = AdaINModel()
    for seq in (model.encoder, model.decoder):
        convs = [m for m in seq if isinstance(m, nn.Conv2d)]
        for conv in convs:
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
    nn.init.normal_(model.decoder[-1].weight, std=1e-3)
    nn.init.constant_(model.decoder[-1].bias, 0.5)
    return make_trainable(model)


def make_trainable(model: AdaINModel) -> AdaINModel:
    """Unfreeze the encoder (AdaINModel freezes it, since the canonical one is fixed) and set train mode."""
    for p in model.parameters():
        p.requires_grad_(True)
    return model.train()


def student_forward(model: AdaINModel, content: Tensor, style: Tensor, alpha: Tensor) -> Tensor:
    """Stylize a batch exactly as :meth:`AdaINModel.stylize` does, with a per-sample ``alpha`` (B,).

    The student's own relu4_1 statistics of ``style`` drive the AdaIN, so the trained weights keep AdaIN's
    interface (cached statistics, mixing, alpha in feature space).
    """
    b = content.shape[0]
    if content.shape == style.shape:
        feats = model.encoder(torch.cat([content, style]))
        fc, fs = feats[:b], feats[b:]
    else:
        fc, fs = model.encoder(content), model.encoder(style)
    s_mean, s_std = mean_std(fs)
    target = adain(fc, s_mean, s_std)
    a = alpha.view(-1, 1, 1, 1).float()
    target = a * target + (1.0 - a) * fc.float()
    return model.decoder(target.to(fc.dtype))


def sample_alpha(batch: int, gen: torch.Generator) -> Tensor:
    """Per-sample alpha: 1 with prob. ``ALPHA_ONE``, 0 with prob. ``ALPHA_ZERO``, else uniform in (0, 1)."""
    u = torch.rand(batch, generator=gen)
    mid = torch.rand(batch, generator=gen)
    return torch.where(u < ALPHA_ONE, torch.ones(batch), torch.where(u < ALPHA_ONE + ALPHA_ZERO,
                                                                      torch.zeros(batch), mid))


@torch.no_grad()
def teacher_target(teacher: nn.Module, content: Tensor, style: Tensor, alpha: Tensor) -> Tensor:
    """Training target: the teacher's full stylization blended with the content by ``alpha``.

    MicroAST's own alpha (a blend of its un-normalised features) gives flat, saturated colours for alpha < 1
    (it was trained at alpha = 1 only), so it cannot be the target; the blend keeps alpha = 0 a reconstruction
    and alpha = 1 the teacher, with a monotone slider in between.
    """
    full = teacher(content, style, 1.0).float()
    a = alpha.view(-1, 1, 1, 1).to(full)
    return a * full + (1.0 - a) * content.float()


def distill_loss(output: Tensor, target: Tensor, grad_weight: float = 1.0) -> Tensor:
    """L1 on the image plus ``grad_weight`` times L1 on its horizontal and vertical differences."""
    out = output[..., : target.shape[-2], : target.shape[-1]].float()
    loss = F.l1_loss(out, target)
    if grad_weight:
        dx = F.l1_loss(out[..., :, 1:] - out[..., :, :-1], target[..., :, 1:] - target[..., :, :-1])
        dy = F.l1_loss(out[..., 1:, :] - out[..., :-1, :], target[..., 1:, :] - target[..., :-1, :])
        loss = loss + grad_weight * (dx + dy)
    return loss


# --- files -------------------------------------------------------------------------------------------------
def export_student(model: AdaINModel, folder: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    """Write fp16 encoder/decoder safetensors and ``MANIFEST.json`` (with sha256 and sizes) into ``folder``.

    Returns the manifest as written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Any]] = {}
    for name, module, filename in (("encoder", model.encoder, ENCODER_FILE),
                                   ("decoder", model.decoder, DECODER_FILE)):
        meta = {"format": "pt", "part": name, "architecture": "adain-vgg19-relu4_1", "dtype": "float16"}
        save_safetensors(module.state_dict(), folder / filename, meta, dtype=torch.float16)
        path = folder / filename
        files[name] = {"file": filename, "sha256": sha256_file(path), "bytes": path.stat().st_size}
    full = {**manifest, "files": files}
    atomic_write_text(folder / MANIFEST_FILE, json.dumps(full, indent=2) + "\n")
    return full


def load_student_folder(folder: Path) -> tuple[AdaINModel, dict[str, Any]]:
    """Load an exported student (``models/`` or a run's ``export/``) as a trainable fp32 model + manifest."""
    for filename in (ENCODER_FILE, DECODER_FILE):
        if not (folder / filename).is_file():
            raise WeightsError(f"{folder / filename} is missing; --init needs a folder with {ENCODER_FILE} "
                               f"and {DECODER_FILE}")
    model = AdaINModel(load_encoder(folder / ENCODER_FILE), load_decoder(folder / DECODER_FILE))
    manifest_path = folder / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    return make_trainable(model), manifest


def load_init(path: Path) -> tuple[AdaINModel, int]:
    """Initialise from a run folder (its ``checkpoint.pt``, else ``export/``) or an exported folder.

    Returns the model and the number of iterations it was already trained for.
    """
    ckpt = path / CHECKPOINT_NAME
    if ckpt.is_file():
        model = AdaINModel()
        saved = load_checkpoint(ckpt, {"encoder": model.encoder, "decoder": model.decoder}, restore_rng=False)
        return make_trainable(model), saved.iteration
    folder = path / "export" if (path / "export" / ENCODER_FILE).is_file() else path
    model, manifest = load_student_folder(folder)
    return model, int(manifest.get("iterations", 0))
