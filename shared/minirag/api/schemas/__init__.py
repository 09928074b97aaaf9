"""Request and response models: `<Thing>Create`, `<Thing>Update` (PATCH, all optional),
`<Thing>Public`, and `Page[<Thing>Public]`. Every request model forbids unknown fields."""
