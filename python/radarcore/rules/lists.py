"""Value lists (``@alias`` in rules): item types, item expiry, and Radar's default lists.

>>> blocked = ValueList("blocked_emails", item_type="email", items=["Fraud@Example.com"])
>>> blocked.contains("fraud@example.com")
True
>>> [v.alias for v in default_lists()][:2]
['default_card_bin_allow_list', 'default_card_bin_block_list']
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from radarcore.errors import ValueListError
from radarcore.rules.catalogue import Attribute, ValueType

__all__ = [
    "DEFAULT_LIST_KINDS",
    "FINGERPRINT_ALLOW_LIFETIME",
    "ITEM_TYPES",
    "MAX_ITEMS",
    "ItemType",
    "ValueList",
    "ValueListItem",
    "default_lists",
]

ItemType = Literal[
    "account",
    "card_bin",
    "card_fingerprint",
    "case_sensitive_string",
    "country",
    "crypto_fingerprint",
    "customer_id",
    "email",
    "ip_address",
    "sepa_debit_fingerprint",
    "string",
    "us_bank_account_fingerprint",
]
ITEM_TYPES: tuple[str, ...] = get_args(ItemType)
MAX_ITEMS = 50_000
"""Items per list (Stripe's limit)."""
FINGERPRINT_ALLOW_LIFETIME = 30 * 86_400
"""Entries on default fingerprint allow lists expire after at most 30 days (seconds)."""

_CASE_SENSITIVE_TYPES = frozenset(
    {
        "account",
        "card_fingerprint",
        "case_sensitive_string",
        "crypto_fingerprint",
        "customer_id",
        "sepa_debit_fingerprint",
        "us_bank_account_fingerprint",
    }
)
_ATTRIBUTES_BY_TYPE: dict[str, frozenset[str]] = {
    "account": frozenset({"account", "destination"}),
    "card_bin": frozenset({"card_bin"}),
    "card_fingerprint": frozenset({"card_fingerprint"}),
    "crypto_fingerprint": frozenset({"crypto_fingerprint"}),
    "customer_id": frozenset({"customer"}),
    "email": frozenset({"email"}),
    "ip_address": frozenset({"ip_address"}),
    "sepa_debit_fingerprint": frozenset({"sepa_debit_fingerprint"}),
    "us_bank_account_fingerprint": frozenset({"us_bank_account_fingerprint"}),
}
_ALIAS = re.compile(r"[A-Za-z0-9_\-]{1,100}")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
_CARD_BIN = re.compile(r"\d{6,8}")


@dataclass(frozen=True)
class ValueListItem:
    """One list value; ``expires_at`` (Unix seconds) is when it stops taking part in rules."""

    value: str
    expires_at: int | None = None

    def live(self, at: int | None) -> bool:
        """Whether the item takes part in evaluation at ``at`` (``None``: ignore expiry)."""
        return at is None or self.expires_at is None or at < self.expires_at


class ValueList:
    """A saved list of values referenced in rules as ``@alias``.

    ``item_type`` is one of :data:`ITEM_TYPES` (Stripe's ``radar.value_list`` enum) and decides
    how values match: fingerprints, ids and ``case_sensitive_string`` exactly, the rest
    case-insensitively. ``max_lifetime`` (seconds) forces every item to expire within that time
    of ``created``, as Stripe does for default fingerprint allow lists.
    """

    def __init__(
        self,
        alias: str,
        *,
        item_type: ItemType = "string",
        items: Iterable[str | ValueListItem] = (),
        name: str | None = None,
        max_lifetime: int | None = None,
    ) -> None:
        if not isinstance(alias, str) or not _ALIAS.fullmatch(alias):
            raise ValueListError(
                f"list alias {alias!r} must be 1 to 100 letters, digits, '_' or '-'"
            )
        if item_type not in ITEM_TYPES:
            raise ValueListError(
                f"unknown item_type {item_type!r}; expected one of {', '.join(ITEM_TYPES)}"
            )
        name = alias if name is None else name
        if len(name) > 100:
            raise ValueListError(f"list name is at most 100 characters, got {len(name)}")
        self.alias = alias
        self.name = name
        self.item_type: ItemType = item_type
        self.max_lifetime = max_lifetime
        self._items: dict[str, ValueListItem] = {}
        for item in items:
            if isinstance(item, ValueListItem):
                self.add(item.value, expires_at=item.expires_at)
            else:
                self.add(item)

    def __repr__(self) -> str:
        return f"ValueList({self.alias!r}, item_type={self.item_type!r}, items={len(self)})"

    def __len__(self) -> int:
        return len(self._items)

    @property
    def case_sensitive(self) -> bool:
        """Whether values match exactly (otherwise case-insensitively)."""
        return self.item_type in _CASE_SENSITIVE_TYPES

    @property
    def items(self) -> tuple[ValueListItem, ...]:
        """The items, in insertion order."""
        return tuple(self._items.values())

    def _key(self, value: str) -> str:
        return value if self.case_sensitive else value.casefold()

    def add(self, value: str, *, expires_at: int | None = None, created: int | None = None) -> None:
        """Add ``value`` (replacing an equal one). ``created`` is required on lists with a
        ``max_lifetime``; their items expire at ``created + max_lifetime`` at the latest."""
        if not isinstance(value, str):
            raise TypeError(f"list values are str, not {type(value).__name__}")
        self._check_value(value)
        if self.max_lifetime is not None:
            if created is None:
                raise ValueListError(
                    f"@{self.alias} items expire within {self.max_lifetime} s: pass created="
                )
            latest = created + self.max_lifetime
            if expires_at is not None and expires_at > latest:
                raise ValueListError(
                    f"@{self.alias} items expire at most {self.max_lifetime} s after created"
                )
            expires_at = latest if expires_at is None else expires_at
        key = self._key(value)
        if key not in self._items and len(self._items) >= MAX_ITEMS:
            raise ValueListError(f"@{self.alias} already holds the maximum of {MAX_ITEMS} items")
        self._items[key] = ValueListItem(value, expires_at)

    def remove(self, value: str) -> None:
        """Remove ``value``; a value not in the list is ignored."""
        self._items.pop(self._key(value), None)

    def contains(self, value: str, at: int | None = None) -> bool:
        """Whether ``value`` matches a live item at time ``at`` (``None``: ignore expiry)."""
        item = self._items.get(self._key(value))
        return item is not None and item.live(at)

    def accepts(self, attribute: Attribute | None) -> bool:
        """Whether rules may test ``attribute`` (``None`` for metadata) against this list."""
        if attribute is None:
            return True
        if not attribute.value_type.is_string:
            return False
        if self.item_type == "country":
            return attribute.value_type is ValueType.COUNTRY
        allowed = _ATTRIBUTES_BY_TYPE.get(self.item_type)
        return allowed is None or attribute.name in allowed

    def _check_value(self, value: str) -> None:
        problem = None
        if not value or len(value) > 800:
            problem = "must be 1 to 800 characters"
        elif self.item_type == "country" and not _COUNTRY.fullmatch(value):
            problem = "is not a 2-letter country code"
        elif self.item_type == "card_bin" and not _CARD_BIN.fullmatch(value):
            problem = "is not a card BIN (6 to 8 digits)"
        elif self.item_type == "email" and "@" not in value:
            problem = "is not an email address"
        elif self.item_type == "ip_address":
            try:
                ipaddress.ip_address(value)
            except ValueError:
                problem = "is not an IP address"
        if problem is not None:
            raise ValueListError(f"{value[:40]!r} {problem} ({self.item_type} list @{self.alias})")


DEFAULT_LIST_KINDS: dict[str, tuple[ItemType, str]] = {
    "card_bin": ("card_bin", "card_bin"),
    "card_country": ("country", "card_country"),
    "card_fingerprint": ("card_fingerprint", "card_fingerprint"),
    "charge_description": ("string", "charge_description"),
    "ip_country": ("country", "ip_country"),
    "ip_address": ("ip_address", "ip_address"),
    "customer_id": ("customer_id", "customer"),
    "email": ("email", "email"),
    "email_domain": ("string", "email_domain"),
    "us_bank_account_fingerprint": ("us_bank_account_fingerprint", "us_bank_account_fingerprint"),
    "sepa_debit_fingerprint": ("sepa_debit_fingerprint", "sepa_debit_fingerprint"),
}
"""Default list kind -> (item type, attribute the default rules test). Aliases are
``default_<kind>_allow_list`` and ``default_<kind>_block_list``."""


def default_lists() -> list[ValueList]:
    """Radar's default allow and block lists (section 3.2), empty, one pair per kind."""
    lists = []
    for kind, (item_type, _) in sorted(DEFAULT_LIST_KINDS.items()):
        for verb in ("allow", "block"):
            lifetime = (
                FINGERPRINT_ALLOW_LIFETIME
                if verb == "allow" and item_type.endswith("fingerprint")
                else None
            )
            lists.append(
                ValueList(
                    f"default_{kind}_{verb}_list",
                    item_type=item_type,
                    name=f"Default {kind.replace('_', ' ')} {verb} list",
                    max_lifetime=lifetime,
                )
            )
    return lists
