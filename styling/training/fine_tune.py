"""Fine-tune the style model on brand-voice pairs, with the facts hidden behind placeholders.

The recipe is the one that worked in the CPU trial (shared/MODELS.md): the draft is the user
turn, the styled answer the assistant turn, a fixed system line, and loss only on the
assistant turn *including* its end-of-turn token. The tokenizer's pad token is the same id as
`<|im_end|>`, so labels are masked by turn boundaries and the attention mask, never by token
id — otherwise the model never learns to stop. Input and output are protected with the SAME
placeholder mapping (built from the input), so the model learns to copy `<F1>` verbatim
instead of retyping facts it may garble.

A run writes a versioned folder: the LoRA adapter (merged at load time) or the full model,
the tokenizer, `style.json` (what the rewriter needs) and `report.json` (data hash, steps,
losses, eval metrics, duration, base model). Nothing here knows about the settings or the
store: the caller records the run.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from askdesk.styling.generation.frame import Frame
from askdesk.styling.guards.fact_patterns import DEFAULT_PRODUCT_TERMS
from askdesk.styling.guards.placeholders import protect
from askdesk.styling.model.base import load_model, stored_base_model
from askdesk.styling.model.prompt import STYLE_FILE, SYSTEM_PROMPT, chat_messages, prompt_text
from askdesk.styling.training.calibrate import calibrate_openers

ALL_LINEAR: tuple[str, ...] = (
    "q_proj",
    "k_proj",
    "v_proj",
    "o_proj",
    "gate_proj",
    "up_proj",
    "down_proj",
)
ATTENTION_ONLY: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
REPORT_FILE = "report.json"

#: Progress events: {"event": "step"|"eval"|"calibrate"|"done", "step", "total", "loss"?, ...}
Progress = Callable[[dict[str, Any]], None]


@dataclass
class TrainConfig:
    """How to train; defaults are the CPU trial's recipe (LoRA r=16 on q/k/v/o)."""

    mode: Literal["lora", "full"] = "lora"
    epochs: float = 3.0
    max_steps: int | None = None
    limit: int | None = None  # train on the first N training pairs only ("start small")
    batch_size: int = 4
    learning_rate: float | None = None  # default: 2e-4 for LoRA, 3e-5 for full
    warmup_steps: int = 10
    max_length: int = 512
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    # every linear layer of the blocks (attention + MLP): on the sample set it reached eval
    # loss 0.584 where attention-only LoRA stopped at 0.635, and kept every fact in 0.80 of
    # held-out rewrites instead of 0.66 (BENCHMARKS.md), for ~2.7x the adapter parameters
    lora_targets: tuple[str, ...] = ALL_LINEAR
    eval_every: int = 50
    patience: int = 2  # evals without improvement before stopping early
    seed: int = 0
    threads: int | None = None
    time_limit_s: float | None = None  # stop (and save the best so far) after this long
    product_terms: tuple[str, ...] = DEFAULT_PRODUCT_TERMS

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return self.learning_rate
        return 2e-4 if self.mode == "lora" else 3e-5


@dataclass
class TrainResult:
    version: str
    folder: Path
    report: dict[str, Any] = field(default_factory=dict)


def protected_pair(draft: str, answer: str, terms: Sequence[str]) -> tuple[str, str]:
    """Draft and answer with the draft's facts replaced by the same placeholders."""
    p = protect(draft, terms)
    return p.text, p.apply(answer)


def encode_pair(tokenizer: Any, draft: str, answer: str, max_length: int) -> dict[str, list[int]]:
    """Token ids and labels: -100 on the prompt, the assistant turn (with `<|im_end|>`) kept.

    The boundary is the length of the tokenized generation prompt, so it never depends on
    which id the end or pad token has.
    """
    prompt = prompt_text(tokenizer, draft)
    full = tokenizer.apply_chat_template(chat_messages(draft, answer), tokenize=False)
    if not full.startswith(prompt):  # templates that rewrite earlier turns: fall back
        full = prompt + answer + (tokenizer.eos_token or "")
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = tokenizer(full, add_special_tokens=False)["input_ids"]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>") if "<|im_end|>" in full else None
    if end is not None and end in ids[len(p_ids) :]:  # drop the template's trailing "\n"
        ids = ids[: len(p_ids) + ids[len(p_ids) :].index(end) + 1]
    ids = ids[:max_length]
    labels = [-100] * min(len(p_ids), len(ids)) + ids[len(p_ids) :]
    return {"input_ids": ids, "labels": labels}


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list:
    """Batches of similar length (less padding): shuffle, sort within mega-batches of 8
    batches, cut, shuffle the batch order. Seeded, so a run is reproducible."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * 8
    batches = []
    for i in range(0, len(order), mega):
        chunk = sorted(order[i : i + mega], key=lambda j: lengths[j], reverse=True)
        batches += [chunk[k : k + batch_size] for k in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(items: Sequence[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-padded tensors; labels are -100 wherever the attention mask is 0."""
    import torch  # optional: torch (askdesk[style])

    width = max(len(it["input_ids"]) for it in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), -100, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for r, it in enumerate(items):
        n = len(it["input_ids"])
        ids[r, :n] = torch.tensor(it["input_ids"])
        labels[r, :n] = torch.tensor(it["labels"])
        mask[r, :n] = 1
    labels[mask == 0] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def data_hash(train: Sequence[tuple[str, str]], evals: Sequence[tuple[str, str]]) -> str:
    """sha256 of the exact pairs on each side of the split: same hash, same data."""
    blob = json.dumps({"train": list(train), "eval": list(evals)}, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def new_version(root: Path) -> str:
    """`v20261124-013000`, with a suffix if that folder already exists."""
    base = time.strftime("v%Y%m%d-%H%M%S", time.gmtime())
    version, n = base, 1
    while (root / version).exists():
        n += 1
        version = f"{base}-{n}"
    return version


def train_style_model(
    train_pairs: Sequence[tuple[str, str]],
    eval_pairs: Sequence[tuple[str, str]],
    out_root: Path,
    base_model: str,
    config: TrainConfig | None = None,
    *,
    base_model_label: str | None = None,
    progress: Progress | None = None,
    version: str | None = None,
) -> TrainResult:
    """Fine-tune `base_model` (a folder or name) on (draft, styled answer) pairs.

    `eval_pairs` give the eval loss (every `eval_every` steps and at the end) for early
    stopping; the best weights by eval loss are the ones saved. Returns the version folder.
    Steps: load and wrap the model (`_prepare`), the training loop (`_run_loop`), then the
    version folder with its style and report files (`_write_version`).
    """
    import torch  # optional: torch (askdesk[style])

    cfg = config or TrainConfig()
    started = time.perf_counter()
    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    train_pairs = list(train_pairs)[: cfg.limit] if cfg.limit else list(train_pairs)
    if not train_pairs:
        raise ValueError("no training pairs")
    model, tok = _prepare(base_model, cfg)
    run = _run_loop(
        model,
        [_encode(tok, d, a, cfg) for d, a in train_pairs],
        [_encode(tok, d, a, cfg) for d, a in eval_pairs],
        tok.pad_token_id,
        cfg,
        started,
        progress,
    )
    return _write_version(
        model,
        tok,
        run,
        train_pairs,
        list(eval_pairs),
        Path(out_root),
        base_model,
        cfg,
        base_model_label=base_model_label,
        progress=progress,
        version=version,
        started=started,
    )


@dataclass
class _Run:
    """What the training loop did: the report's figures."""

    step: int
    total: int
    trainable: int
    losses: list[dict[str, float]]
    evals: list[dict[str, float]]
    best_loss: float
    best_step: int
    stopped_early: bool
    out_of_time: bool


def _prepare(base_model: str, cfg: TrainConfig) -> tuple[Any, Any]:
    """The base model and tokenizer, wrapped with a LoRA adapter in `lora` mode."""
    model, tok = load_model(base_model, threads=cfg.threads)
    if cfg.mode == "lora":
        from peft import LoraConfig, get_peft_model  # optional: peft (askdesk[style])

        lora = LoraConfig(
            r=cfg.lora_r,
            lora_alpha=cfg.lora_alpha,
            lora_dropout=cfg.lora_dropout,
            target_modules=list(cfg.lora_targets),
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
    return model, tok


def _run_loop(
    model: Any,
    train_data: list[dict[str, list[int]]],
    eval_data: list[dict[str, list[int]]],
    pad_id: int,
    cfg: TrainConfig,
    started: float,
    progress: Progress | None,
) -> _Run:
    """AdamW with linear warmup and decay, length-grouped batches, an eval every
    `eval_every` steps, early stopping after `patience` evals without improvement or at the
    time limit; the best weights by eval loss are loaded back into `model` at the end."""
    import torch  # optional: torch (askdesk[style])

    params = [p for p in model.parameters() if p.requires_grad]
    rng = random.Random(cfg.seed)
    steps_per_epoch = math.ceil(len(train_data) / cfg.batch_size)
    total = cfg.max_steps or max(1, math.ceil(steps_per_epoch * cfg.epochs))
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
    warmup = min(cfg.warmup_steps, max(1, total // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _lr_factor(s, warmup, total))

    losses: list[dict[str, float]] = []
    evals: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, Any] | None] = (math.inf, 0, None)
    bad_evals, step, stopped_early, out_of_time = 0, 0, False, False
    model.train()
    while step < total and not (stopped_early or out_of_time):
        for batch_idx in length_grouped_batches(
            [len(d["input_ids"]) for d in train_data], cfg.batch_size, rng
        ):
            batch = collate([train_data[i] for i in batch_idx], pad_id)
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            value = float(loss.detach())
            losses.append({"step": step, "loss": round(value, 4)})
            _emit(progress, event="step", step=step, total=total, loss=value)
            out_of_time = cfg.time_limit_s is not None and (
                time.perf_counter() - started > cfg.time_limit_s
            )
            last = step >= total or out_of_time
            if eval_data and (step % cfg.eval_every == 0 or last):
                ev = _eval_loss(model, eval_data, pad_id, cfg.batch_size)
                evals.append({"step": step, "eval_loss": round(ev, 4)})
                _emit(progress, event="eval", step=step, total=total, eval_loss=ev)
                if ev < best[0]:
                    best, bad_evals = (ev, step, _trainable_state(model)), 0
                else:
                    bad_evals += 1
                    stopped_early = bad_evals >= cfg.patience and not last
            if last or stopped_early:
                break
    if best[2] is not None and best[1] != step:
        model.load_state_dict(best[2], strict=False)
    trainable = sum(p.numel() for p in params)
    return _Run(step, total, trainable, losses, evals, best[0], best[1], stopped_early, out_of_time)


def _write_version(
    model: Any,
    tok: Any,
    run: _Run,
    train_pairs: list[tuple[str, str]],
    eval_pairs: list[tuple[str, str]],
    out_root: Path,
    base_model: str,
    cfg: TrainConfig,
    *,
    base_model_label: str | None,
    progress: Progress | None,
    version: str | None,
    started: float,
) -> TrainResult:
    """Save the weights, tokenizer, style.json and report.json into a partial folder,
    calibrate the openers when the frame has several, then rename it into place (a crash
    never leaves a half-written version that looks finished)."""
    out_root.mkdir(parents=True, exist_ok=True)
    version = version or new_version(out_root)
    folder = out_root / version
    tmp = out_root / f".{version}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    model.save_pretrained(tmp)  # LoRA: the adapter only; full: the whole model
    tok.save_pretrained(tmp)
    duration = time.perf_counter() - started
    style = {
        "mode": cfg.mode,
        "base_model": stored_base_model(base_model, base_model_label),
        "system_prompt": SYSTEM_PROMPT,
        "product_terms": list(cfg.product_terms),
        "max_length": cfg.max_length,
        # opener/sign-off lines, sentence length and words of the voice, read off the
        # training answers: the rewriter guesses, frames, splits and guards with them
        "frame": Frame.learn([answer for _, answer in train_pairs]).to_json(),
    }
    step = run.step
    report = {
        "version": version,
        "mode": cfg.mode,
        "base_model": base_model_label or base_model,
        "base_model_path": base_model,
        "data_hash": data_hash(train_pairs, eval_pairs),
        "train_examples": len(train_pairs),
        "eval_examples": len(eval_pairs),
        "steps": step,
        "planned_steps": run.total,
        "stopped_early": run.stopped_early,
        "stopped_by_time_limit": run.out_of_time,
        "best_step": run.best_step or step,
        "trainable_params": run.trainable,
        "train_loss": run.losses[-1]["loss"],
        "eval_loss": run.best_loss if math.isfinite(run.best_loss) else None,
        "losses": run.losses,
        "eval_losses": run.evals,
        "duration_s": round(duration, 2),
        "seconds_per_step": round(duration / max(1, step), 3),
        "config": {k: v for k, v in asdict(cfg).items() if k != "product_terms"},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (tmp / STYLE_FILE).write_text(json.dumps(style, indent=2, ensure_ascii=False))
    if len(style["frame"]["openers"]) > 1:  # which opener when: calibrated on the pairs
        _emit(progress, event="calibrate", step=step, total=run.total)
        cache = Path(base_model) if Path(base_model).is_dir() else None
        report["opener_offsets"] = list(calibrate_openers(tmp, train_pairs, cache))
    (tmp / REPORT_FILE).write_text(json.dumps(report, indent=2))
    tmp.rename(folder)
    _emit(progress, event="done", step=step, total=run.total)
    return TrainResult(version, folder, report)


def read_report(folder: Path) -> dict[str, Any]:
    return json.loads((Path(folder) / REPORT_FILE).read_text())


def list_versions(root: Path) -> list[dict[str, Any]]:
    """Reports of every finished version under `root`, oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [read_report(p) for p in sorted(root.iterdir()) if (p / REPORT_FILE).is_file()]
    return sorted(found, key=lambda r: r.get("created_at", ""))


def _lr_factor(step: int, warmup: int, total: int) -> float:
    """Linear warmup over `warmup` steps, then linear decay to 0 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def _encode(tok: Any, draft: str, answer: str, cfg: TrainConfig) -> dict[str, list[int]]:
    d, a = protected_pair(draft, answer, cfg.product_terms)
    return encode_pair(tok, d, a, cfg.max_length)


def _eval_loss(model: Any, data: Sequence[dict], pad_id: int, batch_size: int) -> float:
    """Token-weighted mean loss on the eval pairs, without gradients."""
    import torch  # optional: torch (askdesk[style])

    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(data), batch_size):
            batch = collate(data[i : i + batch_size], pad_id)
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += float(model(**batch).loss) * n
            tokens += n
    model.train()
    return total / max(1, tokens)


def _trainable_state(model: Any) -> dict[str, Any]:
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in names}


def _emit(progress: Progress | None, **event: Any) -> None:
    if progress is not None:
        progress(event)
