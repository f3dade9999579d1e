"""Reviewers' sign-in: argon2 password hashes in the store, the signed-in name in a signed session cookie.

argon2-cffi does the hashing and the constant-time check; the store keeps only the hash
(``engine.store.reviewing``). Every write the app accepts needs ``signed_in_reviewer`` to answer a name.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.requests import Request

from engine.store import Store
from engine.store.reviewing import reviewer_hash, set_reviewer

SESSION_KEY = "reviewer"
_hasher = PasswordHasher()
# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no such reviewer")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_reviewer(store: Store, name: str, password: str) -> None:
    """Create a reviewer (or give one a new password); only the argon2 hash is stored."""
    if not name.strip() or len(name) > 128:
        raise ValueError("a reviewer's name is 1 to 128 characters")
    if len(password) < 8:
        raise ValueError("a password has at least 8 characters")
    set_reviewer(store, name.strip(), hash_password(password))


def check_password(store: Store, name: str, password: str) -> bool:
    """True when ``name`` is a reviewer and ``password`` is theirs."""
    stored = reviewer_hash(store, name)
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def signed_in_reviewer(request: Request) -> str | None:
    return request.session.get(SESSION_KEY)


def sign_in(request: Request, name: str) -> None:
    request.session.clear()
    request.session[SESSION_KEY] = name


def sign_out(request: Request) -> None:
    request.session.clear()
