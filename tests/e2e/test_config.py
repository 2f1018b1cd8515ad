"""Bad configuration fails start-up with exit code 2 and one line naming the
setting, for every binary."""
import os
import subprocess
import tempfile
import unittest

from harness import BIN_DIR, free_port

BINARIES = ["profile-service", "scoring-service", "feedback-service", "echo-server"]


def run(binary, env=None, args=()):
    full_env = dict(os.environ)
    full_env.update({"RAPPORT_GRPC_ADDR": f"127.0.0.1:{free_port()}",
                     "RAPPORT_METRICS_ADDR": f"127.0.0.1:{free_port()}"})
    full_env.update(env or {})
    return subprocess.run([os.path.join(BIN_DIR, binary), *args], env=full_env,
                          capture_output=True, text=True, timeout=20)


class BadConfigurationTest(unittest.TestCase):
    def assertRefused(self, binary, setting, env=None, args=()):
        r = run(binary, env, args)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        self.assertEqual(r.returncode, 2, f"{binary} {env} {args}: exit {r.returncode}\n{r.stderr}")
        self.assertEqual(len(lines), 1, f"expected one line, got:\n{r.stderr}")
        self.assertIn(setting, lines[0])

    def test_unparseable_port(self):
        for b in BINARIES:
            self.assertRefused(b, "RAPPORT_GRPC_ADDR", {"RAPPORT_GRPC_ADDR": "127.0.0.1:http"})
            self.assertRefused(b, "RAPPORT_METRICS_ADDR", {"RAPPORT_METRICS_ADDR": "127.0.0.1:70000"})

    def test_bad_redis_url(self):
        for b in BINARIES[:3]:
            self.assertRefused(b, "RAPPORT_REDIS_URL", {"RAPPORT_REDIS_URL": "http://127.0.0.1:6379"})
            self.assertRefused(b, "RAPPORT_REDIS_URL", {"RAPPORT_REDIS_URL": "redis://127.0.0.1:99999"})

    def test_unreadable_keys_file(self):
        for b in BINARIES:
            self.assertRefused(b, "RAPPORT_API_KEYS_FILE",
                               {"RAPPORT_API_KEYS_FILE": "/nonexistent/rapport-keys.json"})

    def test_malformed_keys_file(self):
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write('{"keys": [{"sha256": "abc", "tenant": "acme"}]}')
            f.flush()
            self.assertRefused("profile-service", "RAPPORT_API_KEYS_FILE",
                               {"RAPPORT_API_KEYS_FILE": f.name})

    def test_flag_overrides_environment(self):
        # The environment is fine, the flag is not: the flag wins and is named.
        self.assertRefused("profile-service", "RAPPORT_GRPC_ADDR", args=["--grpc-addr=nonsense"])

    def test_bad_log_level_and_unknown_flag(self):
        self.assertRefused("scoring-service", "RAPPORT_LOG_LEVEL", {"RAPPORT_LOG_LEVEL": "loud"})
        r = run("feedback-service", args=["--no-such-flag=1"])
        self.assertEqual(r.returncode, 2)
        self.assertIn("--no-such-flag", r.stderr)

    def test_tls_half_configured(self):
        self.assertRefused("profile-service", "RAPPORT_TLS_KEY_FILE",
                           {"RAPPORT_TLS_CERT_FILE": "/tmp/cert.pem"})

    def test_metrics_port_in_use(self):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            self.assertRefused("echo-server", "RAPPORT_METRICS_ADDR",
                               {"RAPPORT_METRICS_ADDR": f"127.0.0.1:{port}"})

    def test_help_lists_every_setting(self):
        r = run("profile-service", args=["--help"])
        self.assertEqual(r.returncode, 0)
        for name in ("RAPPORT_GRPC_ADDR", "RAPPORT_METRICS_ADDR", "RAPPORT_REDIS_URL",
                     "RAPPORT_PROFILE_ADDR", "RAPPORT_SCORING_ADDR", "RAPPORT_API_KEYS_FILE",
                     "RAPPORT_LOG_LEVEL", "RAPPORT_TLS_CERT_FILE", "RAPPORT_TLS_CLIENT_CA_FILE"):
            self.assertIn(name, r.stdout)


if __name__ == "__main__":
    unittest.main()
