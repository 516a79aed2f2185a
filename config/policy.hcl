# The narrowest Vault/OpenBao policy rotator needs.
#
# Load it with:  bao policy write rotator config/policy.hcl
# Narrow the paths below to the mounts and prefixes of your config: rotator
# touches only the `path` of each configured secret, under its `mount`.

# KV v2: read the current version, write new versions (create for the first
# write, update after), read and update metadata (custom_metadata with the
# schedule clock, max_versions). No delete, no destroy, no list.
path "secret/data/*" {
  capabilities = ["create", "read", "update"]
}
path "secret/metadata/*" {
  capabilities = ["read", "update"]
}

# The token's own lifecycle and checks. The "default" policy grants these
# too; they are listed so that a token created with no_default_policy works.
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "auth/token/renew-self" {
  capabilities = ["update"]
}
path "sys/capabilities-self" {
  capabilities = ["update"]
}

# KV v1 (engine: kv1): the secret's own path.
# path "kv/mail/smtp" {
#   capabilities = ["create", "read", "update"]
# }

# transit (engine: transit): create the key once, read it, rotate it, and move
# its decryption floor (and trim, with trim: true).
# path "transit/keys/orders" {
#   capabilities = ["create", "read", "update"]
# }
# path "transit/keys/orders/rotate" {
#   capabilities = ["update"]
# }
# path "transit/keys/orders/config" {
#   capabilities = ["update"]
# }
# path "transit/keys/orders/trim" {
#   capabilities = ["update"]
# }
