"""Request and response models: `<Thing>Create`, `<Thing>Update` (PATCH, all optional),
and `<Thing>Public` (lists are arrays of them: `minirag.api.paging`). Every request model forbids
unknown fields."""
