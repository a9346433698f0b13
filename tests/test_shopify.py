"""A shop caller hears their order's live status from Shopify (issue #18), and an outage is said as one.

The contract is Shopify's Admin GraphQL API as documented: ``POST /admin/api/<version>/graphql.json``
with ``X-Shopify-Access-Token``, an ``orders(query: "name:#1001")`` search, and its answers (an order,
none, a 503, a throttled query answered 200 with ``errors``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from appliance.dialog.engine import Business
from appliance.dialog.profile import load_profile
from appliance.errors import ConfigError
from appliance.integrations.connectors import load_connectors
from appliance.integrations.shopify import ShopifyConnector, ShopifyOrders, live_orders
from appliance.store import Store

SHOP = Path(__file__).parent / "scenarios" / "profiles" / "corner-shop.toml"
NOW = datetime(2026, 12, 3, 11, 0, tzinfo=ZoneInfo("America/Denver"))


def order(**fields: object) -> dict[str, object]:
    node = {
        "name": "#1001",
        "displayFulfillmentStatus": "UNFULFILLED",
        "displayFinancialStatus": "PAID",
        "cancelledAt": None,
        "totalPriceSet": {"shopMoney": {"amount": "54.0", "currencyCode": "USD"}},
    }
    return {"data": {"orders": {"nodes": [node | fields]}}, "extensions": {"cost": {"requestedQueryCost": 3}}}


class Shop:
    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        return self.answers.pop(0)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "shop.db")
    yield store
    store.close()


def shop_with(store: Store, shop: Shop) -> Business:
    connector = ShopifyConnector("shop", (), None, {"shop": "corner-bikes", "token": "shpat_test", "orders": True})
    orders = ShopifyOrders(connector, transport=httpx.MockTransport(shop))
    return Business(load_profile(SHOP), store, clock=lambda: NOW, orders=orders)


def test_a_caller_hears_the_live_status_of_their_order(store: Store) -> None:
    shop = Shop(httpx.Response(200, json=order(displayFulfillmentStatus="FULFILLED")))
    engine = shop_with(store, shop).engine("call-1", "+17205550111")
    engine.respond("hi, where is my order")
    reply = engine.respond("it's 1001")
    assert reply.text == "Order 1 0 0 1 is shipped. Is there anything else?"
    (request,) = shop.seen
    assert str(request.url) == "https://corner-bikes.myshopify.com/admin/api/2025-01/graphql.json"
    assert request.headers["X-Shopify-Access-Token"] == "shpat_test"
    assert json.loads(request.content)["variables"] == {"query": "name:#1001"}


def test_a_spanish_caller_hears_it_in_spanish_and_a_second_ask_is_cached(store: Store) -> None:
    shop = Shop(httpx.Response(200, json=order()))
    business = shop_with(store, shop)
    first = business.engine("call-1", "+17205550111", language="es")
    assert "pagado y en preparación" in first.respond("¿dónde está mi pedido 1001?").text
    second = business.engine("call-2", "+17205550111", language="es")
    assert "pagado y en preparación" in second.respond("¿dónde está mi pedido 1001?").text
    assert len(shop.seen) == 1, "the same order within 30 s is not read again"


def test_an_order_shopify_does_not_know_is_asked_again(store: Store) -> None:
    shop = Shop(httpx.Response(200, json={"data": {"orders": {"nodes": []}}}))
    engine = shop_with(store, shop).engine("call-1", "+17205550111")
    assert engine.respond("where is my order 1002").text.startswith("I can't find order 1 0 0 2")


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(503, text="Service Unavailable"),
        httpx.Response(200, json={"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}),
    ],
)
def test_shopify_down_is_said_as_an_outage_and_a_message_is_offered(store: Store, answer: httpx.Response) -> None:
    engine = shop_with(store, Shop(answer)).engine("call-1", "+17205550111")
    reply = engine.respond("where is my order 1001")
    assert reply.text.startswith("I can't reach our order system right now"), reply.text
    assert "find order" not in reply.text, "an outage is not an unknown order"
    engine.respond("Maria Lopez")
    engine.respond("yes")
    engine.respond("the bike from my order 1001 has not arrived, please call me")
    engine.respond("yes")
    (message,) = store.actions("call-1")
    assert message["tool"] == "take_message" and "has not arrived" in message["args"]["message"]


def test_the_shopify_connector_is_configured_as_a_read(tmp_path: Path) -> None:
    path = tmp_path / "integrations.toml"
    path.write_text(
        '[[connector]]\nname = "shop"\nkind = "shopify"\nshop = "corner-bikes"\ntoken_env = "T"\norders = true\n'
    )
    assert live_orders(load_connectors(path, {"T": "shpat_x"})) is not None
    path.write_text(path.read_text() + 'tools = ["send_sms"]\n')
    with pytest.raises(ConfigError, match="read, not written to"):
        load_connectors(path, {"T": "shpat_x"})
