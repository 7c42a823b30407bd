"""The HTTP API's OpenAPI 3.1 schema, served at /v1/openapi.json.

Written by hand beside the handlers (bots/http/app.py) and checked against them by
tests/test_http_api.py: every response the tests receive validates against it, and every
path here is routed."""

from __future__ import annotations

from typing import Any

from askdesk.feedback.reasons import Reason

VERSION = "1.0.0"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
    }


def _source() -> dict[str, Any]:
    """A cited source: the [n] in the answer text, and where it points."""
    return {
        "type": "object",
        "required": ["n", "title", "path"],
        "properties": {
            "n": {"type": "integer", "description": "The [n] the answer text cites."},
            "title": {"type": "string"},
            "path": {"type": "string"},
            "heading": {"type": ["string", "null"]},
            "url": {"type": ["string", "null"]},
            "score": {"type": ["number", "null"]},
        },
    }


def _message() -> dict[str, Any]:
    """One chat message the reply consists of (the answer, or a notice)."""
    return {
        "type": "object",
        "required": ["kind", "text"],
        "properties": {
            "kind": {"enum": ["answer", "notice"]},
            "text": {"type": "string"},
            "message_id": {"type": "string"},
        },
        "additionalProperties": True,
    }


def _decision() -> dict[str, Any]:
    """Whether the docs answer the question, and how sure that is."""
    return {
        "type": ["object", "null"],
        "required": ["answer"],
        "properties": {
            "answer": {"type": "boolean", "description": "false: declined (not in the docs)"},
            "reason": {"type": ["string", "null"]},
            "confidence": {"type": "number"},
        },
    }


def _ask_reply() -> dict[str, Any]:
    """The reply to POST /v1/ask."""
    return {
        "type": "object",
        "required": [
            "answer_id",
            "conversation_id",
            "answer",
            "answered",
            "hedged",
            "sources",
            "messages",
        ],
        "properties": {
            "answer_id": {
                "type": ["integer", "null"],
                "description": "Vote on it; null when nothing was asked (thanks, ok).",
            },
            "conversation_id": {
                "type": ["string", "null"],
                "description": "Send it with the next question to ask in context.",
            },
            "answer": {"type": ["string", "null"], "description": "Markdown, cites [n]."},
            "answered": {"type": "boolean"},
            "hedged": {
                "type": "boolean",
                "description": (
                    "Answered, but not sure the docs cover the question: the answer starts "
                    "with one line saying so, then the closest passage and its citation."
                ),
            },
            "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
            "decision": {"$ref": "#/components/schemas/Decision"},
            "notice": {"type": ["string", "null"]},
            "style_pending": {
                "type": "boolean",
                "description": "The team's voice is on the way: GET /v1/answers/{id} shows it.",
            },
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/Message"}},
            "error": {"type": "string"},
        },
    }


def _answer() -> dict[str, Any]:
    """An answer as GET /v1/answers/{id} shows it."""
    return {
        "type": "object",
        "required": ["answer_id", "text", "answered", "hedged", "sources"],
        "properties": {
            "answer_id": {"type": "integer"},
            "conversation_id": {"type": ["string", "null"]},
            "text": {"type": "string"},
            "answered": {"type": "boolean"},
            "hedged": {
                "type": "boolean",
                "description": (
                    "Answered, but not sure the docs cover the question: the answer starts "
                    "with one line saying so, then the closest passage and its citation."
                ),
            },
            "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
            "style_pending": {"type": "boolean"},
        },
        "additionalProperties": True,
    }


def _vote_request() -> dict[str, Any]:
    """The body of a vote."""
    reasons = [r.value for r in Reason]
    return {
        "type": "object",
        "required": ["vote"],
        "properties": {
            "vote": {"enum": ["up", "down"]},
            "reason": {"enum": reasons, "description": "With a down vote."},
            "comment": {"type": "string", "maxLength": 2000, "description": "With a down vote."},
            "user": {"type": "string", "maxLength": 200},
        },
        "additionalProperties": False,
    }


def _vote_reply() -> dict[str, Any]:
    """The reply to a vote."""
    reasons = [r.value for r in Reason]
    return {
        "type": "object",
        "required": ["answer_id", "vote", "message"],
        "properties": {
            "answer_id": {"type": "integer"},
            "vote": {"enum": ["up", "down"]},
            "reason": {"enum": [*reasons, None]},
            "comment": {"type": ["string", "null"]},
            "message": {"type": ["string", "null"], "description": "What to show the voter."},
            "reasons": {
                "type": "array",
                "description": "After a plain down vote: the reasons to offer.",
                "items": {
                    "type": "object",
                    "required": ["code", "label"],
                    "properties": {"code": {"enum": reasons}, "label": {"type": "string"}},
                },
            },
        },
    }


def _ask_request() -> dict[str, Any]:
    """The body of POST /v1/ask."""
    return {
        "type": "object",
        "required": ["question"],
        "properties": {
            "question": {"type": "string", "minLength": 1},
            "conversation_id": {
                "type": "string",
                "description": "A conversation this key started: the question is read in it.",
            },
            "user": {
                "type": "string",
                "maxLength": 200,
                "description": "Your id for the person asking (hashed before it is stored).",
            },
        },
        "additionalProperties": False,
    }


def _paths() -> dict[str, Any]:
    """Every route of bots/http/app.py, with what it answers."""
    secured = [{"apiKey": []}]
    answer_id = {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
    common = {
        "401": _error("No valid API key."),
        "413": _error("The body is over the size limit."),
    }
    return {
        "/v1/ask": {
            "post": {
                "summary": "Ask a question (in a conversation, if its id is given).",
                "security": secured,
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "A retried request with the same key gets the "
                        "first reply; the question is answered once.",
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/AskRequest"}}
                    },
                },
                "responses": {
                    "200": _json("AskReply", "The answer (or, for thanks/ok, nothing)."),
                    "400": _error("Not a question."),
                    "404": _error("No such conversation for this key."),
                    "429": _error("Over the key's rate, or a flooded conversation."),
                    **common,
                },
            }
        },
        "/v1/answers/{id}": {
            "get": {
                "summary": "An answer as it stands (styled once the rewrite is in).",
                "security": secured,
                "parameters": [answer_id],
                "responses": {
                    "200": _json("Answer", "The answer."),
                    "404": _error("No such answer for this key."),
                    "401": common["401"],
                },
            }
        },
        "/v1/answers/{id}/vote": {
            "post": {
                "summary": "Vote on an answer: up, or down with a reason and a comment.",
                "security": secured,
                "parameters": [answer_id],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/VoteRequest"}}
                    },
                },
                "responses": {
                    "200": _json("VoteReply", "Recorded (the last vote per user wins)."),
                    "400": _error("Not a vote."),
                    "404": _error("No such answer for this key."),
                    **common,
                },
            }
        },
        "/v1/health": {
            "get": {
                "summary": "200 once the index and models are loaded, else 503.",
                "responses": {
                    "200": {"description": "Ready."},
                    "503": {"description": "Starting."},
                },
            }
        },
        "/v1/openapi.json": {
            "get": {"summary": "This schema.", "responses": {"200": {"description": "OK"}}}
        },
        "/v1/chat.js": {
            "get": {
                "summary": "The embeddable chat widget (a <script> for a docs site).",
                "responses": {"200": {"description": "JavaScript"}},
            }
        },
    }


def schema() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "askdesk HTTP API",
            "version": VERSION,
            "description": "Answers from your docs, with sources; votes on answers.",
        },
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "Source": _source(),
                "Message": _message(),
                "Decision": _decision(),
                "AskRequest": _ask_request(),
                "AskReply": _ask_reply(),
                "Answer": _answer(),
                "VoteRequest": _vote_request(),
                "VoteReply": _vote_reply(),
            },
        },
        "paths": _paths(),
    }
