"""resolve(): plain values, functions and async functions all give their value."""

from rtlab.sources import resolve


async def test_plain_values_come_back_as_they_are() -> None:
    headers = {"Authorization": "Bearer t"}
    assert await resolve(headers) is headers
    assert await resolve(None) is None


async def test_functions_are_called_every_time() -> None:
    calls = []

    def token() -> str:
        calls.append(1)
        return f"t{len(calls)}"

    assert [await resolve(token), await resolve(token)] == ["t1", "t2"]


async def test_async_functions_are_awaited() -> None:
    async def payload() -> dict:
        return {"Authorization": "Bearer a"}

    assert await resolve(payload) == {"Authorization": "Bearer a"}
