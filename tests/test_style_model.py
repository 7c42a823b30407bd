"""The style model pipeline end to end on a tiny random Llama model, and its fallbacks.

No download and no 135M model: a 2-layer, 32-wide Llama built from a local config with a
byte-level BPE tokenizer trained on the bundled examples in well under a second. That proves
the pipeline (encode, train, save, record, reload, rewrite, guard) without proving quality;
bench/style_model.py measures quality with the real model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from askdesk.cli import app as cli_app
from askdesk.styling.generation.rewrite import TIMEOUT, StyleRewriter
from askdesk.styling.training.examples import load_examples, load_product_terms
from askdesk.styling.training.fine_tune import (
    REPORT_FILE,
    STYLE_FILE,
    TrainConfig,
    collate,
    encode_pair,
    list_versions,
    train_style_model,
)

SAMPLE = Path(__file__).resolve().parents[1] / "askdesk" / "sample" / "style" / "examples.jsonl"
TERMS = load_product_terms(SAMPLE)  # the sample product's vocabulary, beside its examples
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def build_tiny_base(folder: Path) -> Path:
    """A random 2-layer Llama (hidden 32) with a ChatML BPE tokenizer, saved as a folder."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = [t for ex in load_examples(SAMPLE)[:60] for t in (ex.input, ex.output)]
    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    raw.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=600,
            special_tokens=special,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",  # as in SmolLM2: pad == end of turn, the trap the masks avoid
        bos_token="<|im_start|>",
        unk_token="<|endoftext|>",
    )
    tok.chat_template = CHATML
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory) -> Path:
    return build_tiny_base(tmp_path_factory.mktemp("tiny") / "base")


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    return [(ex.input, ex.output) for ex in load_examples(SAMPLE)]


def _tiny_config() -> TrainConfig:
    """Three steps on six pairs: the fixture's run, and the one that must reproduce it."""
    return TrainConfig(
        product_terms=TERMS,
        max_steps=3,
        limit=6,
        batch_size=2,
        eval_every=2,
        warmup_steps=1,
        threads=2,
    )


@pytest.fixture(scope="module")
def trained(tiny_base, pairs, tmp_path_factory):
    out = tmp_path_factory.mktemp("style")
    cfg = _tiny_config()
    events: list[dict] = []
    result = train_style_model(
        pairs[:6], pairs[-2:], out, str(tiny_base), cfg, progress=events.append
    )
    return result, events


def test_labels_cover_the_answer_and_its_end_token_but_not_the_prompt(tiny_base):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_base)
    enc = encode_pair(tok, "Keys expire after <F1>. <F2>", "Hey there! 👋\n\nKeys expire.", 512)
    kept = [i for i, lab in zip(enc["input_ids"], enc["labels"], strict=True) if lab != -100]
    assert tok.decode(kept).endswith("<|im_end|>")
    assert tok.decode(kept).startswith("Hey there!")
    assert "Keys expire after" not in tok.decode(kept)
    # padding uses the same id as <|im_end|>: only the attention mask tells them apart
    short = encode_pair(tok, "a", "b", 512)
    batch = collate([enc, short], tok.pad_token_id)
    row = batch["labels"][1]
    assert int((row == tok.pad_token_id).sum()) == 1  # the real end token, not the padding
    assert bool((row[batch["attention_mask"][1] == 0] == -100).all())


def test_training_writes_a_version_folder_with_report(trained, tiny_base):
    result, events = trained
    files = {p.name for p in result.folder.iterdir()}
    assert {STYLE_FILE, REPORT_FILE, "adapter_config.json", "tokenizer.json"} <= files
    report = json.loads((result.folder / REPORT_FILE).read_text())
    for key in ("data_hash", "steps", "losses", "eval_loss", "duration_s", "base_model"):
        assert key in report
    assert report["steps"] == 3 and report["mode"] == "lora"
    assert report["base_model"] == str(tiny_base)
    assert [e["event"] for e in events].count("step") == 3
    assert any(e["event"] == "eval" for e in events) and events[-1]["event"] == "done"
    assert [v["version"] for v in list_versions(result.folder.parent)] == [result.version]


@pytest.mark.slow
def test_training_is_reproducible(tiny_base, pairs, tmp_path, trained):
    cfg = _tiny_config()
    again = train_style_model(pairs[:6], pairs[-2:], tmp_path, str(tiny_base), cfg)
    first = trained[0].report
    assert again.report["data_hash"] == first["data_hash"]
    assert again.report["losses"] == first["losses"]


def test_time_limit_stops_training_and_still_saves(tiny_base, pairs, tmp_path):
    cfg = TrainConfig(
        product_terms=TERMS, max_steps=50, limit=4, batch_size=2, eval_every=100, time_limit_s=0.0
    )
    result = train_style_model(pairs[:4], pairs[-1:], tmp_path, str(tiny_base), cfg)
    assert result.report["steps"] == 1 and result.report["stopped_by_time_limit"]
    assert (result.folder / REPORT_FILE).is_file()


def test_train_run_is_recorded(trained, tmp_path):
    from askdesk.feedback.store import FeedbackStore

    result, _ = trained
    store = FeedbackStore(f"sqlite:///{tmp_path / 'a.db'}")
    assert store.styles.last_train_run() is None
    store.styles.record_train_run(result.report, str(result.folder))
    row = store.styles.last_train_run()
    assert row["version"] == result.version and row["steps"] == 3
    assert row["data_hash"] == result.report["data_hash"] and "losses" not in row["report"]


@pytest.mark.slow
def test_reloaded_version_rewrites_or_falls_back_with_a_reason(trained):
    result, _ = trained
    rewriter = StyleRewriter(result.folder, time_budget_s=30, max_new_tokens=8, threads=2)
    text, note = rewriter.rewrite("Keys expire after 90 days. [1]", None)
    assert rewriter.version == result.version
    # a random model rarely keeps both placeholders; either way the contract holds
    assert (text is not None and note == "rewritten") or (text is None and note)


def test_guard_failure_returns_none_and_names_the_missing_fact(trained, monkeypatch):
    rewriter = StyleRewriter(trained[0].folder)
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: ("Hey there! Keys expire.", False))
    text, note = rewriter.rewrite("Keys expire after 24h. [1]", None)
    assert text is None and note.startswith("guard:") and "missing" in note


def test_guard_pass_restores_the_facts(trained, monkeypatch):
    rewriter = StyleRewriter(trained[0].folder)
    monkeypatch.setattr(
        rewriter,
        "generate",
        lambda text, **kw: ("Hey there! 👋\n\nKeys expire after <F1>.", False),
    )
    text, note = rewriter.rewrite("Keys expire after 24h. [1]", None)
    # the facts restored, the closing citation (kept out of the model) put back; the
    # sign-off the model left out is the one the examples pair with its opener
    assert note == "rewritten"
    assert text == "Hey there! 👋\n\nKeys expire after 24h. [1]\n\nHappy building! 🌊"


def test_model_exception_returns_none_and_the_error(trained, monkeypatch):
    rewriter = StyleRewriter(trained[0].folder)

    def boom(text, **kw):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(rewriter, "generate", boom)
    assert rewriter.rewrite("Keys expire after 24h.", None) == (
        None,
        "model error: RuntimeError: out of memory",
    )


def test_time_budget_stops_generation_with_timeout(trained):
    rewriter = StyleRewriter(trained[0].folder, time_budget_s=0.0, max_new_tokens=200, threads=2)
    text, note = rewriter.rewrite("Keys expire after 24h. [1]", None)
    assert (text, note) == (None, TIMEOUT)


@pytest.mark.slow
def test_engine_keeps_the_draft_and_records_why(sample_searcher, tmp_path, trained, monkeypatch):
    from askdesk.core.compose import ExtractiveComposer
    from askdesk.core.engine import AnswerEngine, EngineConfig
    from askdesk.core.types import Question
    from askdesk.feedback.store import FeedbackStore

    store = FeedbackStore(f"sqlite:///{tmp_path / 'a.db'}")
    rewriter = StyleRewriter(trained[0].folder, time_budget_s=0.0, threads=2)
    eng = AnswerEngine(
        sample_searcher,
        ExtractiveComposer(),
        rewriter=rewriter,
        recorder=store.interactions,
        config=EngineConfig(style_by_default=True),
        asker_salt="s",
    )
    ans = eng.answer(Question("How do I rotate my API key?"))
    assert ans.text == ans.draft and not ans.style_used and ans.style_note == TIMEOUT
    row = store.interactions.get(ans.interaction_id)
    assert row["style_note"] == TIMEOUT and row["style_used"] is False


runner = CliRunner()


def test_style_check_accepts_the_sample(env):
    r = runner.invoke(cli_app, ["style", "check", str(SAMPLE)])
    assert r.exit_code == 0, r.output
    assert "train" in r.output and "errors 0" in r.output


def test_style_check_reports_bad_lines_and_exits_1(env):
    bad = env / "bad.jsonl"
    lines = [
        {"input": "Keys expire after 90 days.", "output": "Hey there! Keys expire after 30 days."},
        {"input": "", "output": "Hey there!"},
    ]
    bad.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    r = runner.invoke(cli_app, ["style", "check", str(bad)])
    assert r.exit_code == 1
    assert "line 3" in r.output and "not valid JSON" in r.output
    bad.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    r = runner.invoke(cli_app, ["style", "check", str(bad)])
    assert r.exit_code == 1 and "line 1" in r.output and "line 2" in r.output


def test_style_use_and_list(env, trained):
    import shutil

    result, _ = trained
    root = env / "data" / "style"
    root.mkdir(parents=True)
    shutil.copytree(result.folder, root / result.version)
    r = runner.invoke(cli_app, ["style", "use", "v-nope"])
    assert r.exit_code != 0 and "no style model version" in str(r.exception)
    r = runner.invoke(cli_app, ["style", "use", result.version])
    assert r.exit_code == 0, r.output
    assert (root / "active").read_text().strip() == result.version
    r = runner.invoke(cli_app, ["style", "list"])
    assert r.exit_code == 0 and f"* {result.version}" in r.output


def test_app_wires_the_active_version_into_the_engine(env, trained, monkeypatch):
    import shutil

    from askdesk.settings import Settings
    from askdesk.wiring import App

    result, _ = trained
    monkeypatch.setenv("ASKDESK_STYLE_ENABLED", "true")
    app = App(Settings())
    assert app.style_rewriter() is None
    shutil.copytree(result.folder, app.style_root / result.version)
    (app.style_root / "active").write_text(result.version)
    rewriter = app.style_rewriter()
    assert rewriter is not None and rewriter.version == result.version
    assert app.settings.style_enabled
    monkeypatch.setenv("ASKDESK_STYLE_MODEL", "v-older")
    assert App(Settings()).active_style_version() == "v-older"


# -- decoding that cannot drop, repeat or invent a placeholder
# (askdesk.styling.generation.constrained) --


@pytest.fixture(scope="module")
def tiny_tok(tiny_base):
    from transformers import AutoTokenizer

    from askdesk.styling.generation.constrained import VocabClasses

    tok = AutoTokenizer.from_pretrained(str(tiny_base))
    return tok, VocabClasses.of(tok)


def _best_after(tiny_tok, generated: str, counts: dict[str, int], favour: str) -> str:
    """The greedy pick after `generated` when the raw scores strongly favour `favour`."""
    import torch

    from askdesk.styling.generation.constrained import PlaceholderConstraint

    tok, vocab = tiny_tok
    prompt = tok("draft", add_special_tokens=False)["input_ids"]
    ids = prompt + tok(generated, add_special_tokens=False)["input_ids"]
    end = tok.convert_tokens_to_ids("<|im_end|>")
    rule = PlaceholderConstraint(tok, vocab, counts, len(prompt), [end])
    scores = torch.zeros((1, len(tok)))
    scores[0, torch.arange(len(tok))] = -torch.arange(len(tok), dtype=torch.float) / len(tok)
    target = end if favour == "<END>" else tok(favour, add_special_tokens=False)["input_ids"][0]
    scores[0, target] = 100.0
    best = int(rule(torch.tensor([ids]), scores).argmax())
    return "<END>" if best == end else tok.decode([best])


def test_constraint_allows_only_the_drafts_placeholder_numbers(tiny_tok):
    counts = {"<F1>": 1, "<F2>": 1}
    assert _best_after(tiny_tok, "Hi <F", counts, "9") in {"1", "2"}
    assert _best_after(tiny_tok, "Hi <F1> and <F", counts, "1") == "2"  # no repeat
    assert _best_after(tiny_tok, "Hi <F2", counts, "2").startswith(">")  # no <F22>


def test_constraint_keeps_the_answer_open_until_every_placeholder_is_written(tiny_tok):
    counts = {"<F1>": 1, "<F2>": 1}
    assert _best_after(tiny_tok, "Hi <F1>.", counts, "<END>") != "<END>"
    assert _best_after(tiny_tok, "Hi <F1> and <F2>.", counts, "<END>") == "<END>"


def test_constraint_blocks_look_alikes_after_a_bracket(tiny_tok):
    counts = {"<F1>": 1}
    assert _best_after(tiny_tok, "Hi <", counts, "E") != "E"  # no <E2>
    assert _best_after(tiny_tok, "Hi <", counts, "f") != "f"  # no <f1>
    assert _best_after(tiny_tok, "Hi <", counts, "F") == "F"  # one still to write
    assert _best_after(tiny_tok, "Hi <F1> <", counts, "F") != "F"  # none left


def test_constrained_generation_never_breaks_the_placeholder_rules(trained):
    """A random model writes junk, but the junk never holds an unknown or repeated
    placeholder, and if it ended by itself every placeholder is there."""
    from askdesk.styling.guards.placeholders import protect

    rewriter = StyleRewriter(trained[0].folder, time_budget_s=30, max_new_tokens=60, threads=2)
    protected = protect("Keys expire after 24h; see https://x.example/keys. [1]")
    out, timed_out = rewriter.generate(protected.text, counts=protected.counts)
    problems = protected.problems(out)
    assert not timed_out and problems.unknown == [] and problems.duplicated == []


def test_a_looping_rewrite_falls_back_with_repetition(trained, monkeypatch):
    from askdesk.styling.generation.stops import REPETITION, repeated_line

    looped = (
        "Hey there! 👋\n\nKeys expire after <F1>. <F2>\n\nHappy building! 🌊\n\nHappy building! 🌊"
    )
    assert repeated_line(looped + "\n") == "Happy building! 🌊"
    assert repeated_line("Hey there! 👋\n\n- a\n- a\n\nHappy building! 🌊") is None  # short lines
    rewriter = StyleRewriter(trained[0].folder)
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: (looped, False))
    assert rewriter.rewrite("Keys expire after 24h. [1]", None) == (None, REPETITION)


def test_a_failing_unit_is_retried_sentence_by_sentence_and_keeps_what_still_fails(
    trained, monkeypatch
):
    """Greedy again on each sentence (no sampling: the same draft always gets the same
    answer); a sentence that still fails keeps its drafted words, the others are styled."""
    rewriter = StyleRewriter(trained[0].folder, time_budget_s=30)
    seen: list[str] = []

    def model(text, **kw):
        seen.append(text)
        if len(seen) == 1:  # the whole unit loops
            return "Hey there!\n\nKeys expire.\n\nKeys expire.", False
        if text.startswith("Keys"):  # the first sentence is styled
            return "Hey there! 👋\n\nKeys expire after **<F1>**.\n\nHappy building! 🌊", False
        return "Hey there! 👋\n\nIt is gone.\n\nHappy building! 🌊", False  # drops its fact

    monkeypatch.setattr(rewriter, "generate", model)
    draft = "Keys expire after 24h. [1] Rotate them with `tw keys rotate`."
    result = rewriter.rewrite_detail(draft)
    assert seen == [
        "Keys expire after <F1>. <F2> Rotate them with <F3>.",
        "Keys expire after <F1>.",  # its citation stays out of the model
        "Rotate them with <F1>.",
    ]
    assert result.note == "rewritten"
    assert result.text == (
        "Hey there! 👋\n\nKeys expire after **24h**. [1]\n\n"
        "Rotate them with `tw keys rotate`.\n\nHappy building! 🌊"
    )
    assert result.units_kept[0] == "repetition" and result.units_kept[1].startswith("guard:")


def test_units_pass_code_and_lists_through_and_get_one_opener_and_sign_off(trained, monkeypatch):
    rewriter = StyleRewriter(trained[0].folder, time_budget_s=30)
    seen: list[str] = []

    def model(text, **kw):
        seen.append(text)
        return f"Hey there! 👋\n\n{text}\n\nHappy building! 🌊", False

    monkeypatch.setattr(rewriter, "generate", model)
    draft = (
        "Rotate a key from the dashboard. [1]\n\n```bash\ntw keys rotate --grace 24h\n```\n\n"
        "Then:\n\n- update your deploys\n- revoke the old key\n\nOld keys stop working."
    )
    result = rewriter.rewrite_detail(draft)
    assert seen == ["Rotate a key from the dashboard.", "Old keys stop working."]
    assert result.units == 2 and result.note == "rewritten"
    assert result.text == (
        "Hey there! 👋\n\nRotate a key from the dashboard. [1]\n\n"
        "```bash\ntw keys rotate --grace 24h\n```\n\nThen:\n\n"
        "- update your deploys\n- revoke the old key\n\nOld keys stop working.\n\n"
        "Happy building! 🌊"
    )


def test_sentences_the_draft_does_not_support_are_dropped_or_fail_the_unit(
    trained, monkeypatch, tmp_path
):
    """The demo's "Wirespaces fail and services deploy.": no fact changed, but a word found
    neither in the draft nor in the examples' answers. Such a sentence is dropped (the rest
    of the rewrite stands) unless it holds a fact, in which case the draft stands."""
    import shutil

    from askdesk.styling.generation.frame import Frame

    folder = tmp_path / "v"
    shutil.copytree(trained[0].folder, folder)  # with the sample's frame: 6 pairs are too few
    style = json.loads((folder / STYLE_FILE).read_text())
    style["frame"] = Frame.learn([ex.output for ex in load_examples(SAMPLE)]).to_json()
    (folder / STYLE_FILE).write_text(json.dumps(style))
    rewriter = StyleRewriter(folder, time_budget_s=30)
    draft = "Tidewire disables an endpoint after repeated failures."
    made_up = "Hey there! 👋\n\n<F1> disables an endpoint. Wirespaces fail.\n\nHappy building! 🌊"
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: (made_up, False))
    result = rewriter.rewrite_detail(draft)
    assert result.text == "Hey there! 👋\n\nTidewire disables an endpoint.\n\nHappy building! 🌊"
    assert "Wirespaces" in result.units_kept[0]
    unsupported = "Hey there! 👋\n\n<F1> disables an endpoint. Run jobs weekly for cheaper bills."
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: (unsupported, False))
    assert "cheaper" not in rewriter.rewrite(draft)[0]
    with_fact = "Hey there! 👋\n\n<F1> Wirespaces disable an endpoint.\n\nHappy building! 🌊"
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: (with_fact, False))
    text, note = rewriter.rewrite(draft)
    assert text is None and "Wirespaces" in note and note.startswith("guard: words")
    junk = "Hey there! 👋\n\n<F1> disables an endpoint.\n\nRun: <#>\n\nHappy building! 🌊"
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: (junk, False))
    assert rewriter.rewrite(draft) == (None, "guard: markup the draft does not have: <#>")


def test_a_citation_moved_into_the_text_fails_the_guard(trained, monkeypatch):
    """The demo's "[1] disables an endpoint…": a marker in a product name's place."""
    rewriter = StyleRewriter(trained[0].folder, time_budget_s=30)
    draft = "Tidewire retries [1] and Tidewire disables it. [2]"  # [1] mid-text reaches the model
    moved = "Hey there! 👋\n\n<F2> retries <F1> and disables it.\n\nHappy building! 🌊"
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: (moved, False))
    text, note = rewriter.rewrite(draft)
    assert text is None and note == "guard: citation [1] moved into a sentence"


def test_a_version_without_a_frame_is_rewritten_as_one_unit(trained, monkeypatch, tmp_path):
    """Versions trained before frames existed: their units' openers could not be taken off,
    so the draft goes to the model whole, lists and all, as before."""
    import shutil

    folder = tmp_path / "old"
    shutil.copytree(trained[0].folder, folder)
    style = json.loads((folder / STYLE_FILE).read_text())
    style.pop("frame", None)
    (folder / STYLE_FILE).write_text(json.dumps(style))
    rewriter = StyleRewriter(folder, time_budget_s=30)
    seen: list[str] = []

    def model(text, **kw):
        seen.append(text)
        return f"Hey there! 👋\n\n{text}", False

    monkeypatch.setattr(rewriter, "generate", model)
    text, note = rewriter.rewrite("Rotate keys.\n\n- in Settings\n- or with the CLI\n\nDone.")
    assert seen == ["Rotate keys.\n\n- in Settings\n- or with the CLI\n\nDone."]
    assert note == "rewritten" and text.count("Hey there!") == 1


def test_drafted_words_kept_in_a_styled_answer_get_their_long_sentences_cut(
    trained, monkeypatch, tmp_path
):
    import shutil

    from askdesk.styling.generation.frame import Frame

    folder = tmp_path / "v"
    shutil.copytree(trained[0].folder, folder)
    style = json.loads((folder / STYLE_FILE).read_text())
    style["frame"] = Frame.learn([ex.output for ex in load_examples(SAMPLE)]).to_json()
    (folder / STYLE_FILE).write_text(json.dumps(style))
    rewriter = StyleRewriter(folder, time_budget_s=30)
    styled = "Hey there! 👋\n\nRotate keys in Settings.\n\nHappy building! 🌊"
    monkeypatch.setattr(rewriter, "generate", lambda text, **kw: (styled, False))
    long = (
        "Both keys work during the grace period, so update your secret stores and redeploy "
        "the services that use them before the old key expires."
    )
    draft = f"Rotate keys in Settings.\n\n- {long}"  # a list item: passed through, then cut
    text, note = rewriter.rewrite(draft)
    assert note == "rewritten"
    assert "- Both keys work during the grace period. So update your secret stores" in text


def test_training_calibrates_the_openers_when_the_voice_has_several(tiny_base, pairs, tmp_path):
    """A voice with a cautious opener beside the usual one: training stores an offset per
    opener, fitted on the pairs (askdesk.styling.generation.opener), and the rewriter reads it
    back."""
    cheerful = [p for p in pairs if p[1].startswith("Hey there! 👋")][:4]
    cautious = [p for p in pairs if p[1].startswith("Hey there.\n")][:4]
    assert len(cautious) == 4
    cfg = TrainConfig(
        product_terms=TERMS, max_steps=1, batch_size=2, eval_every=1, warmup_steps=0, threads=1
    )
    events: list[dict] = []
    result = train_style_model(
        cheerful + cautious, cautious[:1], tmp_path, str(tiny_base), cfg, progress=events.append
    )
    style = json.loads((result.folder / STYLE_FILE).read_text())
    assert style["frame"]["openers"] == ["Hey there! 👋", "Hey there."]
    offsets = style["frame"]["opener_offsets"]
    assert len(offsets) == 2 and offsets[0] == 0.0
    assert result.report["opener_offsets"] == offsets
    assert "calibrate" in [e["event"] for e in events]
    assert StyleRewriter(result.folder).frame.opener_offsets == tuple(offsets)


def test_concurrent_rewrites_keep_their_own_opener(trained, monkeypatch):
    """Bots rewrite several answers at once: what one thread's generation chose must not leak
    into another's answer (the decode stats are per thread)."""
    import threading

    rewriter = StyleRewriter(trained[0].folder, time_budget_s=30)
    both = threading.Barrier(2)

    def model(text, **kw):
        mine = 1 if text.startswith("Second") else 0
        rewriter.last_opener = mine
        both.wait(timeout=10)  # both threads have set theirs before either reads it
        return f"Hey there! 👋\n\n{text}\n\nHappy building! 🌊", False

    monkeypatch.setattr(rewriter, "generate", model)
    seen: dict[str, int | None] = {}

    def run(draft: str) -> None:
        seen[draft] = rewriter._unit(draft, float("inf")).opener_index

    threads = [threading.Thread(target=run, args=(d,)) for d in ("First one.", "Second one.")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen == {"First one.": 0, "Second one.": 1}
