"""Each service's /metrics is valid Prometheus exposition (checked by the
real `promtool check metrics`) and counts gRPC calls by method and code."""
import re
import shutil
import subprocess
import unittest
import urllib.request

import grpc

from harness import Platform, SERVICES


def scrape(svc):
    with urllib.request.urlopen(f"http://127.0.0.1:{svc.metrics_port}/metrics", timeout=5) as r:
        return r.read().decode()


def sample(text, name, **labels):
    """Value of the series `name{labels...}` (labels may be a subset), or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


class MetricsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.platform = Platform().start()

    @classmethod
    def tearDownClass(cls):
        cls.platform.stop()

    def test_promtool_accepts_every_service(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian package prometheus) is not installed")
        for name in SERVICES:
            text = scrape(self.platform[name])
            r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
            # promtool exits 1 for lint problems too (e.g. a missing HELP): all must be clean.
            self.assertEqual(r.returncode, 0, f"{name}: {r.stdout}{r.stderr}")

    def test_counts_calls_by_method_and_code(self):
        svc = self.platform["profile-service"]
        before = sample(scrape(svc), "grpc_server_handled_total", grpc_service="grpc.health.v1.Health",
                        grpc_method="Check", grpc_code="OK") or 0
        for _ in range(5):
            self.assertEqual(svc.health(), "SERVING")
        with grpc.insecure_channel(svc.addr) as ch:
            call = ch.unary_unary("/rapport.profile.v1.ProfileService/GetProfile",
                                  request_serializer=lambda b: b, response_deserializer=lambda b: b)
            try:
                call(b"", timeout=5)
            except grpc.RpcError:
                pass
        text = scrape(svc)
        after = sample(text, "grpc_server_handled_total", grpc_service="grpc.health.v1.Health",
                       grpc_method="Check", grpc_code="OK")
        self.assertGreaterEqual(after - before, 5)
        self.assertIsNotNone(sample(text, "grpc_server_handling_seconds_count",
                                    grpc_service="rapport.profile.v1.ProfileService", grpc_method="GetProfile"))
        total = sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
                    if l.startswith("grpc_server_handled_total{") and 'grpc_method="GetProfile"' in l)
        self.assertGreaterEqual(total, 1)

    def test_unknown_methods_do_not_create_series(self):
        svc = self.platform["scoring-service"]
        with grpc.insecure_channel(svc.addr) as ch:
            for i in range(3):
                call = ch.unary_unary(f"/evil.Service/Method{i}", request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
                with self.assertRaises(grpc.RpcError) as e:
                    call(b"", timeout=5)
                self.assertEqual(e.exception.code(), grpc.StatusCode.UNIMPLEMENTED)
        self.assertNotIn("evil", scrape(svc))

    def test_redis_commands_are_timed(self):
        text = scrape(self.platform["feedback-service"])
        self.assertGreater(sample(text, "redis_command_duration_seconds_count", command="PING") or 0, 0)
        self.assertIsNotNone(sample(text, "redis_command_errors_total", command="PING"))
        self.assertTrue(re.search(r'rapport_build_info\{.*service="feedback-service"', text))


if __name__ == "__main__":
    unittest.main()
