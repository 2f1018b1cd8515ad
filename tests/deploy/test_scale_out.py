"""Scale-out on one machine (issue 6, item 6): two replicas of each service on
loopback ports behind gRPC client-side round_robin, one redis-server, and a
real Prometheus (Debian's package) scraping all six /metrics endpoints.

Phase 1: traffic through both replicas of every service, then a pause.
  - Prometheus: all six targets up (up == 1).
  - Both replicas of each service served some of the calls.
  - Counters add up exactly: for each driven method, the sum over the two
    replicas of grpc_server_handled_total{grpc_code="OK"} equals the client's
    successful calls (no kill, so no retries: nothing to tolerate).
Phase 2: traffic again; mid-run one replica of each service is killed
(SIGKILL, no drain); traffic goes on.
  - Clients: zero failed calls. Their channels retry UNAVAILABLE (up to 5
    attempts, service config below), which is what the retry policy allows:
    a call only fails if every attempt does.
  - Prometheus: the three survivors up == 1, the three killed up == 0.
  - Counters: for each method, P = sum over replicas of the last value
    Prometheus holds (max_over_time over the run) must satisfy
    S - L <= P <= S + R, where S is the client's successes over both phases,
    L the client's successes in the (scrape interval + 1 s) before the kill
    (an upper bound on what the killed replica answered after its last
    scrape), and R the client threads of that service (calls answered by the
    killed replica whose answer was lost and then retried elsewhere).
The methods driven are called by no other service (UpsertContact,
ScoreMessage, SubmitFeedback with reviews, which are not forwarded), so the
server counters count the clients' calls only. Loopback only, bounded (about
40 s), and everything started here is stopped at the end.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))

import grpc  # noqa: E402

from harness import Redis, Service, free_port, wait_for  # noqa: E402
from rapport.common.v1 import common_pb2  # noqa: E402
from rapport.feedback.v1 import feedback_pb2, feedback_pb2_grpc  # noqa: E402
from rapport.profile.v1 import profile_pb2, profile_pb2_grpc  # noqa: E402
from rapport.scoring.v1 import scoring_pb2, scoring_pb2_grpc  # noqa: E402

SCRAPE_INTERVAL_S = 1
THREADS_PER_SERVICE = 2
PACE_S = 0.01  # pause between one thread's calls: keeps 2 shared cores usable
DEADLINE_S = 10
CONTACTS = 50

SERVICE_CONFIG = json.dumps({
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [{
        "name": [{"service": "rapport.profile.v1.ProfileService"},
                 {"service": "rapport.scoring.v1.ScoringService"},
                 {"service": "rapport.feedback.v1.FeedbackService"}],
        "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
                        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]},
    }],
})

# service binary -> (gRPC service, method the clients drive)
DRIVEN = {
    "profile-service": ("rapport.profile.v1.ProfileService", "UpsertContact"),
    "scoring-service": ("rapport.scoring.v1.ScoringService", "ScoreMessage"),
    "feedback-service": ("rapport.feedback.v1.FeedbackService", "SubmitFeedback"),
}


class Prometheus:
    def __init__(self, workdir, targets):
        self.port = free_port()
        self.dir = os.path.join(workdir, "prometheus")
        os.makedirs(os.path.join(self.dir, "data"))
        self.config = os.path.join(self.dir, "prometheus.yml")
        static = [{"targets": [t], "labels": {"rapport_service": svc, "replica": replica}}
                  for svc, replica, t in targets]
        with open(self.config, "w") as f:
            json.dump({"global": {"scrape_interval": f"{SCRAPE_INTERVAL_S}s",
                                  "scrape_timeout": f"{SCRAPE_INTERVAL_S}s"},
                       "scrape_configs": [{"job_name": "rapport", "static_configs": static}]}, f)
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "prometheus.log"), "ab")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={self.config}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        if not wait_for(self.ready, 30, interval=0.2):
            raise RuntimeError(f"prometheus not ready on {self.port}; see {self.dir}/prometheus.log")

    def ready(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False

    def query(self, expr):
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]["result"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "log", None):
            self.log.close()


class Traffic:
    """THREADS_PER_SERVICE threads per service, each calling its service's
    driven method through one round_robin channel until stopped."""

    def __init__(self, targets):
        self.channels = {name: grpc.insecure_channel(
            target, options=[("grpc.service_config", SERVICE_CONFIG), ("grpc.enable_retries", 1)])
            for name, target in targets.items()}
        stubs = {"profile-service": profile_pb2_grpc.ProfileServiceStub,
                 "scoring-service": scoring_pb2_grpc.ScoringServiceStub,
                 "feedback-service": feedback_pb2_grpc.FeedbackServiceStub}
        self.stubs = {name: stubs[name](ch) for name, ch in self.channels.items()}
        self.lock = threading.Lock()
        self.ok = {name: 0 for name in targets}
        self.ok_times = {name: [] for name in targets}
        self.failures = []
        self.seq = 0

    def call(self, name, i):
        if name == "profile-service":
            self.stubs[name].UpsertContact(profile_pb2.UpsertContactRequest(contact=common_pb2.Contact(
                id=f"scale-{i % CONTACTS}", full_name="Ana Ruiz", preferred_name="Ana", company="Northwind",
                priorities=["open stores faster"])), timeout=DEADLINE_S)
        elif name == "scoring-service":
            self.stubs[name].ScoreMessage(scoring_pb2.ScoreMessageRequest(
                message=scoring_pb2.Draft(channel=common_pb2.CHANNEL_EMAIL, subject="stores",
                                          body=f"Hi Ana, saw Northwind opened {i} new stores. How are you staffing them?"),
                contact_id=f"scale-{i % CONTACTS}"), timeout=DEADLINE_S)
        else:
            self.stubs[name].SubmitFeedback(feedback_pb2.SubmitFeedbackRequest(feedback=feedback_pb2.Feedback(
                author=feedback_pb2.Author(team=common_pb2.TEAM_SALES, id="scale-rep"),
                subject=feedback_pb2.FeedbackSubject(template_id=f"tpl-{i % 5}"),
                review=feedback_pb2.Review(rating=4, comment="clear and short"),
                idempotency_key=f"scale-{i}")), timeout=DEADLINE_S)

    def seed(self):
        """Creates the contacts ScoreMessage names (counted: they are
        UpsertContact calls like any other)."""
        if "profile-service" not in self.stubs:
            return
        for i in range(CONTACTS):
            self.call("profile-service", i)
            self.ok["profile-service"] += 1
            self.ok_times["profile-service"].append(time.monotonic())

    def worker(self, name, stop):
        while not stop.is_set():
            with self.lock:
                self.seq += 1
                i = self.seq
            try:
                self.call(name, i)
                with self.lock:
                    self.ok[name] += 1
                    self.ok_times[name].append(time.monotonic())
            except grpc.RpcError as e:
                with self.lock:
                    self.failures.append((name, e.code().name, e.details()))
            time.sleep(PACE_S)

    def run(self, seconds, during=None):
        stop = threading.Event()
        threads = [threading.Thread(target=self.worker, args=(name, stop), daemon=True)
                   for name in self.ok for _ in range(THREADS_PER_SERVICE)]
        for t in threads:
            t.start()
        start = time.monotonic()
        if during is not None:
            at, action = during
            time.sleep(at)
            action()
        time.sleep(max(0.0, seconds - (time.monotonic() - start)))
        stop.set()
        for t in threads:
            t.join(DEADLINE_S + 5)

    def close(self):
        for c in self.channels.values():
            c.close()


class ScaleOutTest(unittest.TestCase):
    def setUp(self):
        self.started = time.monotonic()
        self.workdir = tempfile.mkdtemp(prefix="rapport-scale-")
        self.redis = Redis(self.workdir)
        self.replicas = {name: [] for name in DRIVEN}
        self.prometheus = None
        self.traffic = None
        # Runs even when setUp fails half-way (tearDown would not).
        self.addCleanup(self.stop_all)
        self.redis.start()
        env = {"RAPPORT_REDIS_URL": self.redis.url, "RAPPORT_LOG_LEVEL": "warn", "RAPPORT_DRAIN_SECONDS": "2"}
        for name in DRIVEN:
            self.replicas[name] = [Service(name, self.workdir, dict(env)) for _ in range(2)]
        targets = {name: "ipv4:" + ",".join(r.addr for r in reps) for name, reps in self.replicas.items()}
        for reps in self.replicas.values():
            for r in reps:
                r.env.update({"RAPPORT_PROFILE_ADDR": targets["profile-service"],
                              "RAPPORT_SCORING_ADDR": targets["scoring-service"]})
                r.start()
        for reps in self.replicas.values():
            for r in reps:
                if not wait_for(lambda: r.health() == "SERVING", 30):
                    self.fail(f"{r.name} on {r.addr} not SERVING within 30 s:\n{r.logs()}")
        self.prometheus = Prometheus(self.workdir, [
            (name, str(i), f"127.0.0.1:{r.metrics_port}")
            for name, reps in self.replicas.items() for i, r in enumerate(reps)])
        self.prometheus.start()
        self.traffic = Traffic(targets)
        self.traffic.seed()

    def stop_all(self):
        if self.traffic:
            self.traffic.close()
        for reps in self.replicas.values():
            for r in reps:
                r.stop(timeout=10)
        if self.prometheus:
            self.prometheus.stop()
        self.redis.stop()
        if os.environ.get("RAPPORT_KEEP_E2E_DIRS") is None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- Prometheus helpers --------------------------------------------------
    def up_by_replica(self):
        return {(s["metric"]["rapport_service"], s["metric"]["replica"]): float(s["value"][1])
                for s in self.prometheus.query('up{job="rapport"}')}

    def ok_by_replica(self, name, over="10m"):
        svc, method = DRIVEN[name]
        expr = (f'max_over_time(grpc_server_handled_total{{job="rapport",grpc_service="{svc}",'
                f'grpc_method="{method}",grpc_code="OK"}}[{over}])')
        return {s["metric"]["replica"]: float(s["value"][1]) for s in self.prometheus.query(expr)}

    def wait_scraped(self):
        """Two scrape intervals and a margin: every live target scraped after
        the traffic stopped."""
        time.sleep(2 * SCRAPE_INTERVAL_S + 0.5)

    def test_round_robin_replicas_survive_a_kill_and_prometheus_adds_up(self):
        want_up = {(name, str(i)): 1.0 for name in DRIVEN for i in range(2)}
        self.assertTrue(wait_for(lambda: self.up_by_replica() == want_up, 20, interval=0.5),
                        f"not every target up: {self.up_by_replica()}")

        # Phase 1: both replicas, no fault: counters add up exactly.
        self.traffic.run(6)
        self.assertEqual(self.traffic.failures, [], "failed calls with every replica up")
        self.wait_scraped()
        phase1 = dict(self.traffic.ok)
        for name in DRIVEN:
            by_replica = self.ok_by_replica(name)
            self.assertGreater(phase1[name], 0, name)
            self.assertEqual(set(by_replica), {"0", "1"}, f"{name}: {by_replica}")
            for replica, n in by_replica.items():
                self.assertGreater(n, 0, f"{name} replica {replica} served nothing: round_robin not spreading")
            self.assertEqual(sum(by_replica.values()), phase1[name],
                             f"{name}: Prometheus {by_replica} vs client successes {phase1[name]}")

        # Phase 2: kill replica 0 of every service mid-run.
        kill_at = {}

        def kill():
            for name, reps in self.replicas.items():
                reps[0].proc.send_signal(signal.SIGKILL)
                reps[0].proc.wait(5)
            kill_at["t"] = time.monotonic()

        self.traffic.run(8, during=(3, kill))
        self.assertEqual(self.traffic.failures[:5], [],
                         f"{len(self.traffic.failures)} calls failed despite the retry policy")
        self.wait_scraped()

        up = self.up_by_replica()
        for name in DRIVEN:
            self.assertEqual(up.get((name, "1")), 1.0, f"survivor of {name} not up: {up}")
            self.assertEqual(up.get((name, "0")), 0.0, f"killed replica of {name} not reported down: {up}")

        window = SCRAPE_INTERVAL_S + 1.0
        for name in DRIVEN:
            by_replica = self.ok_by_replica(name)
            total = sum(by_replica.values())
            clients = self.traffic.ok[name]
            gap = sum(1 for t in self.traffic.ok_times[name] if kill_at["t"] - window <= t <= kill_at["t"])
            self.assertIn("1", by_replica, f"{name}: survivor's counter missing")
            self.assertGreater(clients, phase1[name], f"{name}: no successes after the kill")
            self.assertLessEqual(clients - gap, total,
                                 f"{name}: Prometheus {by_replica} sums to {total}, clients {clients}, gap bound {gap}")
            self.assertLessEqual(total, clients + THREADS_PER_SERVICE,
                                 f"{name}: Prometheus {by_replica} sums to {total}, clients {clients}")
            print(f"{name}: clients {clients} OK ({phase1[name]} before the kill), Prometheus {by_replica} "
                  f"= {total:.0f}, tolerance -{gap}/+{THREADS_PER_SERVICE}", file=sys.stderr)
        self.assertLess(time.monotonic() - self.started, 90, "scale-out test exceeded its 90 s budget")


if __name__ == "__main__":
    unittest.main()
