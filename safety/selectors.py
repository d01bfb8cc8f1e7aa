"""Safety selectors (reads)."""
from .provenance import mp4_verify


def provenance_read(*, mp4: bytes) -> dict:
    """What an uploaded MP4 says about where it came from, checked against this instance's CA."""
    result = mp4_verify(mp4=mp4)
    manifest = result.get("manifest") or {}
    generation = next((a.get("data") for a in manifest.get("assertions", [])
                       if a.get("label") == "org.spacetime.generation"), None)
    return {
        "state": result["state"],
        "valid": result["state"] in ("Valid", "Trusted"),
        "trusted": result["state"] == "Trusted",
        "validation": result["validation"],
        "parent": result["parent"],
        "generation": generation,
        "signer": (manifest.get("signature_info") or {}).get("issuer"),
        "manifest": result.get("manifest"),
        "error": result.get("error"),
    }
