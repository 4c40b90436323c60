"""What integration tests share: the emulator's demo credentials and log helpers."""

# The emulator's documented demo credentials.
IAM_USER = {
    "KOOPHONE_USERNAME": "demo",
    "KOOPHONE_PASSWORD": "demo-password",
    "KOOPHONE_DOMAIN_NAME": "demo-domain",
    "KOOPHONE_PROJECT_NAME": "cn-north-4",
}
AKSK = {
    "KOOPHONE_ACCESS_KEY": "KOOPHONEDEMOAK00001",
    "KOOPHONE_SECRET_KEY": "koophone-demo-secret-key-000000000000000",
    "KOOPHONE_PROJECT_ID": "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
}
TOKEN = {"KOOPHONE_AUTH_TOKEN": "demo-token"}


def api_requests(emulator):
    """The emulator's log without its own control calls."""
    return [entry for entry in emulator.log() if not entry["path"].startswith("/_emulator")]


def untrusted_values(value):
    """ansible-inventory on 2.19+ writes strings that came from the API as {"__ansible_unsafe": ...}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: untrusted_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [untrusted_values(item) for item in value]
    return value
