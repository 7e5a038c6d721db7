"""Inbound bounce and complaint webhooks: Amazon SES via SNS (signatures 1 and 2 made with a
test certificate served from 127.0.0.1), Postmark (Basic auth) and Mailgun (HMAC, fresh,
single-use tokens). Valid payloads suppress; forged, stale or replayed ones are refused and
suppress nothing."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from signup_support import SECRET, free_port, make_guide
from starlette.testclient import TestClient

from leadguide.signup.app import create_app
from leadguide.signup.inbound import InboundSettings, Refused, SnsVerifier, ses_events
from leadguide.signup.service import open_service
from leadguide.signup.tokens import address_id

TOPIC = "arn:aws:sns:eu-west-1:123456789012:bounces"
POSTMARK = "pm-token-" + "p" * 20
MAILGUN = "key-" + "m" * 32


def _key_and_cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.PEM)


class CertServer:
    """Serves the test signing certificate, as sns.<region>.amazonaws.com serves Amazon's."""

    def __init__(self, pem: bytes):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.end_headers()
                self.wfile.write(pem)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.prefix = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def signing():
    key, pem = _key_and_cert()
    server = CertServer(pem)
    yield key, server.prefix
    server.server.shutdown()


@pytest.fixture
def client(tmp_path, built_sample, signing, monkeypatch):
    monkeypatch.setenv("LEADGUIDE_POSTMARK_TOKEN", POSTMARK)
    monkeypatch.setenv("LEADGUIDE_MAILGUN_SIGNING_KEY", MAILGUN)
    monkeypatch.setenv("LEADGUIDE_SES_TOPICS", TOPIC)
    monkeypatch.setenv("LEADGUIDE_SNS_CERT_PREFIX", signing[1])
    guide = make_guide(tmp_path, built_sample[0].output, free_port())
    service = open_service(guide, env={"LEADGUIDE_SECRET": SECRET})
    with TestClient(create_app(service), base_url="http://127.0.0.1") as test_client:
        yield test_client, service
    service.close()


def _suppressed(service, address: str) -> str | None:
    row = service.store.db.execute("SELECT reason FROM suppressions WHERE address_id = ?",
                                   (address_id(address),)).fetchone()
    return row[0] if row else None


def _sns(key, prefix: str, inner: dict, version: str = "2", topic: str = TOPIC,
         age: float = 0) -> dict:
    stamp = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=age)).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")
    message = {"Type": "Notification", "MessageId": f"m-{time.monotonic_ns()}",
               "TopicArn": topic, "Message": json.dumps(inner), "Timestamp": stamp,
               "SignatureVersion": version, "SigningCertURL": prefix + "SimpleNotificationService.pem"}
    text = "".join(f"{k}\n{message[k]}\n" for k in
                   ("Message", "MessageId", "Timestamp", "TopicArn", "Type"))
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(
        key.sign(text.encode(), padding.PKCS1v15(), algorithm)).decode()
    return message


def _bounce(address: str, kind: str = "Permanent") -> dict:
    return {"notificationType": "Bounce", "bounce": {
        "bounceType": kind, "bouncedRecipients": [{"emailAddress": address}]}}


def test_ses_via_sns_signed_v1_and_v2_suppress_forged_and_stale_refused(client, signing):
    test_client, service = client
    key, prefix = signing
    post = lambda message: test_client.post("/hooks/ses", content=json.dumps(message))  # noqa
    assert post(_sns(key, prefix, _bounce("b1@example.com"), "1")).status_code == 200
    assert post(_sns(key, prefix, {"notificationType": "Complaint", "complaint": {
        "complainedRecipients": [{"emailAddress": "c1@example.com"}]}})).status_code == 200
    assert post(_sns(key, prefix, _bounce("soft@example.com", "Transient"))).status_code == 200
    assert _suppressed(service, "b1@example.com") == "bounce"
    assert _suppressed(service, "c1@example.com") == "complaint"
    assert _suppressed(service, "soft@example.com") is None
    forged = _sns(key, prefix, _bounce("victim@example.com"))
    forged["Message"] = json.dumps(_bounce("other@example.com"))  # changed after signing
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong_host = _sns(key, "https://evil.example.com/", _bounce("victim@example.com"))
    for message, status in ((forged, 401),
                            (_sns(other_key, prefix, _bounce("victim@example.com")), 401),
                            (wrong_host, 401),
                            (_sns(key, prefix, _bounce("victim@example.com"), age=7200), 400),
                            (_sns(key, prefix, _bounce("victim@example.com"),
                                  topic="arn:aws:sns:eu-west-1:999:other"), 403)):
        assert post(message).status_code == status
    assert _suppressed(service, "victim@example.com") is None
    assert _suppressed(service, "other@example.com") is None


def test_postmark_with_its_basic_auth_suppresses_without_it_refused(client):
    test_client, service = client
    bounce = {"RecordType": "Bounce", "Type": "HardBounce", "Email": "pm@example.com"}
    assert test_client.post("/hooks/postmark", json=bounce).status_code == 401
    assert test_client.post("/hooks/postmark", json=bounce,
                            auth=("postmark", "guess")).status_code == 401
    assert _suppressed(service, "pm@example.com") is None
    assert test_client.post("/hooks/postmark", json=bounce,
                            auth=("postmark", POSTMARK)).status_code == 200
    spam = {"RecordType": "SpamComplaint", "Email": "spam@example.com"}
    assert test_client.post("/hooks/postmark", json=spam,
                            auth=("postmark", POSTMARK)).status_code == 200
    assert _suppressed(service, "pm@example.com") == "bounce"
    assert _suppressed(service, "spam@example.com") == "complaint"


def _mailgun(address: str, key: str = MAILGUN, age: float = 0, token: str | None = None,
             event: str = "failed") -> dict:
    stamp = str(int(time.time() - age))
    token = token or base64.b16encode(hashlib.sha256(f"{address}{time.monotonic_ns()}"
                                                     .encode()).digest()).decode().lower()
    signature = hmac.new(key.encode(), (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": stamp, "token": token, "signature": signature},
            "event-data": {"event": event, "severity": "permanent", "recipient": address}}


def test_mailgun_signed_suppresses_forged_stale_and_replayed_refused(client):
    test_client, service = client
    post = lambda payload: test_client.post("/hooks/mailgun", json=payload)  # noqa: E731
    good = _mailgun("mg@example.com")
    assert post(good).status_code == 200
    assert post(_mailgun("mgc@example.com", event="complained")).status_code == 200
    assert _suppressed(service, "mg@example.com") == "bounce"
    assert _suppressed(service, "mgc@example.com") == "complaint"
    replay = dict(good, **{"event-data": {"event": "failed", "severity": "permanent",
                                          "recipient": "victim@example.com"}})
    assert post(replay).status_code == 400  # the same token again
    assert post(_mailgun("victim@example.com", key="key-wrong")).status_code == 401
    assert post(_mailgun("victim@example.com", age=3600)).status_code == 400
    assert _suppressed(service, "victim@example.com") is None


def test_no_secret_no_route(tmp_path, built_sample, monkeypatch):
    for name in ("LEADGUIDE_POSTMARK_TOKEN", "LEADGUIDE_MAILGUN_SIGNING_KEY",
                 "LEADGUIDE_SES_TOPICS"):
        monkeypatch.delenv(name, raising=False)
    guide = make_guide(tmp_path, built_sample[0].output, free_port())
    service = open_service(guide, env={"LEADGUIDE_SECRET": SECRET})
    with TestClient(create_app(service), base_url="http://127.0.0.1") as test_client:
        assert test_client.post("/hooks/postmark", json={}).status_code in (404, 405)
    service.close()


def test_sns_subscription_is_confirmed_only_for_an_accepted_topic_from_sns(signing, monkeypatch):
    key, prefix = signing
    settings = InboundSettings(ses_topics=(TOPIC,), cert_prefix=prefix)
    verifier, fetched = SnsVerifier(settings), []

    def subscription(topic: str, subscribe_url: str) -> bytes:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        message = {"Type": "SubscriptionConfirmation", "MessageId": f"s-{time.monotonic_ns()}",
                   "Token": "tok", "TopicArn": topic, "Message": "You have chosen to subscribe",
                   "SubscribeURL": subscribe_url, "Timestamp": stamp, "SignatureVersion": "1",
                   "SigningCertURL": prefix + "cert.pem"}
        text = "".join(f"{k}\n{message[k]}\n" for k in ("Message", "MessageId", "SubscribeURL",
                                                        "Timestamp", "Token", "TopicArn",
                                                        "Type"))
        message["Signature"] = base64.b64encode(
            key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA1())).decode()
        return json.dumps(message).encode()

    aws = ("https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn="
           f"{TOPIC}&Token=tok")
    assert ses_events(subscription(TOPIC, aws), verifier, fetched.append) == []
    assert fetched == [aws]
    with pytest.raises(Refused) as refused:  # another topic: not confirmed
        ses_events(subscription("arn:aws:sns:eu-west-1:999:x", aws), verifier, fetched.append)
    assert refused.value.status == 403
    with pytest.raises(Refused) as refused:  # a signed message pointing elsewhere
        ses_events(subscription(TOPIC, "https://evil.example.com/confirm"), verifier,
                   fetched.append)
    assert refused.value.status == 400 and fetched == [aws]
    # Without the tests' prefix, only Amazon's own certificate addresses are trusted.
    strict = SnsVerifier(InboundSettings(ses_topics=(TOPIC,)))
    assert strict.trusted("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem")
    for url in ("http://sns.us-east-1.amazonaws.com/x.pem",
                "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
                "https://sns.us-east-1.amazonaws.com:8443/x.pem", prefix + "cert.pem"):
        assert not strict.trusted(url)
