"""Create, list, revoke and look up stored API tokens (table `api_tokens`).

Look-ups go by SHA-256 digest only. `last_used_at` is written at most once per `touch_every`
per token, so authenticating a busy client does not turn every request into a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from activities.token_tables import ApiTokenRow
from slaflow.api_tokens import new_token, token_hint
from slaflow.roles import Role, token_digest

TOUCH_EVERY = timedelta(minutes=1)


class TokenStoreError(LookupError):
    """A token operation refused; the message says why."""


class TokenNotFound(TokenStoreError):
    """No token has that name or id."""


class TokenConflict(TokenStoreError):
    """The name is taken, or the token was revoked already."""


@dataclass(frozen=True)
class CreatedToken:
    row: ApiTokenRow
    token: str
    """The plaintext: shown once, never stored."""


def create_token(
    engine: Engine, name: str, role: Role, now: datetime, person_id: int | None = None
) -> CreatedToken:
    """A token for a person (`person_id`), or for an integration named `name`."""
    token = new_token()
    row = ApiTokenRow(
        name=name,
        role=role.value,
        person_id=person_id,
        digest=token_digest(token),
        hint=token_hint(token),
        created_at=now,
    )
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            raise TokenConflict(
                f"a token named {name!r} exists already (revoked tokens keep their "
                "names); choose another name"
            ) from None
    return CreatedToken(row=row, token=token)


def list_tokens(engine: Engine) -> list[ApiTokenRow]:
    with Session(engine) as session:
        return list(session.exec(select(ApiTokenRow).order_by(col(ApiTokenRow.id))))


def find_token(engine: Engine, name_or_id: str) -> ApiTokenRow:
    """By numeric id, else by name (names are never all digits)."""
    with Session(engine) as session:
        if name_or_id.isascii() and name_or_id.isdigit():
            number = int(name_or_id)
            row = session.get(ApiTokenRow, number) if number < 2**63 else None
        else:
            row = session.exec(select(ApiTokenRow).where(ApiTokenRow.name == name_or_id)).first()
    if row is None:
        raise TokenNotFound(
            f"no token has the name or id {name_or_id!r}; see `slaflow token list` or GET /tokens"
        )
    return row


def revoke_token(engine: Engine, name_or_id: str, now: datetime) -> ApiTokenRow:
    row = find_token(engine, name_or_id)
    with Session(engine, expire_on_commit=False) as session:
        revoked = session.exec(
            update(ApiTokenRow)
            .where(col(ApiTokenRow.id) == row.id, col(ApiTokenRow.revoked_at).is_(None))
            .values(revoked_at=now)
        )
        session.commit()
    if revoked.rowcount == 0:
        raise TokenConflict(f"token {row.name!r} (id {row.id}) was revoked already")
    row.revoked_at = now
    return row


def role_of_digest(
    engine: Engine, digest: str, now: datetime, *, touch_every: timedelta = TOUCH_EVERY
) -> Role | None:
    """The role of the unrevoked token with this digest, or None; notes when it was used."""
    row = token_of_digest(engine, digest, now, touch_every=touch_every)
    return None if row is None else Role(row.role)


def token_of_digest(
    engine: Engine, digest: str, now: datetime, *, touch_every: timedelta = TOUCH_EVERY
) -> ApiTokenRow | None:
    """The unrevoked token with this digest, or None; notes when it was used."""
    with Session(engine) as session:
        row = session.exec(
            select(ApiTokenRow).where(
                ApiTokenRow.digest == digest, col(ApiTokenRow.revoked_at).is_(None)
            )
        ).first()
        if row is None:
            return None
        if row.last_used_at is None or now - row.last_used_at >= touch_every:
            session.exec(
                update(ApiTokenRow).where(col(ApiTokenRow.id) == row.id).values(last_used_at=now)
            )
            session.commit()
            session.refresh(row)
        session.expunge(row)
        return row


def name_of_digest(engine: Engine, digest: str) -> str | None:
    """The name of the unrevoked token with this digest, or None."""
    with Session(engine) as session:
        return session.exec(
            select(ApiTokenRow.name).where(
                ApiTokenRow.digest == digest, col(ApiTokenRow.revoked_at).is_(None)
            )
        ).first()
