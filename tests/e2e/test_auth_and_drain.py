"""API keys (UNAUTHENTICATED for missing or unknown keys), structured JSON
logs, and graceful drain on SIGTERM, against the real binaries."""
import hashlib
import json
import os
import signal
import unittest

import grpc

from harness import Platform, Service, free_port

KEY = "rk_test_sales_5b1f0c"


def raw_call(addr, method, metadata=None):
    with grpc.insecure_channel(addr) as ch:
        call = ch.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
        try:
            call(b"", timeout=5, metadata=metadata)
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            return e.code()


class ApiKeyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"rapport-keys-{os.getpid()}.json")
        with open(cls.keys, "w") as f:
            json.dump({"keys": [{"sha256": hashlib.sha256(KEY.encode()).hexdigest(), "tenant": "acme",
                                 "team": "SALES", "role": "writer", "name": "e2e"}]}, f)
        cls.platform = Platform(extra_env={"RAPPORT_API_KEYS_FILE": cls.keys}).start()

    @classmethod
    def tearDownClass(cls):
        cls.platform.stop()
        os.unlink(cls.keys)

    def test_missing_and_unknown_keys_are_unauthenticated(self):
        for name, method in (("profile-service", "/rapport.profile.v1.ProfileService/GetProfile"),
                             ("scoring-service", "/rapport.scoring.v1.ScoringService/GetModel"),
                             ("feedback-service", "/rapport.feedback.v1.FeedbackService/ListFeedback")):
            addr = self.platform[name].addr
            self.assertEqual(raw_call(addr, method), grpc.StatusCode.UNAUTHENTICATED, name)
            self.assertEqual(raw_call(addr, method, [("authorization", "Bearer wrong")]),
                             grpc.StatusCode.UNAUTHENTICATED, name)
            self.assertNotEqual(raw_call(addr, method, [("authorization", f"Bearer {KEY}")]),
                                grpc.StatusCode.UNAUTHENTICATED, name)

    def test_health_needs_no_key(self):
        # Kubernetes probes carry no credentials.
        self.assertEqual(self.platform["profile-service"].health(), "SERVING")

    def test_logs_are_json_and_never_echo_the_key(self):
        raw_call(self.platform["profile-service"].addr, "/rapport.profile.v1.ProfileService/GetProfile",
                 [("authorization", "Bearer not-a-real-key-123")])
        for svc in self.platform.services.values():
            text = svc.logs()
            self.assertNotIn(KEY, text)
            self.assertNotIn("not-a-real-key-123", text)
            for line in text.splitlines():
                entry = json.loads(line)
                self.assertIn("event", entry)
                self.assertEqual(entry["service"], svc.name)


class DrainTest(unittest.TestCase):
    def test_sigterm_exits_zero_after_drain(self):
        import tempfile
        svc = Service("echo-server", tempfile.mkdtemp(prefix="rapport-drain-"), {})
        svc.start()
        from harness import wait_for
        self.assertTrue(wait_for(lambda: svc.health() == "SERVING", 20), svc.logs())
        self.assertEqual(svc.stop(signal.SIGTERM), 0, svc.logs())
        events = [json.loads(l)["event"] for l in svc.logs().splitlines()]
        self.assertIn("drain_started", events)
        self.assertEqual(events[-1], "server_stopped")

    def test_sigint_also_drains(self):
        import tempfile
        svc = Service("echo-server", tempfile.mkdtemp(prefix="rapport-drain-"), {})
        svc.start()
        from harness import wait_for
        self.assertTrue(wait_for(lambda: svc.health() == "SERVING", 20), svc.logs())
        self.assertEqual(svc.stop(signal.SIGINT), 0, svc.logs())


if __name__ == "__main__":
    unittest.main()
