"""One APIRouter per resource. Each function in `functions/` builds its app from some of these."""
