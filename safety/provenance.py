"""C2PA provenance: the instance's signing certificate, signing every MP4 the worker stores, and
verifying an uploaded MP4.

The instance signs with its own ES256 chain (a self-made CA and an end-entity certificate with
digitalSignature + EKU emailProtection), made by `python manage.py provenance_keygen` or on first
use. The manifest's first action is `c2pa.created` (a new clip) or `c2pa.opened` naming the parent
video as a `parentOf` ingredient (a remix, whose parent keeps its own manifest), marks the content as
trainedAlgorithmicMedia, and records the seed, the model version and the sha256 of the model's
weights (over the shipped safetensors shards, computed once per process).
"""
import datetime as dt
import functools
import hashlib
import io
import json
import threading
from pathlib import Path

from django.conf import settings

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_lock = threading.Lock()


def signing_dir() -> Path:
    return Path(settings.SAFETY["SIGNING_DIR"])


def signing_keygen(*, directory: Path | None = None, name: str | None = None, force: bool = False) -> Path:
    """Create the instance's CA and end-entity key and certificates (PEM) in `directory`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = Path(directory or signing_dir())
    if (directory / "signer.pem").exists() and not force:
        return directory
    directory.mkdir(parents=True, exist_ok=True)
    name = name or settings.SAFETY["INSTANCE_NAME"]
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                         x509.NameAttribute(NameOID.COMMON_NAME, f"{name} provenance CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    ee = (x509.CertificateBuilder()
          .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, name),
                                   x509.NameAttribute(NameOID.COMMON_NAME, f"{name} video signer")]))
          .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=730))
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                       crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    pkcs8 = serialization.PrivateFormat.PKCS8
    none = serialization.NoEncryption()
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "signer.pem").write_bytes(ee.public_bytes(pem) + ca.public_bytes(pem))
    key_path = directory / "signer.key"
    key_path.write_bytes(key.private_bytes(pem, pkcs8, none))
    key_path.chmod(0o600)
    ca_key_path = directory / "ca.key"
    ca_key_path.write_bytes(ca_key.private_bytes(pem, pkcs8, none))
    ca_key_path.chmod(0o600)
    return directory


def _signer():
    import c2pa

    directory = signing_dir()
    with _lock:
        if not (directory / "signer.pem").exists():
            signing_keygen(directory=directory)
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, (directory / "signer.pem").read_bytes(),
                               (directory / "signer.key").read_bytes(), None)
    return c2pa.Signer.from_info(info)


@functools.lru_cache(maxsize=4)
def weights_sha256(folder: str) -> str:
    """sha256 over the model's safetensors shards in name order (computed once per process)."""
    digest = hashlib.sha256()
    shards = sorted(Path(folder).glob("*.safetensors"))
    if not shards:
        raise FileNotFoundError(f"no .safetensors shards in {folder}")
    for shard in shards:
        with shard.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def mp4_sign(*, mp4: bytes, title: str, seed: int, model_version: str, creator: str = "",
             parent_mp4: bytes | None = None, parent_id: str = "", weights_hash: str = "",
             job_id: str = "") -> bytes:
    """The MP4 with an embedded C2PA manifest signed by this instance."""
    import c2pa

    params = {"seed": seed, "model_version": model_version, "model_weights_sha256": weights_hash or None}
    if parent_mp4 is not None:
        first = {"action": "c2pa.opened", "parameters": {"ingredientIds": ["parent"], **params},
                 "digitalSourceType": TRAINED}
    else:
        first = {"action": "c2pa.created", "digitalSourceType": TRAINED, "parameters": params,
                 "softwareAgent": {"name": "Spacetime DiT", "version": model_version}}
    actions = [first]
    if parent_mp4 is not None:
        actions.append({"action": "c2pa.edited", "digitalSourceType": TRAINED,
                        "softwareAgent": {"name": "Spacetime DiT", "version": model_version}})
    manifest = {
        "claim_generator_info": [{"name": "Spacetime", "version": "0.1.0"}],
        "title": title,
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": "org.spacetime.generation",
             "data": {"seed": seed, "model_version": model_version, "model_weights_sha256": weights_hash or None,
                      "creator": creator, "job": job_id or None, "parent_video": parent_id or None,
                      "instance": settings.SAFETY["INSTANCE_NAME"]}},
        ],
    }
    signer = _signer()
    with c2pa.Builder(json.dumps(manifest)) as builder:
        if parent_mp4 is not None:
            builder.add_ingredient(json.dumps({"title": f"video {parent_id}", "format": "video/mp4",
                                               "relationship": "parentOf", "label": "parent"}),
                                   "video/mp4", io.BytesIO(parent_mp4))
        dest = io.BytesIO()
        builder.sign(signer, "video/mp4", io.BytesIO(mp4), dest)
    return dest.getvalue()


def mp4_verify(*, mp4: bytes, trust_instance: bool = True) -> dict:
    """{"state": "Trusted" | "Valid" | "Invalid" | "None", "manifest": active manifest or None,
    "validation": [status codes], "parent": the parent ingredient's title or None}."""
    import c2pa

    context = None
    ca = signing_dir() / "ca.pem"
    if trust_instance and ca.exists():
        settings_json = {"verify": {"verify_trust": True},
                         "trust": {"trust_anchors": ca.read_text()}}
        context = c2pa.Context(c2pa.Settings.from_json(json.dumps(settings_json))) \
            if hasattr(c2pa.Settings, "from_json") else None
    try:
        kwargs = {"context": context} if context is not None else {}
        with c2pa.Reader("video/mp4", io.BytesIO(mp4), **kwargs) as reader:
            state = reader.get_validation_state()
            data = json.loads(reader.json())
    except c2pa.C2paError as exc:
        text = str(exc)
        if "ManifestNotFound" in text or "JumbfNotFound" in text or "not found" in text.lower():
            return {"state": "None", "manifest": None, "validation": [], "parent": None,
                    "error": "The file carries no C2PA manifest."}
        return {"state": "Invalid", "manifest": None, "validation": [], "parent": None, "error": text}
    active = data.get("manifests", {}).get(data.get("active_manifest"), {})
    statuses = data.get("validation_status") or []
    results = data.get("validation_results") or {}
    failures = [s.get("code") for s in (results.get("activeManifest") or {}).get("failure", [])]
    parent = next((i.get("title") for i in active.get("ingredients", [])
                   if i.get("relationship") == "parentOf"), None)
    codes = list(dict.fromkeys([s.get("code") for s in statuses] + failures))
    return {"state": state, "manifest": active, "validation": codes,
            "parent": parent}
