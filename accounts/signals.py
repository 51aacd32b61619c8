"""Account events other packages listen to (the audit trail records them); accounts imports none of them."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Each is sent with the user concerned as sender (None for a failed sign-in) and keyword details.
signed_in = _signals.signal("signed-in")
sign_in_failed = _signals.signal("sign-in-failed")  # email=the address tried; never the password
signed_out = _signals.signal("signed-out")
token_issued = _signals.signal("token-issued")  # token=ApiToken
token_revoked = _signals.signal("token-revoked")  # token=ApiToken
password_changed = _signals.signal("password-changed")
