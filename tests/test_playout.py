"""The call's outbound buffer: held by caller speech, resumed from the start of the clause, or cleared."""

from __future__ import annotations

import asyncio

from appliance.call.playout import Playout


def frame(n: int) -> bytes:
    return bytes([n]) * 640


async def test_a_held_reply_goes_on_from_the_start_of_the_clause_it_stopped_in() -> None:
    sent: list[bytes | None] = []
    playout = Playout(asyncio.get_running_loop(), lambda: 0.0, on_sent=sent.append)
    for n in range(6):  # two clauses of three frames
        await playout.push(frame(n), None, {0: "We're open Monday to Friday,", 3: "from 8 to noon."}.get(n))
    assert [playout.pull() for _ in range(4)] == [frame(0), frame(1), frame(2), frame(3)]
    assert playout.clause == "from 8 to noon."
    playout.hold()
    assert playout.pull() is None, "held: silence from the next frame on"
    playout.resume()
    assert [playout.pull() for _ in range(4)] == [frame(3), frame(4), frame(5), None]
    assert sent == [frame(0), frame(1), frame(2), frame(3), None, frame(3), frame(4), frame(5), None]


async def test_a_cleared_reply_is_gone_even_when_held() -> None:
    playout = Playout(asyncio.get_running_loop(), lambda: 0.0)
    for n in range(3):
        await playout.push(frame(n), None, "Hello." if n == 0 else None)
    playout.pull()
    playout.hold()
    playout.clear()
    assert not playout.held and playout.pull() is None and len(playout) == 0
