"""Who may use costwarden over the network: API keys with roles and project restrictions, shared by
`costwarden serve` (the REST API) and the gateway (its virtual keys). `KeyRing` creates, lists, revokes and
checks keys; only their hashes are stored (`costwarden.storage.api_keys`)."""

from costwarden.access.keys import ApiKey, KeyRing, NewKey, Role, key_ring

__all__ = ["ApiKey", "KeyRing", "NewKey", "Role", "key_ring"]
