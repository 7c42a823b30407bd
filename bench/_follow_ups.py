"""The follow-up set: a first question, then an elliptical second one answered on the same page.

Two sources, both with references nobody here wrote:
- the Tidewire sample docs: first and second turns written against the pages, the reference
  answer quoted from the page that holds it;
- the dev FAQs (construction, sqlite3, git; bench/_faq_sets.py answer-level pages): the first
  turn is an FAQ question, the second is another FAQ question *of the same page* rewritten as
  a user would ask it after the first ("and using SSH?"); its reference is that FAQ's answer.
  Only the elliptical wording is ours; the builder checks both FAQs sit on one page.

Each line of bench/follow_ups.jsonl:
`{"id", "set", "first", "follow_up", "full", "answer", "sources"}` where `full` is the
second question as it stands in the FAQ (None for Tidewire) and `sources` the page(s).

    python bench/_follow_ups.py   # rewrites bench/follow_ups.jsonl
"""

from __future__ import annotations

import json
from pathlib import Path

from _faq_sets import build

OUT = Path(__file__).resolve().parent / "follow_ups.jsonl"

# (first question, follow-up, reference answer quoted from the page, page)
TIDEWIRE = [
    (
        "How do I install the CLI?",
        "and on Windows?",
        "scoop bucket add tidewire https://github.example/tidewire/scoop-bucket scoop install tw. "
        "You can also download a signed .zip from https://docs.tidewire.example/cli/downloads "
        "and put tw.exe on your PATH.",
        "getting-started/install-cli.md",
    ),
    (
        "How do I install the CLI?",
        "what about with Docker?",
        "docker run --rm -e TIDEWIRE_API_KEY ghcr.example/tidewire/tw:3.4.0 jobs list",
        "getting-started/install-cli.md",
    ),
    (
        "How do I install the CLI?",
        "and how do I update it later?",
        "tw update self-update for script installs; brew upgrade tw for Homebrew installs. The "
        "CLI checks for new versions once a day and prints a one-line notice. Set "
        "TW_NO_UPDATE_CHECK=1 to turn that off.",
        "getting-started/install-cli.md",
    ),
    (
        "How many API requests per minute can a workspace make?",
        "and how many events per second can it ingest?",
        "Events arriving at source URLs or through POST /v2/events are limited per workspace: "
        "Free 10, Team 100, Business 500 events per second.",
        "api/rate-limits.md",
    ),
    (
        "How much does the Team plan cost?",
        "and the Business plan?",
        "The Business plan costs $399 per month with monthly billing, or $3,990 per year with "
        "annual billing.",
        "billing/plans.md",
    ),
    (
        "What are the hours of email support?",
        "and for a Sev1 incident on Business?",
        "Business customers can report Sev1 incidents (production fully unavailable) 24/7 "
        "through Help → Contact support in the dashboard and receive a first response within "
        "1 hour.",
        "billing/plans.md",
    ),
    (
        "How long is event data kept on the Team plan?",
        "and once it expires, is it gone for good?",
        "Expired payloads and logs are permanently deleted from the primary database within "
        "24 hours after the retention period ends. Copies in backups are overwritten as backups "
        "rotate, which takes at most 35 days. Deleted data cannot be restored by support.",
        "account/data-retention.txt",
    ),
    (
        "How long is a deleted workspace kept?",
        "and if I delete my user account?",
        "Deleting your user account (Profile > Delete account) removes your name, email and "
        "login data within 30 days. You must first leave or delete every workspace where you "
        "are the only Owner.",
        "account/data-retention.txt",
    ),
    (
        "Which Python versions does the Python SDK support?",
        "does it have an async client?",
        "Since 2.7.0 the SDK ships an asyncio client with the same methods: from tidewire "
        "import AsyncClient; async with AsyncClient() as client.",
        "guides/python-sdk.md",
    ),
    (
        "Which Node.js version does the Node SDK need?",
        "and how do I install it?",
        "npm install @tidewire/node or pnpm add @tidewire/node",
        "guides/node-sdk.md",
    ),
    (
        "Which identity providers work with SSO?",
        "and is SCIM supported too?",
        "SCIM 2.0 keeps members in sync automatically and removes people from Tidewire when "
        "they are deactivated in your IdP. Under Settings → Security → SCIM, click Generate "
        "token. In your IdP, set the SCIM base URL to https://api.tidewire.example/scim/v2 and "
        "paste the token as a bearer token.",
        "security/sso-saml.md",
    ),
    (
        "How do I turn on two-factor authentication?",
        "and what if I lose my phone?",
        "On the sign-in screen, choose Use a recovery code and enter one of your recovery "
        "codes. Go to Profile → Security, remove the lost device and set up a new one. "
        "Generate new recovery codes if you have used most of them.",
        "security/two-factor-authentication.html",
    ),
    (
        "How do I verify a webhook signature?",
        "and how old can the timestamp be?",
        "Reject the request if t is more than 300 seconds (5 minutes) away from your server's "
        "current time. This stops replay attacks.",
        "security/webhook-signatures.md",
    ),
]

# (FAQ id of the first turn, FAQ id of the second, the second as an elliptical follow-up)
FAQ = {
    "sqlite3_faq": [
        ("sqlite3-faq-0007", "sqlite3-faq-0008", "and the maximum size of a VARCHAR?"),
        ("sqlite3-faq-0008", "sqlite3-faq-0009", "does it have a BLOB type too?"),
        ("sqlite3-faq-0004", "sqlite3-faq-0005", "and is it threadsafe?"),
        ("sqlite3-faq-0000", "sqlite3-faq-0001", "and what datatypes does it support?"),
        ("sqlite3-faq-0014", "sqlite3-faq-0019", "what about SQLITE_CORRUPT?"),
        ("sqlite3-faq-0010", "sqlite3-faq-0011", "and why doesn't deleting shrink the file?"),
        ("sqlite3-faq-0017", "sqlite3-faq-0018", "and if I deleted something by mistake?"),
    ],
    "git_faq": [
        ("git-faq-0006", "git-faq-0007", "and using SSH?"),
        ("git-faq-0003", "git-faq-0004", "and can it come from an environment variable?"),
        ("git-faq-0008", "git-faq-0009", "and if the bug is already in the main branch?"),
        ("git-faq-0000", "git-faq-0002", "and a different editor?"),
        ("git-faq-0005", "git-faq-0006", "and with several accounts on the same host?"),
    ],
    "construction_faq_en": [
        ("bygglov-001", "bygglov-002", "how long does it take to get one?"),
        ("bygglov-001", "bygglov-003", "and what does it cost?"),
        ("bygglov-005", "bygglov-007", "and what happens if I do?"),
        ("omvand-001", "omvand-002", "when does it apply?"),
        ("omvand-002", "omvand-004", "and to materials?"),
        ("omvand-003", "omvand-007", "and how is it reported in the tax return?"),
        ("radon-fuktskador-001", "radon-fuktskador-002", "how is it measured?"),
        ("radon-fuktskador-002", "radon-fuktskador-003", "and how do I lower it?"),
        ("garantier-001", "garantier-003", "and under ABS 18?"),
        ("garantier-001", "garantier-002", "and the liability period?"),
        ("buller-granne-001", "buller-granne-002", "and what is the noise limit?"),
        ("isolering-001", "isolering-003", "how thick should it be?"),
        ("isolering-002", "isolering-004", "does it qualify for ROT?"),
        ("el-001", "el-002", "must I use an authorized one?"),
        ("el-002", "el-003", "how do I check that?"),
        ("rut-009", "rut-010", "does moving help qualify?"),
        ("dispute-001", "dispute-005", "and how long do I have to complain?"),
    ],
}


def rows() -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for i, (first, follow, answer, page) in enumerate(TIDEWIRE):
        out.append(
            {
                "id": f"tidewire-{i:02d}",
                "set": "tidewire",
                "first": first,
                "follow_up": follow,
                "full": None,
                "answer": answer,
                "sources": [page],
            }
        )
    for name, specs in FAQ.items():
        items = {it.id: it for it in build(name).items}
        for first_id, second_id, follow in specs:
            first, second = items[first_id], items[second_id]
            if first.doc_id != second.doc_id:
                raise SystemExit(f"{first_id} and {second_id} are not on one page")
            out.append(
                {
                    "id": f"{first_id}+{second_id}",
                    "set": name,
                    "first": first.question,
                    "follow_up": follow,
                    "full": second.question,
                    "answer": second.answer,
                    "sources": [second.doc_id],
                }
            )
    return out


def load() -> list[dict[str, object]]:
    with OUT.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


if __name__ == "__main__":
    data = rows()
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in data), "utf-8")
    print(f"{len(data)} follow-ups written to {OUT}")
