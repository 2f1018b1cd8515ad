"""grpc.health.v1 on the three real binaries, checked from an independent
Python client: SERVING with Redis up, NOT_SERVING within 5 s of Redis going
away, SERVING again when it is back, without restarting the services."""
import time
import unittest

from harness import Platform, SERVICES, wait_for


class HealthFollowsRedisTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.platform = Platform().start()

    @classmethod
    def tearDownClass(cls):
        cls.platform.stop()

    def test_all_services_serving_overall_and_by_name(self):
        for name, full in SERVICES.items():
            svc = self.platform[name]
            self.assertEqual(svc.health(), "SERVING", name)
            self.assertEqual(svc.health(full), "SERVING", name)
            self.assertEqual(svc.health("no.such.Service"), "ERROR NOT_FOUND", name)

    def test_not_serving_without_redis_then_serving_again(self):
        redis = self.platform.redis
        redis.stop()
        started = time.monotonic()
        for name in SERVICES:
            svc = self.platform[name]
            ok = wait_for(lambda: svc.health() == "NOT_SERVING", 5 - (time.monotonic() - started))
            self.assertTrue(ok, f"{name} still {svc.health()} 5 s after Redis stopped")
            self.assertEqual(svc.health(SERVICES[name]), "NOT_SERVING")
        redis.start()
        for name in SERVICES:
            svc = self.platform[name]
            self.assertTrue(wait_for(lambda: svc.health() == "SERVING", 15),
                            f"{name} not SERVING again after Redis came back:\n{svc.logs()}")
            self.assertIsNotNone(svc.proc, "service was restarted")
            self.assertIsNone(svc.proc.poll(), f"{name} exited")


if __name__ == "__main__":
    unittest.main()
