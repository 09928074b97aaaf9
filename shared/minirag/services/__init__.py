"""Business rules. Each service takes a `TenantScope` (never a raw session) plus the gateways it
needs; one write use case is one transaction, committed through the scope at its end."""
