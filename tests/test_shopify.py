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
from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.connectors import load_connectors
from appliance.integrations.shopify import ShopifyConnector, ShopifyOrders, live_orders
from appliance.store import Store
from tests.conftest import deliver_recorded

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
    with pytest.raises(
        ConfigError, match=r"read, not written to \(it takes only cancel_order\): remove \['send_sms'\]"
    ):
        load_connectors(path, {"T": "shpat_x"})


# -- an order cancelled at the caller's request -------------------------------------------------------


def test_a_paid_order_not_yet_shipped_is_cancelled_and_refunded_after_the_read_back(store: Store) -> None:
    shop = Shop(httpx.Response(200, json=order()))
    engine = shop_with(store, shop).engine("call-1", "+17205550111")
    readback = engine.respond("hi um i'd like to cancel my order it's one zero zero one").text
    assert readback == "I'll cancel order 1 0 0 1 and refund 54 dollars to the card you paid with. Shall I go ahead?"
    assert store.actions("call-1") == [], "nothing is written before the yes"
    done = engine.respond("yes please").text
    assert done.startswith("Done, order 1 0 0 1 is cancelled; the refund goes back to the card you paid with.")
    (action,) = store.actions("call-1")
    assert action["tool"] == "cancel_order" and action["args"] == {"order_number": "1001", "refund": True}


def test_a_no_at_the_read_back_keeps_the_order(store: Store) -> None:
    engine = shop_with(store, Shop(httpx.Response(200, json=order()))).engine("call-1", "+17205550111")
    engine.respond("can you cancel order 1001")
    assert engine.respond("no wait keep it").text.startswith("All right, order 1 0 0 1 stays as it is.")
    assert store.actions("call-1") == []


def test_an_unpaid_order_is_cancelled_without_a_refund_in_french(store: Store) -> None:
    unpaid = order(displayFinancialStatus="PENDING")
    engine = shop_with(store, Shop(httpx.Response(200, json=unpaid))).engine("call-1", "+33612345678", language="fr")
    assert engine.respond("je voudrais annuler ma commande 1001").text == "J'annule la commande 1 0 0 1. Je confirme ?"
    engine.respond("oui")
    (action,) = store.actions("call-1")
    assert action["args"] == {"order_number": "1001", "refund": False}


def test_a_shipped_order_is_passed_to_the_team_as_a_message(store: Store) -> None:
    shipped = order(displayFulfillmentStatus="FULFILLED")
    engine = shop_with(store, Shop(httpx.Response(200, json=shipped))).engine("call-1", "+17205550111")
    reply = engine.respond("i want a refund for order 1001").text
    assert reply.startswith("Order 1 0 0 1 is shipped, so I can't cancel it myself.") and reply.endswith("your name?")
    engine.respond("Maria Lopez")
    assert "Asks to cancel order 1 0 0 1 (shipped)" in engine.respond("yes").text
    engine.respond("yes")
    (message,) = store.actions("call-1")
    assert message["tool"] == "take_message" and message["args"]["caller_name"] == "Maria Lopez"


def test_an_order_already_cancelled_is_said_so(store: Store) -> None:
    cancelled = order(cancelledAt="2026-12-01T10:00:00Z", displayFinancialStatus="REFUNDED")
    engine = shop_with(store, Shop(httpx.Response(200, json=cancelled))).engine("call-1", "+17205550111")
    assert engine.respond("i need to cancel my order 1001").text.startswith("Order 1 0 0 1 is already cancelled.")
    assert store.actions("call-1") == []


def test_a_shop_without_a_live_system_passes_the_cancellation_to_the_team(store: Store) -> None:
    engine = Business(load_profile(SHOP), store, clock=lambda: NOW).engine("call-1", "+17205550111")
    reply = engine.respond("i'd like to cancel my order 10488").text
    assert reply.startswith("Order 1 0 4 8 8 is waiting for payment, so I can't cancel it myself.")


CANCELLER = (
    '[[connector]]\nname = "shop"\nkind = "shopify"\nshop = "corner-bikes"\ntoken_env = "T"\ntools = ["cancel_order"]\n'
)
CANCEL = Action("cancel_order", {"order_number": "1001", "refund": True})
FOUND = {"data": {"orders": {"nodes": [{"id": "gid://shopify/Order/148977776", "name": "#1001", "cancelledAt": None}]}}}
ACCEPTED = {
    "data": {"orderCancel": {"job": {"id": "gid://shopify/Job/4b8d3c1a", "done": False}, "orderCancelUserErrors": []}},
    "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10}},
}


def shopify_answers(*bodies: dict[str, object]) -> Shop:
    return Shop(*(httpx.Response(200, json=b) for b in bodies))


def test_the_cancel_finds_the_order_then_cancels_it_with_a_refund(tmp_path: Path) -> None:
    seen, outbox, _ = deliver_recorded(
        tmp_path, CANCELLER, {"T": "shpat_x"}, [CANCEL], shopify_answers(FOUND, ACCEPTED)
    )
    (row,) = outbox.rows()
    assert (row.state, row.attempts) == ("delivered", 1)
    find, cancel = (json.loads(r.content) for r in seen)
    assert find["variables"] == {"query": "name:#1001"} and "cancelledAt" in find["query"]
    assert "orderCancel(" in cancel["query"] and "reason: CUSTOMER" in cancel["query"]
    assert cancel["variables"]["orderId"] == "gid://shopify/Order/148977776" and cancel["variables"]["refund"] is True
    assert all(r.headers["X-Shopify-Access-Token"] == "shpat_x" for r in seen)


def test_a_retry_finds_the_order_cancelled_and_cancels_nothing_twice(tmp_path: Path) -> None:
    already = {"data": {"orders": {"nodes": [{"id": "gid://shopify/Order/1", "cancelledAt": "2026-12-03T18:00:00Z"}]}}}
    seen, outbox, _ = deliver_recorded(tmp_path, CANCELLER, {"T": "shpat_x"}, [CANCEL], shopify_answers(already))
    assert outbox.rows()[0].state == "delivered" and len(seen) == 1


def test_a_throttled_query_waits_for_the_cost_to_be_restored(tmp_path: Path) -> None:
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 10,
                "throttleStatus": {"maximumAvailable": 1000.0, "currentlyAvailable": 0, "restoreRate": 10.0},
            }
        },
    }
    seen, outbox, took = deliver_recorded(
        tmp_path, CANCELLER, {"T": "shpat_x"}, [CANCEL], shopify_answers(throttled, FOUND, ACCEPTED)
    )
    (row,) = outbox.rows()
    assert (row.state, row.attempts) == ("delivered", 2) and took >= 1.0 and len(seen) == 3


def test_an_order_shopify_will_not_cancel_is_dead_with_its_reason(tmp_path: Path) -> None:
    refused = {
        "data": {
            "orderCancel": {
                "job": None,
                "orderCancelUserErrors": [
                    {"field": ["orderId"], "message": "Cannot cancel an order with open returns", "code": "INVALID"}
                ],
            }
        }
    }
    _, outbox, _ = deliver_recorded(tmp_path, CANCELLER, {"T": "shpat_x"}, [CANCEL], shopify_answers(FOUND, refused))
    (row,) = outbox.rows()
    assert (row.state, row.attempts) == ("dead", 1) and "open returns" in (row.last_error or "")
