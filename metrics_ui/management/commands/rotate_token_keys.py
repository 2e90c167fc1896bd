"""Re-encrypt every stored Embrace token under the newest key of ``EMBRACE_TOKEN_KEYS``.

Rotation: put a new key first in the list (keep the old one after it), restart, run this command,
then remove the old key. Safe to re-run: rows already under the newest key are left alone.
A row that no configured key can read is reported and left as it is; its owner is asked in the
console to enter that token again. Exits non-zero when any row is unreadable.
"""

from django.core.management.base import BaseCommand, CommandError

from metrics_ui.audit import trail as audit
from metrics_ui.models import ApiToken
from metrics_ui.tokens import encryption


class Command(BaseCommand):
    help = "Re-encrypt every stored Embrace API token under the newest key in EMBRACE_TOKEN_KEYS."

    def handle(self, *args, **options) -> None:
        rotated = current = 0
        unreadable: list[ApiToken] = []
        for token in ApiToken.objects.select_related("user").order_by("pk").iterator():
            try:
                if encryption.is_current(token.ciphertext):
                    current += 1
                    continue
                new = encryption.rotate(token.ciphertext)
            except encryption.TokenUnreadable:
                unreadable.append(token)
                continue
            # Compare-and-set: a token the user replaced meanwhile is already under the newest key.
            # ``update()`` also leaves "saved at" alone: the user did not change anything.
            ApiToken.objects.filter(pk=token.pk, ciphertext=token.ciphertext).update(ciphertext=new)
            rotated += 1

        self.stdout.write(f"Re-encrypted under the newest key: {rotated}")
        self.stdout.write(f"Already under the newest key: {current}")
        self.stdout.write(f"Unreadable with the configured keys: {len(unreadable)}")
        for token in unreadable:
            self.stdout.write(
                f"  - {token!r} of user {token.user.get_username()!r}: left as it is. The console asks "
                "this user to enter the token again (or put the old key back in EMBRACE_TOKEN_KEYS, re-run)."
            )
        audit.record(
            None,
            "token.rotate",
            body={"rotated": rotated, "current": current, "unreadable": [t.pk for t in unreadable]},
            outcome="partial" if unreadable else "success",
            detail=f"re-encrypted {rotated}, already current {current}, unreadable {len(unreadable)}",
        )
        if unreadable:
            raise CommandError(f"{len(unreadable)} token(s) could not be read; see the list above.")
        self.stdout.write(self.style.SUCCESS("Every stored token is under the newest key."))
