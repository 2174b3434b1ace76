"""Shared fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from radarcore import FeatureExtractor

T0 = 1_699_920_000  # 2023-11-14T00:00:00Z: on a day boundary, so every bucket edge is easy to hit


@pytest.fixture
def fx() -> FeatureExtractor:
    return FeatureExtractor(anonymous_ips=["198.51.100.0/24", "2001:db8:dead::7"])


@pytest.fixture
def payment() -> dict[str, Any]:
    """A complete card payment at T0."""
    return {
        "id": "ch_1",
        "created": T0,
        "amount": 2_000,
        "currency": "usd",
        "card_fingerprint": "fp_A",
        "card_bin": "424242",
        "card_brand": "visa",
        "card_funding": "credit",
        "card_country": "US",
        "customer": "cus_1",
        "email": "jane.doe@example.com",
        "name": "Jane Doe",
        "billing_line1": "1 Main St",
        "billing_city": "Brooklyn",
        "billing_state": "NY",
        "billing_postal_code": "10022",
        "billing_country": "US",
        "ip_address": "203.0.113.7",
        "ip_country": "US",
        "device_id": "dev_1",
        "merchant": "acct_1",
    }
