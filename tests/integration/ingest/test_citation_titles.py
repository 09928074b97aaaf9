"""Citations name what the user named (issue 15): a document's own title first (PDF metadata, first
Markdown heading), else the name the source was given, and the uploaded file's name as its own field,
on chat citations and on retrieved chunks alike."""

from __future__ import annotations

import pytest

from tests.factories import make_bot_profile, make_source, make_uploaded_source
from tests.integration.ingest.support import retrieve
from tests.unit.documents.samples import make_pdf


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a, min_score=0.0)


def _cited(api, tenant, bot_id: str, question: str) -> list[dict]:
    response = api.post("/v1/chat", {"bot_profile_id": bot_id, "message": question}, token=tenant.token)
    assert response.status == 200, response.body
    return response.json["citations"]


@pytest.mark.parametrize(("filename", "data", "name", "title"), [
    ("spec.pdf", make_pdf(["The pump delivers 40 litres per minute."], title="Pump specification"),
     "Vendor upload", "Pump specification"),
    ("guide.md", b"# Installing the pump\n\nThe pump delivers 40 litres per minute.\n", "Vendor upload",
     "Installing the pump"),
    ("notes.txt", b"The pump delivers 40 litres per minute.\n", "Team handbook", "Team handbook"),
])
def test_citation_title_is_the_documents_own_title_else_the_source_name(
    api, tenant_a, bot, ingest_worker, filename, data, name, title,
):
    # Given an uploaded file, named by the user, ingested
    make_uploaded_source(api, tenant_a, bot["id"], ingest_worker, filename, data, name=name)

    # When the bot is asked about it and the same is retrieved
    citations = _cited(api, tenant_a, bot["id"], "How many litres per minute does the pump deliver?")
    chunks = retrieve(api, tenant_a, bot["id"], "pump litres per minute")

    # Then the citation and the chunk carry the best title and the file name apart
    assert citations and (citations[0]["title"], citations[0]["filename"]) == (title, filename)
    assert (chunks[0]["title"], chunks[0]["filename"]) == (title, filename)


def test_pasted_text_is_cited_by_its_source_name(api, tenant_a, bot, ingest_worker):
    # Given a text source whose content starts with a heading
    source = make_source(api, tenant_a, bot["id"], name="Refund policy",
                         content="# Money back\n\nRefunds are processed within 14 days.")
    assert api.post(f"/v1/sources/{source['id']}/ingest", token=tenant_a.token).status == 202
    ingest_worker.drain()

    # Then its citation is titled by the source's name and has no file name
    citation = _cited(api, tenant_a, bot["id"], "How fast are refunds processed?")[0]
    assert (citation["title"], citation["filename"]) == ("Refund policy", None)
