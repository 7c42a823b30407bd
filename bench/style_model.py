"""Style model figures: LoRA vs full step cost, a real LoRA run, rewrite latency and quality.

    python bench/style_model.py steps            # LoRA vs full: s/step and peak RSS, a few steps
    python bench/style_model.py train --max-steps 300 --time-limit 2100
    python bench/style_model.py eval --model DIR [--json]

`steps` runs each mode in a child process so peak RSS (ru_maxrss) is per mode. `eval` rewrites
the held-out split with the StyleRewriter and, in the same run, times plain greedy `generate`
of the same model on the same drafts (no placeholders, no tricks) as the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before styling loads transformers
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from askdesk.retrieval.embedding import Embedder
from askdesk.styling.generation.rewrite import StyleRewriter
from askdesk.styling.model.base import load_model, resolve_base_model
from askdesk.styling.tone.fitting import fit_tone_scorer
from askdesk.styling.training.evaluate import evaluate
from askdesk.styling.training.examples import (
    check_examples,
    load_examples,
    load_product_terms,
    load_topics,
)
from askdesk.styling.training.fine_tune import (
    ALL_LINEAR,
    ATTENTION_ONLY,
    TrainConfig,
    _encode,
    collate,
    train_style_model,
)

ROOT = Path(__file__).resolve().parents[1]

SAMPLE = ROOT / "askdesk" / "sample" / "style" / "examples.jsonl"
TOPICS = SAMPLE.with_name("held_out_topics.txt")


def sample_terms() -> tuple[str, ...]:
    """The sample's product terms (product_terms.txt beside its examples)."""
    return load_product_terms(SAMPLE)


DEFAULT_OUT = Path(os.environ.get("ASKDESK_BENCH_DIR", "/tmp/askdesk-style-bench"))


def split_pairs() -> tuple[list[tuple[str, str]], list[tuple[str, str]], list]:
    ex = load_examples(SAMPLE)
    terms = load_product_terms(SAMPLE)
    rep = check_examples(ex, held_out_topics=load_topics(TOPICS), product_terms=terms)
    train = [(ex[i].input, ex[i].output) for i in rep.train]
    evals = [(ex[i].input, ex[i].output) for i in rep.eval]
    return train, evals, [ex[i] for i in rep.eval]


def base_path(out: Path) -> str:
    return resolve_base_model(None, out / "models" / "smollm2-135m-instruct")


def cmd_train(args: argparse.Namespace) -> dict:
    train, evals, _ = split_pairs()
    cfg = TrainConfig(
        mode=args.mode,
        max_steps=args.max_steps,
        batch_size=args.batch_size,
        eval_every=args.eval_every,
        time_limit_s=args.time_limit,
        threads=args.threads,
        patience=3,
        lora_targets=ALL_LINEAR if args.lora_targets == "all" else ATTENTION_ONLY,
        product_terms=sample_terms(),
    )
    t0 = time.perf_counter()

    def progress(ev: dict) -> None:
        if ev["event"] == "step" and ev["step"] % 5 == 0:
            el = time.perf_counter() - t0
            print(f"step {ev['step']}/{ev['total']} loss {ev['loss']:.3f} {el:.0f}s", flush=True)
        elif ev["event"] == "eval":
            print(f"eval step {ev['step']} eval_loss {ev['eval_loss']:.4f}", flush=True)

    result = train_style_model(
        train,
        evals[: args.eval_pairs],
        args.out / "style",
        base_path(args.out),
        cfg,
        base_model_label="smollm2-135m-instruct",
        progress=progress,
    )
    rep = {k: v for k, v in result.report.items() if k not in ("losses",)}
    rep["folder"] = str(result.folder)
    rep["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return rep


def cmd_eval(args: argparse.Namespace) -> dict:
    """Held-out split: guard pass, voice, latency vs plain generate, tone (if tone.py)."""
    train, _, held = split_pairs()
    held = held[: args.limit]
    rewriter = StyleRewriter(
        args.model,
        time_budget_s=args.budget,
        threads=args.threads,
        prompt_lookup=args.prompt_lookup,
        max_unit_words=args.max_unit_words,
    ).load()
    tone = None
    tone_fit: dict = {}
    try:
        embed = Embedder("all-MiniLM-L6-v2", threads=args.threads).encode
        scorer = fit_tone_scorer([a for _, a in train], [d for d, _ in train], embed)
        tone_fit = {"tone_scorer": scorer.version}

        def tone(texts: list[str]) -> list[float]:
            return scorer.score(texts, embed)
    except ImportError:
        pass

    def progress(done: int, total: int) -> None:
        print(f"rewrite {done}/{total}", file=sys.stderr, flush=True)

    out = evaluate(
        rewriter,
        held,
        tone=tone,
        baseline=True,
        baseline_limit=args.baseline_limit,
        progress=progress,
    )
    out.update(tone_fit)
    out["model"] = str(args.model)
    out["time_budget_s"] = args.budget
    rows = out.pop("rows")
    (args.out / "eval_rows.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    return out


def cmd_steps(args: argparse.Namespace) -> dict:
    """LoRA vs full: each in a child process (own peak RSS), same batch, a few steps."""
    out = {}
    for mode in ("lora", "full"):
        cmd = [sys.executable, __file__, "--out", str(args.out), "--threads", str(args.threads)]
        cmd += ["--json", "one-mode", "--mode", mode, "--steps", str(args.steps)]
        cmd += ["--seq", str(args.seq), "--batch-size", str(args.batch_size)]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        out[mode] = json.loads(res.stdout[res.stdout.index("{") :])
    out["full_over_lora_s_per_step"] = out["full"]["s_per_step"] / out["lora"]["s_per_step"]
    return out


def cmd_one_mode(args: argparse.Namespace) -> dict:
    """Time `steps` optimizer steps on one fixed batch (first step is warm-up, not counted)."""
    # optional: torch, peft (askdesk[style])
    import torch

    model, tok = load_model(base_path(args.out), threads=args.threads)
    train, _, _ = split_pairs()
    cfg = TrainConfig(mode=args.mode, max_length=args.seq, product_terms=sample_terms())
    items = [_encode(tok, d, a, cfg) for d, a in train[: args.batch_size]]
    batch = collate(items, tok.pad_token_id)
    if args.mode == "lora":
        # optional: torch, peft (askdesk[style])
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(
            model,
            LoraConfig(r=16, lora_alpha=32, target_modules=list(TrainConfig().lora_targets)),
        )
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    times = []
    for _ in range(args.steps + 1):
        t0 = time.perf_counter()
        model(**batch).loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    return {
        "mode": args.mode,
        "batch": list(batch["input_ids"].shape),
        "trainable_params": sum(p.numel() for p in params),
        "s_per_step": statistics.median(times[1:]),
        "step_times_s": [round(t, 2) for t in times],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train")
    tr.add_argument("--mode", choices=["lora", "full"], default="lora")
    tr.add_argument("--max-steps", type=int, default=300)
    tr.add_argument("--batch-size", type=int, default=4)
    tr.add_argument("--eval-every", type=int, default=50)
    tr.add_argument("--time-limit", type=float, default=None)
    tr.add_argument("--eval-pairs", type=int, default=None, help="eval loss on the first N")
    tr.add_argument("--lora-targets", choices=["attention", "all"], default="all")
    ev = sub.add_parser("eval")
    ev.add_argument("--model", type=Path, required=True)
    ev.add_argument("--limit", type=int, default=None)
    ev.add_argument("--baseline-limit", type=int, default=None)
    ev.add_argument("--budget", type=float, default=20.0)
    ev.add_argument("--prompt-lookup", type=int, default=10, help="0: no guessed tokens")
    ev.add_argument("--max-unit-words", type=int, default=90, help="words per rewritten unit")
    for name in ("steps", "one-mode"):
        sp = sub.add_parser(name)
        sp.add_argument("--steps", type=int, default=3)
        sp.add_argument("--seq", type=int, default=128)
        sp.add_argument("--batch-size", type=int, default=4)
        if name == "one-mode":
            sp.add_argument("--mode", choices=["lora", "full"], required=True)
    args = ap.parse_args(argv)
    commands = {"train": cmd_train, "steps": cmd_steps, "one-mode": cmd_one_mode, "eval": cmd_eval}
    out = commands[args.cmd](args)
    print(json.dumps(out, indent=2) if args.json else _format(out))
    return 0


def _format(d: dict, indent: str = "") -> str:
    lines = []
    for k, v in d.items():
        if isinstance(v, dict):
            lines.append(f"{indent}{k}:")
            lines.append(_format(v, indent + "  "))
        elif isinstance(v, float):
            lines.append(f"{indent}{k}: {v:.3f}")
        else:
            lines.append(f"{indent}{k}: {v}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
