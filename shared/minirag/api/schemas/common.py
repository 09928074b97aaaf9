from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from minirag.storable import unstorable_strings

T = TypeVar("T")


class StrictModel(BaseModel):
    """Request bodies: unknown fields are a 422, so a client's typo never passes silently.

    An update model lists in `fixed_fields` the resource's fields that are set at creation only,
    each with why; sending one is a 422 saying it cannot be changed and why (not "unknown field")."""

    model_config = ConfigDict(extra="forbid")
    fixed_fields: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _refuse_unstorable_text(cls, data: Any) -> Any:
        """A NUL or an unpaired surrogate anywhere in the body (secrets and metadata keys too) is
        a 422 at its path: PostgreSQL or the driver would refuse it later, as a 500, after work."""
        bad = unstorable_strings(data)
        if bad:
            raise ValidationError.from_exception_data(cls.__name__, [InitErrorDetails(
                type=PydanticCustomError("unstorable_text", reason), loc=path, input=None)
                for path, reason in bad])
        return data

    @model_validator(mode="before")
    @classmethod
    def _refuse_fixed_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and cls.fixed_fields:
            sent = [name for name in cls.fixed_fields if name in data]
            if sent:
                raise ValidationError.from_exception_data(cls.__name__, [InitErrorDetails(
                    type=PydanticCustomError("fixed_field", "cannot be changed after creation: {why}",
                                             {"why": cls.fixed_fields[name]}),
                    loc=(name,), input=data[name]) for name in sent])
        return data


def field_errors(model: str, errors: dict[str, str]) -> ValidationError:
    """A validation error located at each field, so the 422 names them like any other field error."""
    return ValidationError.from_exception_data(model, [
        InitErrorDetails(type=PydanticCustomError("field_error", reason), loc=(field,), input=None)
        for field, reason in errors.items()])


class PatchModel(StrictModel):
    """PATCH bodies: a field left out stays as it is; an explicit `null` is refused, except for the
    fields in `nullable`, where it means "clear"."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _refuse_null(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = {name: "may not be null" for name, value in data.items()
                     if value is None and name in cls.model_fields and name not in cls.nullable}
            if nulls:
                raise field_errors(cls.__name__, nulls)
        return data


class PublicModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)
