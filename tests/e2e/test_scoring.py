"""scoring-service end to end from the independent Python client: the seed
message, a profile from profile-service, the bulk stream, learning from
outcomes, and bad input."""
import os
import unittest

import grpc

from harness import Platform
from rapport.common.v1 import common_pb2
from rapport.profile.v1 import profile_pb2, profile_pb2_grpc
from rapport.scoring.v1 import scoring_pb2, scoring_pb2_grpc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEED = ("Mitchell, my name is Bob Blah and I would really like to have just 10 minutes of your time to tell you all "
        "about my blah, blah, blah. We are number one in blah, blah, blah. And today we serve 159 of the Fortune 500 "
        "companies. Our blah, blah, blah, will help you sell more and solve all of your problems.")
MITCH = common_pb2.Contact(id="e2e-mitch", full_name="Mitchell Grant", preferred_name="Mitch", title="VP Sales",
                           company="Acme Logistics", industry="Logistics",
                           priorities=["cut onboarding time for new reps"],
                           trigger_events=[common_pb2.TriggerEvent(description="opened a new distribution hub in Denver")])
SENDER = common_pb2.Sender(team=common_pb2.TEAM_SALES, rep_id="bob", company_name="Blah Inc", product_names=["Blah"])


def draft(body, subject="Quick question"):
    return scoring_pb2.Draft(channel=common_pb2.CHANNEL_EMAIL, subject=subject, body=body)


class ScoringServiceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.platform = Platform(names=("profile-service", "scoring-service")).start()
        cls.channel = grpc.insecure_channel(cls.platform["scoring-service"].addr)
        cls.stub = scoring_pb2_grpc.ScoringServiceStub(cls.channel)
        cls.pchannel = grpc.insecure_channel(cls.platform["profile-service"].addr)
        profile_pb2_grpc.ProfileServiceStub(cls.pchannel).UpsertContact(
            profile_pb2.UpsertContactRequest(contact=MITCH), timeout=5)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.pchannel.close()
        cls.platform.stop()

    def score(self, body, **kw):
        kw.setdefault("contact_id", "e2e-mitch")
        return self.stub.ScoreMessage(scoring_pb2.ScoreMessageRequest(message=draft(body), sender=SENDER, **kw),
                                      timeout=5)

    def test_seed_message_scores_low_with_spans_on_each_fault(self):
        r = self.score(SEED)
        self.assertLessEqual(r.score, 25)
        self.assertGreater(r.profile_version, 0, "profile read from profile-service's cache")
        for phrase in ("Mitchell", "10 minutes of your time", "number one", "Fortune 500", "We are"):
            i = SEED.find(phrase)
            self.assertTrue(any(f.field == scoring_pb2.MESSAGE_FIELD_BODY and f.start <= i < f.end or
                                (f.field == scoring_pb2.MESSAGE_FIELD_BODY and i <= f.start < i + len(phrase))
                                for f in r.findings), phrase)
        self.assertTrue(all(f.suggestion for f in r.findings))
        self.assertTrue(any("Mitch" in f.suggestion for f in r.findings), "suggestions use the profile")

    def test_a_changed_profile_is_used_as_soon_as_profile_service_changed_it(self):
        # scoring-service keeps profiles in memory; profile-service's write
        # publishes an invalidation, so the next drafts use the new version.
        import time
        pstub = profile_pb2_grpc.ProfileServiceStub(self.pchannel)
        contact = common_pb2.Contact()
        contact.CopyFrom(MITCH)
        contact.id = "e2e-changing"
        v1 = pstub.UpsertContact(profile_pb2.UpsertContactRequest(contact=contact), timeout=5).profile.version
        self.assertEqual(self.score(SEED, contact_id="e2e-changing").profile_version, v1)
        self.assertEqual(self.score(SEED + " ", contact_id="e2e-changing").profile_version, v1)  # cached
        contact.priorities.append("reduce rep churn in EMEA")
        v2 = pstub.UpsertContact(profile_pb2.UpsertContactRequest(contact=contact), timeout=5).profile.version
        self.assertGreater(v2, v1)
        deadline = time.monotonic() + 2
        while self.score(SEED, contact_id="e2e-changing").profile_version != v2:
            self.assertLess(time.monotonic(), deadline, "scoring kept the old profile")
            time.sleep(0.01)
        # Erased: scoring stops finding the contact.
        pstub.DeleteContact(profile_pb2.DeleteContactRequest(contact_id="e2e-changing"), timeout=5)
        deadline = time.monotonic() + 2
        while True:
            try:
                self.score(SEED, contact_id="e2e-changing")
            except grpc.RpcError as e:
                self.assertEqual(e.code(), grpc.StatusCode.NOT_FOUND)
                break
            self.assertLess(time.monotonic(), deadline, "scoring kept an erased profile")
            time.sleep(0.01)

    def test_caring_rewrite_scores_high(self):
        with open(os.path.join(ROOT, "services/scoring/rules/examples/seed_rewrite.txt")) as f:
            self.assertGreaterEqual(self.score(f.read()).score, 75)

    def test_stream_answers_every_item_in_order_and_survives_a_bad_one(self):
        def requests():
            for i in range(12):
                body = "" if i == 5 else f"{SEED} ({i})"
                yield scoring_pb2.ScoreMessageRequest(message=draft(body), contact_id="e2e-mitch",
                                                      sender=SENDER, request_id=f"req-{i}")
        answers = list(self.stub.ScoreMessages(requests(), timeout=30))
        self.assertEqual([a.request_id for a in answers], [f"req-{i}" for i in range(12)])
        self.assertEqual([a.index for a in answers], list(range(12)))
        self.assertEqual(answers[5].WhichOneof("result"), "error")
        self.assertEqual(answers[5].error.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        self.assertIn("message.body", answers[5].error.message)
        self.assertTrue(all(a.WhichOneof("result") == "report" for i, a in enumerate(answers) if i != 5))

    def test_a_long_stream_is_answered_in_order_while_items_are_scored_concurrently(self):
        # The server scores up to 32 items of a stream at once; items that
        # are answered inline (refused, or cached) must still wait for the
        # ones before them.
        n = 300
        bad = {7, 40, 41, 299}

        def requests():
            for i in range(n):
                body = "" if i in bad else (SEED if i % 3 == 0 else f"{SEED} [{i}]")
                yield scoring_pb2.ScoreMessageRequest(message=draft(body), contact_id="e2e-mitch",
                                                      sender=SENDER, request_id=f"long-{i}")
        answers = list(self.stub.ScoreMessages(requests(), timeout=60))
        self.assertEqual([a.index for a in answers], list(range(n)))
        self.assertEqual([a.request_id for a in answers], [f"long-{i}" for i in range(n)])
        for i, a in enumerate(answers):
            self.assertEqual(a.WhichOneof("result"), "error" if i in bad else "report", i)
        # Every stored report has its own message id.
        ids = [a.report.message_id for a in answers if a.WhichOneof("result") == "report"]
        self.assertEqual(len(set(ids)), len(ids))

    def test_outcomes_move_the_model(self):
        before = self.stub.GetModel(scoring_pb2.GetModelRequest(), timeout=5)
        r = self.score(SEED + " Outcome check.")
        resp = self.stub.RecordOutcome(scoring_pb2.RecordOutcomeRequest(
            message_id=r.message_id, outcome=common_pb2.OUTCOME_NO_REPLY, feedback_id="e2e-fb-1"), timeout=5)
        self.assertTrue(resp.applied)
        self.assertEqual(resp.contact_id, "e2e-mitch")
        again = self.stub.RecordOutcome(scoring_pb2.RecordOutcomeRequest(
            message_id=r.message_id, outcome=common_pb2.OUTCOME_NO_REPLY, feedback_id="e2e-fb-1"), timeout=5)
        self.assertTrue(again.duplicate)
        after = self.stub.GetModel(scoring_pb2.GetModelRequest(), timeout=5)
        self.assertEqual(after.version, before.version + 1)
        self.assertEqual(after.outcomes_learned, before.outcomes_learned + 1)
        self.assertTrue(any(w.weight != w.default_weight for w in after.rules))

    def test_a_batch_of_outcomes_is_learned_with_one_model_write(self):
        before = self.stub.GetModel(scoring_pb2.GetModelRequest(), timeout=5)
        ids = [self.score(SEED + f" Batch {i}.").message_id for i in range(3)]
        R = scoring_pb2.RecordOutcomeRequest
        batch = scoring_pb2.RecordOutcomesRequest(outcomes=[
            R(message_id=ids[0], outcome=common_pb2.OUTCOME_MEETING_BOOKED, feedback_id="e2e-batch-0"),
            R(message_id="msg-never", outcome=common_pb2.OUTCOME_NO_REPLY, feedback_id="e2e-batch-1"),
            R(message_id=ids[1], outcome=common_pb2.OUTCOME_NO_REPLY, feedback_id="e2e-batch-2"),
            R(message_id=ids[2], outcome=common_pb2.OUTCOME_BOUNCED, feedback_id="e2e-batch-3"),
        ])
        resp = self.stub.RecordOutcomes(batch, timeout=5)
        self.assertEqual([r.WhichOneof("result") for r in resp.results],
                         ["response", "error", "response", "response"])
        self.assertEqual(resp.results[1].error.code, grpc.StatusCode.NOT_FOUND.value[0])
        self.assertIn("message_id", resp.results[1].error.message)
        self.assertTrue(resp.results[0].response.applied and resp.results[2].response.applied)
        self.assertFalse(resp.results[3].response.applied)  # a bounce does not train
        self.assertEqual(resp.results[0].response.contact_id, "e2e-mitch")
        after = self.stub.GetModel(scoring_pb2.GetModelRequest(), timeout=5)
        self.assertEqual(after.version, before.version + 1)
        self.assertEqual(after.outcomes_learned, before.outcomes_learned + 2)
        again = self.stub.RecordOutcomes(batch, timeout=5)
        self.assertTrue(again.results[0].response.duplicate and again.results[2].response.duplicate)
        self.assertEqual(self.stub.GetModel(scoring_pb2.GetModelRequest(), timeout=5).version, after.version)
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.stub.RecordOutcomes,
                        scoring_pb2.RecordOutcomesRequest(), "outcomes")

    def assertCode(self, code, fn, request, field=None):
        with self.assertRaises(grpc.RpcError) as e:
            fn(request, timeout=5)
        self.assertEqual(e.exception.code(), code, e.exception.details())
        if field:
            self.assertIn(field, e.exception.details())

    def test_bad_input_is_refused_naming_the_field(self):
        S = scoring_pb2.ScoreMessageRequest
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.stub.ScoreMessage,
                        S(contact_id="e2e-mitch"), "message")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.stub.ScoreMessage,
                        S(message=draft(""), contact_id="e2e-mitch"), "message.body")
        self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.stub.ScoreMessage,
                        S(message=draft("a" * (64 * 1024 + 1)), contact_id="e2e-mitch"), "message.body")
        self.assertCode(grpc.StatusCode.NOT_FOUND, self.stub.ScoreMessage,
                        S(message=draft(SEED), contact_id="nobody-here"), "contact_id")
        self.assertCode(grpc.StatusCode.NOT_FOUND, self.stub.RecordOutcome,
                        scoring_pb2.RecordOutcomeRequest(message_id="msg-never", outcome=common_pb2.OUTCOME_NO_REPLY),
                        "message_id")
        # Invalid UTF-8 cannot be built with the Python API: patch the bytes.
        raw = S(message=draft("caf\u00e9 " + SEED), contact_id="e2e-mitch").SerializeToString()
        raw = raw.replace("caf\u00e9".encode(), b"caf\xff\xfe")
        call = self.channel.unary_unary("/rapport.scoring.v1.ScoringService/ScoreMessage",
                                        request_serializer=lambda b: b, response_deserializer=lambda b: b)
        with self.assertRaises(grpc.RpcError):
            call(raw, timeout=5)
        self.assertEqual(self.platform["scoring-service"].health(), "SERVING")


if __name__ == "__main__":
    unittest.main()
