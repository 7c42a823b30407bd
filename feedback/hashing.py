"""Pseudonymous user ids for the feedback store."""

from __future__ import annotations

import hashlib
import hmac


def hash_user(salt: str, platform: str, user_id: str) -> str:
    """Pseudonymise a chat user before anything about them is stored.

    Raw Slack/Discord ids are personal data and the store must not keep them: the keyed hash
    still tells one voter from another (one vote per user and answer) without revealing who
    they are, and without the salt nobody can test a guessed id against it. Because the same
    salt gives the same hash, a later "forget me" request can recompute it and find that user's
    rows. The platform is part of the input so equal ids on two platforms stay distinct.
    """
    if not salt:
        raise ValueError("hash_user needs a non-empty salt: without one a user id can be guessed")
    digest = hmac.new(salt.encode(), f"{platform}:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:32]
