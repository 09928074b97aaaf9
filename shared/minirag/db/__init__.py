"""The data layer: ORM models, the engine, `TenantScope` (the only path to tenant-owned rows) and
`SystemRepository` (the few unscoped look-ups: token hash, login email, slug taken)."""
