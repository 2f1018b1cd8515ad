"""Starts real Rapport binaries and a real redis-server for end-to-end tests.

An independent client: it uses only Debian's python3-grpcio and stubs that
protoc's grpc_python_plugin generated from protos/ at build time (the
directory in RAPPORT_PY_STUBS). Every process started here is stopped by
Platform.stop(); ports are free loopback ports picked at start.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

BIN_DIR = os.environ.get("RAPPORT_BIN_DIR", os.path.join(os.getcwd(), "build", "bin"))
PY_STUBS = os.environ.get("RAPPORT_PY_STUBS", os.path.join(os.path.dirname(BIN_DIR), "py"))
sys.path.insert(0, PY_STUBS)
sys.path.insert(0, os.path.join(os.path.dirname(PY_STUBS), "py-health"))

import grpc  # noqa: E402
import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402

SERVICES = {
    "profile-service": "rapport.profile.v1.ProfileService",
    "scoring-service": "rapport.scoring.v1.ScoringService",
    "feedback-service": "rapport.feedback.v1.FeedbackService",
}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


class Redis:
    def __init__(self, workdir, port=None):
        self.port = port or free_port()
        self.dir = os.path.join(workdir, f"redis-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        with open(os.path.join(self.dir, "redis.log"), "ab") as log:
            self.proc = subprocess.Popen(
                ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                 "--save", "", "--appendonly", "no", "--daemonize", "no"],
                stdout=log, stderr=subprocess.STDOUT)
        if not wait_for(self.ping, 10):
            raise RuntimeError(f"redis-server did not answer on {self.port}; see {self.dir}/redis.log")

    def ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Service:
    def __init__(self, name, workdir, env):
        self.name = name
        self.grpc_port = free_port()
        self.metrics_port = free_port()
        self.addr = f"127.0.0.1:{self.grpc_port}"
        self.log_path = os.path.join(workdir, f"{name}-{self.grpc_port}.log")
        self.env = env
        self.proc = None

    def start(self, extra_env=None):
        env = dict(os.environ)
        env.update(self.env)
        env.update({"RAPPORT_GRPC_ADDR": self.addr,
                    "RAPPORT_METRICS_ADDR": f"127.0.0.1:{self.metrics_port}"})
        env.update(extra_env or {})
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN_DIR, self.name)], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def health(self, service="", timeout=2):
        try:
            with grpc.insecure_channel(self.addr) as ch:
                r = health_pb2_grpc.HealthStub(ch).Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=timeout)
                return health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
        except grpc.RpcError as e:
            return "ERROR " + e.code().name

    def logs(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        self.log.close()
        return code


class Platform:
    """redis-server plus the three services, on free loopback ports."""

    def __init__(self, names=tuple(SERVICES), extra_env=None):
        self.workdir = tempfile.mkdtemp(prefix="rapport-e2e-")
        self.redis = Redis(self.workdir)
        self.services = {}
        self.names = names
        self.extra_env = extra_env or {}

    def start(self):
        self.redis.start()
        env = {"RAPPORT_REDIS_URL": self.redis.url, "RAPPORT_LOG_LEVEL": "info"}
        env.update(self.extra_env)
        for name in self.names:
            self.services[name] = Service(name, self.workdir, env)
        # Peers point at each other's private ports.
        peers = {}
        if "profile-service" in self.services:
            peers["RAPPORT_PROFILE_ADDR"] = self.services["profile-service"].addr
        if "scoring-service" in self.services:
            peers["RAPPORT_SCORING_ADDR"] = self.services["scoring-service"].addr
        for svc in self.services.values():
            svc.env.update(peers)
            svc.start()
        for svc in self.services.values():
            if not wait_for(lambda: svc.health() == "SERVING", 30):
                raise RuntimeError(f"{svc.name} not SERVING within 30 s:\n{svc.logs()}")
        return self

    def stop(self):
        for svc in self.services.values():
            svc.stop()
        self.redis.stop()
        if os.environ.get("RAPPORT_KEEP_E2E_DIRS") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __getitem__(self, name):
        return self.services[name]
