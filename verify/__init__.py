"""`inv verify-port` and `inv ports`: prove a service answers on its host,
from the host itself and from here, and the same as it did elsewhere."""
