"""The Python SDK (clients/python) against the real local runner: the sync client end to end (sign
up, bot, text source with progress until ready, cited answer, streamed answer, pagination, uploads
presigned from a path and a file object, retrieval, errors as exceptions), and the async client on
the same path."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from minirag_client import (
    AsyncMiniRAG,
    AuthenticationError,
    MiniRAG,
    NotFoundError,
    PermissionDeniedError,
    UnprocessableEntityError,
)

HANDBOOK = "# Refunds\n\nRefunds are paid within 14 days of the return."


def signed_up(url: str, unique: str) -> MiniRAG:
    anonymous = MiniRAG(url, token="")
    boot = anonymous.tenants.create(name="Acme", slug=f"acme-{unique}", owner_email=f"o@{unique}.example",
                                    owner_password="correct horse battery", owner_display_name="Olive")
    assert boot.tenant.plan == "free" and boot.owner.display_name == "Olive" and boot.api_token == boot.raw_token
    anonymous.close()
    return MiniRAG(url, token=boot.api_token)


def test_sync_client_from_sign_up_to_a_cited_streamed_answer(runner_url, unique):
    with signed_up(runner_url, unique) as client:
        bot = client.bots.create("Support", system_prompt="Answer from the sources only.")
        source = client.sources.create_text(bot.id, "Handbook", HANDBOOK)
        assert source.status == "pending" and source.needs_ingest

        # Ingest, following the progress until ready
        client.sources.ingest(source.id)
        seen: list[str] = []
        ready = client.sources.wait_until_ready(source.id, timeout=60, poll_interval=0.2,
                                                on_progress=lambda s: seen.append(s.status))
        assert ready.status == "ready" and ready.chunk_count >= 1 and seen[-1] == "ready"

        # A cited answer, then the same question streamed
        answer = client.chats.send(bot.id, "How long do refunds take?")
        assert "14 days" in answer.answer and "[1]" in answer.answer
        assert answer.citations[0].source_id == source.id and answer.usage.total_tokens > 0
        events = list(client.chats.stream(bot.id, "How long do refunds take?", chat_id=answer.chat_id))
        assert [e.type for e in events][0] == "start" and events[-1].type == "done"
        streamed = "".join(e.text for e in events)
        assert events[-1].answer is not None and streamed == events[-1].answer.answer
        assert client.chats.get(answer.chat_id).message_count == 4
        assert [m.role for m in client.chats.messages(answer.chat_id)] == ["user", "assistant"] * 2

        # Retrieval without a model
        chunks = client.chats.retrieve(bot.id, "refund", top_k=3)
        assert chunks[0].rank == 1 and "14 days" in chunks[0].text


def test_metadata_filters_and_grouping_through_the_sdk(runner_url, unique):
    with signed_up(runner_url, unique) as client:
        bot = client.bots.create("Policies", default_filter={"key": "metadata.status", "eq": "current"})
        assert bot.default_filter == {"key": "metadata.status", "eq": "current"}
        current = client.sources.create_text(bot.id, "EN", "# Refunds\n\nRefunds are paid within 14 days.",
                                             metadata={"lang": "en", "status": "current"})
        german = client.sources.create_text(bot.id, "DE", "# Erstattung\n\nRefunds: Erstattung binnen 14 Tagen.",
                                            metadata={"lang": "de", "status": "current"})
        old = client.sources.create_text(bot.id, "Old", "# Refunds\n\nRefunds were paid within 30 days.",
                                         metadata={"lang": "en", "status": "archived"})
        for source in (current, german, old):
            client.sources.ingest(source.id)
            client.sources.wait_until_ready(source.id, timeout=60, poll_interval=0.2)

        # The bot's default filter hides the archived source; the request's filter narrows further
        everything = client.chats.retrieve(bot.id, "refunds", top_k=10)
        assert {c.source_id for c in everything} == {current.id, german.id}
        english = client.chats.retrieve(bot.id, "refunds", top_k=10, filter={"key": "metadata.lang", "eq": "en"},
                                        group_by="document")
        assert [c.source_id for c in english] == [current.id] and english[0].file_type == "text"
        assert english[0].ranks.get("dense") == 1 and 0 <= english[0].score <= 1
        answer = client.chats.send(bot.id, "How long do refunds take?", filter={"key": "metadata.lang", "eq": "de"})
        assert {c.source_id for c in answer.citations} == {german.id}
        with pytest.raises(UnprocessableEntityError) as bad:
            client.chats.retrieve(bot.id, "refunds", filter={"and": [{"key": "metadata.lang", "gte": "x"}]})
        assert any(name.startswith("filter.and.0") for name in bad.value.fields), bad.value.details


def test_lists_follow_the_cursor_across_pages(runner_url, unique):
    with signed_up(runner_url, unique) as client:
        made = {client.bots.create(f"bot {n}").id for n in range(5)}
        pages = list(client.bots.list(limit=2).pages())
        assert [len(p) for p in pages] == [2, 2, 1]
        assert {b.id for b in client.bots.list(limit=2)} == made
        client.bots.delete(next(iter(made)))
        assert len(client.bots.list().to_list()) == 4
        assert len(client.bots.list(include_inactive=True).to_list()) == 5


def test_uploads_from_a_path_and_a_file_object_report_progress(runner_url, unique, tmp_path: Path):
    with signed_up(runner_url, unique) as client:
        bot = client.bots.create("Docs")
        guide = tmp_path / "shipping.md"
        guide.write_text("# Shipping\n\nOrders ship within 2 business days.\n" * 200)
        progress: list[tuple[int, int]] = []
        uploaded = client.sources.upload(bot.id, guide, on_progress=lambda sent, total: progress.append((sent, total)))
        assert uploaded.name == "shipping.md" and uploaded.source_type == "upload"
        assert progress[-1] == (guide.stat().st_size, guide.stat().st_size) and len(progress) >= 1
        client.sources.ingest(uploaded.id)
        assert client.sources.wait_until_ready(uploaded.id, timeout=60, poll_interval=0.2).status == "ready"

        notes = client.sources.upload(bot.id, io.BytesIO(b"Office opens at 9am."), filename="notes.txt")
        client.sources.ingest(notes.id)
        assert client.sources.wait_until_ready(notes.id, timeout=60, poll_interval=0.2).chunk_count == 1

        # And in one multipart request, from a file object
        direct = client.sources.upload(bot.id, io.BytesIO(b"Returns are free within 30 days."), filename="returns.md",
                                       method="multipart", metadata='{"team": "support"}')
        assert direct.config == {"original_filename": "returns.md", "file_size": 32}
        client.sources.ingest(direct.id)
        assert client.sources.wait_until_ready(direct.id, timeout=60, poll_interval=0.2).status == "ready"
        with pytest.raises(UnprocessableEntityError) as unsupported:
            client.sources.upload(bot.id, io.BytesIO(b"MZ"), filename="tool.exe", method="multipart")
        assert "Unsupported file type" in unsupported.value.message


def test_errors_are_exceptions_with_code_fields_and_request_id(runner_url, unique):
    with signed_up(runner_url, unique) as client:
        with pytest.raises(NotFoundError) as missing:
            client.bots.get("00000000-0000-4000-8000-000000000000")
        assert missing.value.status_code == 404 and missing.value.code == "not_found"
        assert missing.value.request_id and missing.value.request_id in str(missing.value)

        with pytest.raises(UnprocessableEntityError) as invalid:
            client.bots.create("x", temperature=9)
        assert "temperature" in invalid.value.fields

        member = client.users.create(f"m@{unique}.example", "member battery staple")
        login = client.auth.login(member.email, "member battery staple")
        with MiniRAG(runner_url, token=login.access_token) as as_member:
            with pytest.raises(PermissionDeniedError) as forbidden:
                as_member.bots.create("Mine")
            assert forbidden.value.fields["permission"].startswith("requires bots:write")

    with MiniRAG(runner_url, token="mrg_not-a-token") as stranger, pytest.raises(AuthenticationError):
        stranger.bots.list().to_list()


def test_async_client_on_the_same_path(runner_url, unique):
    token = signed_up(runner_url, unique).token

    async def scenario() -> tuple[str, list[str], int]:
        async with AsyncMiniRAG(runner_url, token=token) as client:
            bot = await client.bots.create("Async")
            source = await client.sources.create_text(bot.id, "Handbook", HANDBOOK)
            await client.sources.ingest(source.id)
            await client.sources.wait_until_ready(source.id, timeout=60, poll_interval=0.2)
            answer = await client.chats.send(bot.id, "How long do refunds take?")
            kinds = [event.type async for event in client.chats.stream(bot.id, "How long do refunds take?")]
            bots = [b async for b in client.bots.list(limit=1)]
            return answer.answer, kinds, len(bots)

    # A loop of its own: asyncio.run() would leave the main thread without a current event loop,
    # which Mangum (the Lambda adapter the other tests drive) asks for.
    loop = asyncio.new_event_loop()
    try:
        text, kinds, bots = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert "14 days" in text and kinds[0] == "start" and kinds[-1] == "done" and "token" in kinds
    assert bots == 1
