"""Shopify: a shop caller's order status read live from the Admin GraphQL API, and an order cancelled.

``kind = "shopify"`` with ``orders = true`` replaces the profile's ``[orders] file``. The status is a
read, not an action: no outbox, a short timeout and a 30 s cache per order, made when the caller gives a
number. An order Shopify does not know is "not found" (the caller is asked for the number again).
Shopify unreachable, slow or answering an error is "unavailable", and the caller is offered a message
instead of being told the order does not exist.

With ``tools = ["cancel_order"]`` the connector also cancels an order the caller confirmed at the
read-back (``orderCancel``: reason CUSTOMER, restocked, the customer notified by Shopify, refunded to
the original payment when it was paid). Shopify has no idempotency key: each attempt first reads the
order, and one already cancelled (a retry after a lost answer, or the staff did it) is delivered. A
throttled query (answered 200 with ``THROTTLED``) waits for the cost to be restored; an order Shopify
refuses to cancel is dead with its reason.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

import httpx

from ..dialog.engine import OrdersUnavailable
from ..dialog.replies import TEMPLATES
from .connectors import Connector, Outcome, http_outcome

_LOGGER = logging.getLogger(__name__)

API_VERSION = "2025-01"
QUERY = """query OrderStatus($query: String!) {
  orders(first: 1, query: $query) {
    nodes {
      name
      displayFulfillmentStatus
      displayFinancialStatus
      cancelledAt
      totalPriceSet { shopMoney { amount currencyCode } }
    }
  }
}"""


FIND = """query OrderToCancel($query: String!) {
  orders(first: 1, query: $query) { nodes { id name cancelledAt } }
}"""
CANCEL = """mutation CancelOrder($orderId: ID!, $refund: Boolean!, $staffNote: String) {
  orderCancel(orderId: $orderId, reason: CUSTOMER, refund: $refund, restock: true, notifyCustomer: true,
              staffNote: $staffNote) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}"""


def _throttled(body: dict[str, Any]) -> Outcome | None:
    """A GraphQL answer with ``errors`` (200): THROTTLED waits until the query's cost is restored."""
    errors = body.get("errors")
    if not errors:
        return None
    codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)}
    if "THROTTLED" in codes:
        cost = (body.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        missing = float(cost.get("requestedQueryCost") or 10) - float(status.get("currentlyAvailable") or 0)
        wait = max(1.0, missing / float(status.get("restoreRate") or 50))
        return Outcome(False, "Shopify throttled the query", retry_after=min(wait, 60.0))
    return Outcome(False, f"Shopify answered errors: {str(errors)[:200]}", permanent=True)


class ShopifyConnector(Connector):
    """The shop's Shopify store (``shop``: its myshopify name, ``token_env``: an Admin API access token)."""

    kind = "shopify"
    settings: ClassVar[dict[str, type]] = {"shop": str, "token_env": str, "orders": bool, "base_url": str}
    secrets = ("token",)
    reads_only = True
    writable = ("cancel_order",)

    @property
    def url(self) -> str:
        base = self.options.get("base_url", f"https://{self.options.get('shop', '')}.myshopify.com")
        return f"{base}/admin/api/{API_VERSION}/graphql.json"

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        number = str(payload["args"].get("order_number", ""))
        headers = {"X-Shopify-Access-Token": self.options["token"]}

        async def ask(query: str, variables: dict[str, Any]) -> tuple[dict[str, Any] | None, Outcome | None]:
            response = await client.post(
                self.url, json={"query": query, "variables": variables}, headers=headers, timeout=self.timeout_s
            )
            if not response.is_success:
                return None, http_outcome(response)
            body = response.json()
            refused = _throttled(body)
            return (None, refused) if refused else (body.get("data") or {}, None)

        found, failed = await ask(FIND, {"query": f"name:#{number}"})
        if found is None:
            return failed or Outcome(False, "no answer")
        nodes = (found.get("orders") or {}).get("nodes") or []
        if not nodes:
            return Outcome(False, f"Shopify has no order #{number}", permanent=True)
        if nodes[0].get("cancelledAt"):
            return Outcome(True)  # cancelled already: an earlier attempt whose answer was lost, or the staff
        note = f"Cancelled at the caller's request on the phone (VocalIA, {key})"
        refund = bool(payload["args"].get("refund", False))
        done, failed = await ask(CANCEL, {"orderId": nodes[0]["id"], "refund": refund, "staffNote": note})
        if done is None:
            return failed or Outcome(False, "no answer")
        errors = (done.get("orderCancel") or {}).get("orderCancelUserErrors") or []
        if errors:
            reasons = "; ".join(f"{e.get('code', '')}: {e.get('message', '')}" for e in errors)
            return Outcome(False, f"Shopify refused to cancel order #{number}: {reasons}", permanent=True)
        return Outcome(True)


def _state(order: dict[str, Any]) -> str:
    """The template key saying where ``order`` is."""
    financial = str(order.get("displayFinancialStatus") or "").upper()
    fulfillment = str(order.get("displayFulfillmentStatus") or "").upper()
    if order.get("cancelledAt"):
        return "order_state_cancelled"
    if financial in ("REFUNDED", "PARTIALLY_REFUNDED") and fulfillment != "FULFILLED":
        return "order_state_refunded"
    if fulfillment in ("FULFILLED", "PARTIALLY_FULFILLED", "IN_PROGRESS", "ON_HOLD"):
        return f"order_state_{fulfillment.lower()}"
    if financial in ("PENDING", "AUTHORIZED", "EXPIRED", "UNPAID"):
        return "order_state_unpaid"
    return "order_state_unfulfilled"


class ShopifyOrders:
    """``get(number)``: the order as the engine reads an orders file's row (``status`` in each language,
    ``amount``), None when Shopify has no such order; raises :class:`OrdersUnavailable`."""

    def __init__(
        self,
        connector: ShopifyConnector,
        timeout_s: float = 2.0,
        ttl_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = connector.url
        self._headers = {"X-Shopify-Access-Token": connector.options["token"]}
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, dict[str, str] | None]] = {}

    def get(self, number: str) -> dict[str, str] | None:
        cached = self._cache.get(number)
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        try:
            response = self._client.post(
                self.url, json={"query": QUERY, "variables": {"query": f"name:#{number}"}}, headers=self._headers
            )
            response.raise_for_status()
            body = response.json()
            if body.get("errors"):  # GraphQL errors (throttled, access denied) come with a 200
                raise ValueError(str(body["errors"])[:200])
            nodes = body["data"]["orders"]["nodes"]
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as err:
            _LOGGER.warning("Shopify order %s cannot be read (%s)", number, err)
            raise OrdersUnavailable(str(err)) from None
        order = None
        if nodes:
            state = _state(nodes[0])
            order = {"number": number, "status": TEMPLATES["en"][state], "state": state.removeprefix("order_state_")}
            order |= {f"status_{lang}": TEMPLATES[lang][state] for lang in TEMPLATES if lang != "en"}
            money = (nodes[0].get("totalPriceSet") or {}).get("shopMoney") or {}
            if money.get("amount"):
                order["amount"] = str(money["amount"])
        self._cache[number] = (time.monotonic(), order)
        return order


def live_orders(connectors: list[Connector]) -> ShopifyOrders | None:
    """The live order reader of the shopify connector marked ``orders = true``."""
    for connector in connectors:
        if isinstance(connector, ShopifyConnector) and connector.options.get("orders"):
            return ShopifyOrders(connector)
    return None
