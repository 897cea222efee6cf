"""``within``: a timeout for one await that never swallows the caller's cancellation."""

from __future__ import annotations

import asyncio

import pytest

from neev_provider.client._aio import within


def test_a_cancellation_arriving_as_the_awaited_finishes_is_not_lost() -> None:
    # What the triggerer does to a killed task's trigger, at the moment a read is answered.
    async def scenario() -> None:
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(within(answer, 10))
        await asyncio.sleep(0)  # waiting for the answer
        answer.set_result(1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(scenario())


def test_past_its_time_the_awaited_is_cancelled_and_a_timeout_raised() -> None:
    async def scenario() -> asyncio.Future[int]:
        never: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        with pytest.raises(asyncio.TimeoutError):
            await within(never, 0.01)
        return never

    assert asyncio.run(scenario()).cancelled()


def test_the_result_and_the_error_come_through() -> None:
    async def fails() -> None:
        raise ValueError("no")

    assert asyncio.run(within(asyncio.sleep(0, result=7), 1)) == 7
    with pytest.raises(ValueError, match="no"):
        asyncio.run(within(fails(), 1))


@pytest.mark.parametrize("end", ["timeout", "caller cancelled"])
def test_the_awaited_has_finished_its_cleanup_when_within_ends(end: str) -> None:
    # An exchange closes its response in a finally; left to run behind the caller, it would be cut
    # off by a loop that ends next (asyncio.run cancels what is left) and leave a socket open.
    cleaned: list[bool] = []
    started = asyncio.Event()

    async def exchange() -> None:
        started.set()
        try:
            await asyncio.get_running_loop().create_future()  # never answered
        finally:
            for _ in range(3):  # a close takes a few loop turns
                await asyncio.sleep(0)
            cleaned.append(True)

    async def scenario() -> None:
        waiting = asyncio.ensure_future(within(exchange(), 0.01 if end == "timeout" else 10))
        if end == "caller cancelled":
            await started.wait()
            waiting.cancel()
        with pytest.raises(asyncio.TimeoutError if end == "timeout" else asyncio.CancelledError):
            await waiting
        assert cleaned == [True]

    asyncio.run(scenario())


def test_the_cancellation_keeps_its_message() -> None:
    # Airflow 3.3's triggerer cancels a killed task's trigger with a message and calls the
    # trigger's on_kill (which deletes the volume) only when that message comes back out.
    async def scenario() -> asyncio.CancelledError:
        started = asyncio.Event()

        async def read() -> int:
            started.set()
            await asyncio.get_running_loop().create_future()  # never answered
            return 1

        waiting = asyncio.ensure_future(within(read(), 10))
        await started.wait()
        waiting.cancel("user-action")
        try:
            await waiting
        except asyncio.CancelledError as error:
            return error
        raise AssertionError("not cancelled")

    assert asyncio.run(scenario()).args == ("user-action",)


def test_a_cancellation_arriving_as_the_awaited_fails_is_not_lost() -> None:
    # Before, the read's own error came out instead and the wait went on polling.
    async def scenario() -> BaseException:
        answer: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        waiting = asyncio.ensure_future(within(answer, 10))
        await asyncio.sleep(0)  # waiting for the answer
        answer.set_exception(ValueError("the read failed"))
        waiting.cancel("user-action")
        try:
            await waiting
        except BaseException as error:  # what comes out is the point
            return error
        raise AssertionError("neither cancelled nor failed")

    error = asyncio.run(scenario())
    assert isinstance(error, asyncio.CancelledError)
    assert error.args == ("user-action",)
