"""PATCH bodies: an explicit null is refused at the schema, naming the field, except where it
means "clear"; what was sent (and only that) reaches the service as a typed command."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from minirag.api.schemas.bot_profiles import BotProfileUpdate
from minirag.api.schemas.sources import SourceUpdate
from minirag.services.commands import UNSET, UpdateBotProfile, UpdateSource


@pytest.mark.parametrize("schema, field", [
    (BotProfileUpdate, "name"), (BotProfileUpdate, "temperature"), (BotProfileUpdate, "history_turns"),
    (SourceUpdate, "name"), (SourceUpdate, "content"), (SourceUpdate, "url"),
])
def test_null_for_a_non_nullable_field_is_refused_naming_it(schema, field):
    # Given a PATCH body setting a non-nullable field to null
    # When it is validated
    with pytest.raises(ValidationError) as raised:
        schema.model_validate({field: None})
    # Then the error is located at that field
    assert [e["loc"] for e in raised.value.errors()] == [(field,)]


@pytest.mark.parametrize("schema, field", [
    (BotProfileUpdate, "description"), (BotProfileUpdate, "provider_api_key"), (SourceUpdate, "metadata"),
])
def test_null_clears_the_fields_where_it_means_clear(schema, field):
    # Given a PATCH body setting a clearable field to null
    # When it is validated
    body = schema.model_validate({field: None})
    # Then the null is kept, as the one change sent
    assert body.model_dump(exclude_unset=True) == {field: None}


def test_update_commands_carry_only_the_fields_sent():
    # Given update commands built from what a request sent
    bot = UpdateBotProfile(name="renamed", provider_api_key=None)
    source = UpdateSource()
    # Then changes() holds exactly those fields, and an unsent one is UNSET, not None
    assert bot.changes() == {"name": "renamed", "provider_api_key": None}
    assert bot.description is UNSET
    assert source.changes() == {}
