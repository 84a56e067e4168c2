"""The gateway's use cases, one module per area: each reads what it needs for the caller's Trust
from the read model (`adapters.redis_reader`) in as few round trips as it can, and leaves the rules
to the domain. Nothing is recomputed from pupils or SQL on a request. `bootstrap` builds them."""
