"""Extract the Perl FAQ and the Z shell FAQ into question/answer pairs, as ../shared/eval has them.

Issue 19's dev data that looks like real docs: FAQs whose answers run over several paragraphs,
lists and code. The sources are Debian's own files (perl-doc: perlfaq1-9.pod; zsh-common/zsh-doc:
FAQ.gz); the pairs are written to bench/data/<name>.jsonl (one line each: id, source, file,
section, question, answer), the schema of ../shared/eval, so `bench/_faq_sets.build` turns them
into answer-level pages (no question text anywhere) like the other dev sets.

The built files are kept in the repository (small, and redistribution is allowed by both
notices, see bench/data/LICENSES.md) so a benchmark run needs neither package; this script
rebuilds them and `--check` says whether the committed files still match the installed docs.

    python bench/debian_faqs.py [--check]

Conversion: POD paragraphs become Markdown paragraphs, verbatim (indented) paragraphs become
fenced code, `=item` lists become `-` items, formatting codes keep their text (C<x> as `x`).
The zsh FAQ's indented lines (4+ spaces) become fenced code; its paragraphs are re-flowed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path

PERL_POD = Path("/usr/share/perl/5.36/pod")
ZSH_FAQ = (Path("/usr/share/doc/zsh-common/FAQ.gz"), Path("/usr/share/doc/zsh-doc/FAQ.gz"))
OUT = Path(__file__).resolve().parent / "data"
SETS = ("perlfaq", "zsh_faq")
_SKIP_HEAD1 = {"NAME", "VERSION", "DESCRIPTION", "AUTHOR AND COPYRIGHT", "REVISION"}
_CODE = re.compile(r"([A-Z])<<+\s+(.*?)\s+>>+|([A-Z])<([^<>]*)>", re.S)


def _pod_inline(text: str) -> str:
    """POD formatting codes to plain Markdown: C<x> -> `x`, L<text|target> -> text, E<lt> -> <."""
    escapes = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&"}

    def one(m: re.Match[str]) -> str:
        code = m.group(1) or m.group(3)
        body = m.group(2) if m.group(1) else m.group(4)
        if code == "E":
            return escapes.get(body, body)
        if code == "L":
            body = body.split("|", 1)[0]
            return body.replace('"', "").replace("/", " ").strip()
        if code == "C":
            return f"`{body}`"
        if code in ("Z", "X", "S") and code != "S":
            return ""
        return body

    prev = None
    while prev != text:  # nested codes: the innermost first
        prev = text
        text = _CODE.sub(one, text)
    return text


def _pod_blocks(lines: list[str]) -> list[str]:
    """One answer's POD lines as Markdown blocks."""
    paras: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paras[-1].append(line.rstrip())
        elif paras[-1]:
            paras.append([])
    out: list[str] = []
    in_code = False
    for p in paras:
        if not p:
            continue
        if p[0][:1] in (" ", "\t"):  # verbatim: code, consecutive ones are one block
            body = "\n".join(p)
            if in_code:
                out[-1] = out[-1][: -len("\n```")] + "\n\n" + body + "\n```"
            else:
                out.append(f"```\n{body}\n```")
            in_code = True
            continue
        in_code = False
        text = " ".join(s.strip() for s in p)
        if text.startswith(("=over", "=back", "=begin", "=end", "=for", "=cut", "=pod")):
            continue
        if text.startswith("=item"):
            label = _pod_inline(text[len("=item") :].strip()).lstrip("*").strip()
            out.append(f"- {label}" if label else "-")
            continue
        text = _pod_inline(text)
        last = out[-1] if out else ""
        if last.startswith("- ") and "\n" not in last and len(last.split()) < 12:
            out[-1] = f"{last}: {text}"  # an item's label and its text read as one
            continue
        out.append(text)
    return out


def perl_pairs() -> list[dict[str, str]]:
    pairs: list[dict[str, str]] = []
    for n in range(1, 10):
        path = PERL_POD / f"perlfaq{n}.pod"
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        title = ""
        for i, line in enumerate(lines):
            if line.startswith("=head1 NAME"):
                name = next(x for x in lines[i + 1 :] if x.strip())
                title = name.split(" - ", 1)[-1].strip()
                break
        section = title
        entries: list[tuple[str, str, list[str]]] = []  # (section, question, POD lines)
        for line in lines:
            if line.startswith("=head1"):
                head = line[len("=head1") :].strip()
                entries.append(("", "", []))  # a head1 ends the answer before it
                if head not in _SKIP_HEAD1:
                    section = head
            elif line.startswith("=head2"):
                entries.append((section, line[len("=head2") :].strip(), []))
            elif entries:
                entries[-1][2].append(line)
        q_no = 0
        for sec, question, body in entries:
            answer = "\n\n".join(_pod_blocks(body)).strip()
            if not question or len(answer.split()) < 8:
                continue
            q_no += 1
            pairs.append(
                {
                    "id": f"perlfaq{n}-{q_no}",
                    "source": "perl-doc 5.36 (Debian)",
                    "file": f"perlfaq{n}.pod",
                    "section": sec,
                    "question": _pod_inline(question),
                    "answer": answer,
                }
            )
    return pairs


def _zsh_blocks(lines: list[str]) -> list[str]:
    """The zsh FAQ's plain text: 4+ space lines are code, the rest re-flowed paragraphs."""
    out: list[str] = []
    prose: list[str] = []
    code: list[str] = []

    def end_prose() -> None:
        if prose:
            out.append(" ".join(prose))
            prose.clear()

    def end_code() -> None:
        if code:
            while code and not code[-1].strip():
                code.pop()
            if code:
                out.append("```\n" + "\n".join(code) + "\n```")
            code.clear()

    for raw in lines:
        line = raw.rstrip()
        indent = len(line) - len(line.lstrip(" "))
        if not line.strip():
            if code:
                code.append("")
            else:
                end_prose()
            continue
        if indent >= 4:
            end_prose()
            code.append(line[4:] if line.startswith("    ") else line.strip())
            continue
        end_code()
        prose.append(line.strip())
    end_prose()
    end_code()
    return out


def zsh_pairs() -> list[dict[str, str]]:
    path = next((p for p in ZSH_FAQ if p.is_file()), None)
    if path is None:
        raise SystemExit("error: the Z shell FAQ is not installed (apt-get install zsh-doc)")
    lines = gzip.decompress(path.read_bytes()).decode("utf-8", errors="replace").splitlines()
    start = next(i for i, x in enumerate(lines) if re.match(r"^Chapter 1:", x) and i > 100)
    end = next(i for i, x in enumerate(lines) if x.startswith("Acknowledgments:"))
    pairs: list[dict[str, str]] = []
    chapter = ""
    question: str | None = None
    q_id = ""
    body: list[str] = []

    def flush() -> None:
        if question is None:
            return
        answer = "\n\n".join(_zsh_blocks(body)).strip()
        if len(answer.split()) >= 8:
            pairs.append(
                {
                    "id": f"zsh-{q_id}",
                    "source": "zsh-doc 5.9 (Debian), FAQ 2020/08/08",
                    "file": "FAQ",
                    "section": chapter,
                    "question": question,
                    "answer": answer,
                }
            )

    for line in lines[start:end]:
        m_ch = re.match(r"^Chapter \d+:\s*(.+)$", line)
        m_q = re.match(r"^(\d+\.\d+):\s*(.+)$", line)
        if m_ch:
            flush()
            question, body = None, []
            chapter = m_ch.group(1).strip()
        elif m_q:
            flush()
            q_id, question, body = m_q.group(1), m_q.group(2).strip(), []
        elif question is not None:
            body.append(line)
    flush()
    return pairs


def build_all() -> dict[str, list[dict[str, str]]]:
    return {"perlfaq": perl_pairs(), "zsh_faq": zsh_pairs()}


def _dump(pairs: list[dict[str, str]]) -> str:
    return "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the committed files")
    args = p.parse_args()
    stale = False
    for name, pairs in build_all().items():
        path = OUT / f"{name}.jsonl"
        text = _dump(pairs)
        words = [len(x["answer"].split()) for x in pairs]
        summary = (
            f"{name}: {len(pairs)} pairs, {len({x['section'] for x in pairs})} sections, "
            f"answers {sum(words) / len(words):.0f} words on average"
        )
        if args.check:
            same = path.is_file() and path.read_text(encoding="utf-8") == text
            stale |= not same
            print(f"{summary}: {'up to date' if same else 'DIFFERS from ' + str(path)}")
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"{summary} -> {path}")
    sys.exit(1 if stale else 0)


if __name__ == "__main__":
    main()
