"""TLS and mutual TLS end to end: a real service configured with
RAPPORT_TLS_* and the real rapportctl client with the matching settings.
Certificates come from a throwaway CA made with the openssl CLI."""
import os
import subprocess
import tempfile
import unittest

import shutil

from harness import BIN_DIR, Redis, Service


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={name}", cwd=d)


def make_cert(d, name, ca, san):
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
    with open(os.path.join(d, f"{name}.ext"), "w") as f:
        f.write(f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=d)


class MutualTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="rapport-tls-")
        d = cls.dir
        make_ca(d, "ca")
        make_ca(d, "rogue")
        make_cert(d, "server", "ca", "DNS:localhost,IP:127.0.0.1")
        make_cert(d, "client", "ca", "DNS:rapportctl")
        make_cert(d, "intruder", "rogue", "DNS:rapportctl")
        cls.redis = Redis(d)
        cls.redis.start()
        cls.svc = Service("profile-service", d, {
            "RAPPORT_REDIS_URL": cls.redis.url,
            "RAPPORT_TLS_CERT_FILE": cls.p("server.pem"), "RAPPORT_TLS_KEY_FILE": cls.p("server.key"),
            "RAPPORT_TLS_CLIENT_CA_FILE": cls.p("ca.pem")})
        cls.svc.start()

    @classmethod
    def p(cls, name):
        return os.path.join(cls.dir, name)

    @classmethod
    def tearDownClass(cls):
        cls.svc.stop()
        cls.redis.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def health(self, *flags):
        r = subprocess.run([os.path.join(BIN_DIR, "rapportctl"), "health", "--target", self.svc.addr,
                            "--timeout-ms", "3000", *flags], capture_output=True, text=True, timeout=30,
                           env={k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_TLS")})
        return r.returncode, r.stdout.strip() + r.stderr.strip()

    def test_client_with_ca_signed_certificate_is_served(self):
        import time
        deadline = time.monotonic() + 20
        while True:
            code, out = self.health(f"--tls-ca-file={self.p('ca.pem')}", f"--tls-cert-file={self.p('client.pem')}",
                                    f"--tls-key-file={self.p('client.key')}")
            if code == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual((code, out), (0, "SERVING"), self.svc.logs())

    def test_plaintext_client_is_refused(self):
        code, out = self.health()
        self.assertNotEqual(code, 0)
        self.assertNotIn("SERVING", out.replace("NOT_SERVING", ""))

    def test_client_without_certificate_is_refused(self):
        code, _ = self.health(f"--tls-ca-file={self.p('ca.pem')}")
        self.assertNotEqual(code, 0)

    def test_client_signed_by_another_ca_is_refused(self):
        code, _ = self.health(f"--tls-ca-file={self.p('ca.pem')}", f"--tls-cert-file={self.p('intruder.pem')}",
                              f"--tls-key-file={self.p('intruder.key')}")
        self.assertNotEqual(code, 0)

    def test_client_trusting_another_ca_refuses_the_server(self):
        code, _ = self.health(f"--tls-ca-file={self.p('rogue.pem')}", f"--tls-cert-file={self.p('client.pem')}",
                              f"--tls-key-file={self.p('client.key')}")
        self.assertNotEqual(code, 0)


if __name__ == "__main__":
    unittest.main()
