from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

T = TypeVar("T")


class StrictModel(BaseModel):
    """Request bodies: unknown fields are a 422, so a client's typo never passes silently."""

    model_config = ConfigDict(extra="forbid")


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


class Page(BaseModel, Generic[T]):
    data: list[T]
    next_cursor: str | None = None
