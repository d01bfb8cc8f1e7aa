"""`python manage.py provenance_keygen [--force] [--name NAME]`: create the instance's C2PA signing
CA and end-entity certificate (ES256) in settings.SAFETY["SIGNING_DIR"]."""
from django.core.management.base import BaseCommand

from safety.provenance import signing_dir, signing_keygen


class Command(BaseCommand):
    help = "Create this instance's C2PA signing key and certificate chain."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="replace an existing key")
        parser.add_argument("--name", default=None, help="organisation name in the certificates")

    def handle(self, *args, force: bool, name: str | None, **options):
        existed = (signing_dir() / "signer.pem").exists()
        path = signing_keygen(force=force, name=name)
        if existed and not force:
            self.stdout.write(f"A signing certificate already exists in {path} (use --force to replace it).")
        else:
            self.stdout.write(f"Created the signing CA (ca.pem) and signer (signer.pem, signer.key) in {path}.")
