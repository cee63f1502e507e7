"""Bearer-token authentication with roles, for every route but health and Slack.

Roles are ordered: intake < agent < manager < admin, and each includes the ones before it, so
a manager may also act on tickets and an admin may do everything. A token is looked up by its
SHA-256 digest, so tokens configured in settings are compared the same way stored ones will be,
never as plain strings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from slaflow.roles import Role, token_digest
from starter.api.deps import app_state
from starter.api.errors import responses

AUTH_ERRORS = responses(401, 403)


def role_for(token: str, roles_by_digest: dict[str, Role]) -> Role | None:
    """Looked up by digest: what is compared is never the token itself."""
    return roles_by_digest.get(token_digest(token))


_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer <token>`")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def require_role(required: Role) -> Callable[[Request, BearerDep], Awaitable[Role]]:
    """A dependency that answers 401 without a known token and 403 when its role is too low."""

    async def check(request: Request, credentials: BearerDep) -> Role:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="header.Authorization: missing; send `Authorization: Bearer <token>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        role = role_for(credentials.credentials, app_state(request.app).token_roles)
        if role is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                detail="header.Authorization: unknown or revoked token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if not role.includes(required):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"this needs the {required.value} role; the token's role is {role.value}",
            )
        return role

    return check


def requires(role: Role) -> list[Any]:
    """`dependencies=requires(Role.MANAGER)` on a router or a route."""
    return [Depends(require_role(role))]
