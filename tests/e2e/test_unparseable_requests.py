"""Requests that protobuf cannot parse, sent as raw bytes the way any client
can send them (unary_unary / stream_unary / stream_stream without a
serializer), against the real binaries: each is answered INVALID_ARGUMENT
naming the field (and on streams the message index), never gRPC's bare
UNIMPLEMENTED, and a stream is never cut short silently. Then every
converted RPC still answers a valid request."""
import json
import threading
import time
import unittest
import urllib.request

import grpc
from google.protobuf import timestamp_pb2

from harness import Platform, wait_for
from rapport.common.v1 import common_pb2
from rapport.feedback.v1 import feedback_pb2, feedback_pb2_grpc
from rapport.profile.v1 import profile_pb2, profile_pb2_grpc
from rapport.scoring.v1 import scoring_pb2, scoring_pb2_grpc

PROFILE = "/rapport.profile.v1.ProfileService/"
SCORING = "/rapport.scoring.v1.ScoringService/"
FEEDBACK = "/rapport.feedback.v1.FeedbackService/"
# Text sent next to the bad bytes: it must never come back in an error or a log.
SECRET = "Mitchell-private-note"
BAD = b"\xff\xfe\xfd\xfc"


def with_bad_bytes(message, placeholder="XXXX"):
    """`message` serialized with `placeholder` (in some string field) replaced
    by invalid UTF-8 of the same length; Python's protobuf will not hold
    such a string itself."""
    data = message.SerializeToString()
    assert data.count(placeholder.encode()) == 1
    return data.replace(placeholder.encode(), BAD)


def now():
    t = timestamp_pb2.Timestamp()
    t.GetCurrentTime()
    return t


def contact(cid, **kw):
    return common_pb2.Contact(id=cid, full_name="Mitchell Grant", preferred_name="Mitch",
                              company="Acme Logistics", **kw)


class UnparseableRequestsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.platform = Platform().start()
        cls.channels = {name: grpc.insecure_channel(cls.platform[name].addr)
                        for name in ("profile-service", "scoring-service", "feedback-service")}
        cls.profile = profile_pb2_grpc.ProfileServiceStub(cls.channels["profile-service"])
        cls.scoring = scoring_pb2_grpc.ScoringServiceStub(cls.channels["scoring-service"])
        cls.feedback = feedback_pb2_grpc.FeedbackServiceStub(cls.channels["feedback-service"])
        cls.profile.UpsertContact(profile_pb2.UpsertContactRequest(contact=contact("raw-mitch")), timeout=5)

    @classmethod
    def tearDownClass(cls):
        for ch in cls.channels.values():
            ch.close()
        cls.platform.stop()

    def raw(self, service, kind, method):
        """A multi-callable that sends and receives bytes as they are."""
        return getattr(self.channels[service], kind)(method)

    def assertInvalid(self, call, *args, expect=None):
        with self.assertRaises(grpc.RpcError) as e:
            result = call(*args, timeout=10)
            if hasattr(result, "__iter__") and not isinstance(result, (bytes, str)):
                list(result)
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, e.exception.details())
        details = e.exception.details()
        for text in expect or []:
            self.assertIn(text, details)
        self.assertNotIn(SECRET, details)
        return details

    # --- unary ----------------------------------------------------------------

    def test_score_message_with_invalid_utf8_body_names_message_body(self):
        req = scoring_pb2.ScoreMessageRequest(
            contact_id="raw-mitch",
            message=scoring_pb2.Draft(channel=common_pb2.CHANNEL_EMAIL, subject="hello",
                                      body="Mitch, about reps XXXX " + SECRET))
        details = self.assertInvalid(self.raw("scoring-service", "unary_unary", SCORING + "ScoreMessage"),
                                     with_bad_bytes(req))
        self.assertEqual(details, "message.body: not valid UTF-8 (first bad byte at offset 18); "
                                  "send text as UTF-8")

    def test_get_profile_with_bad_contact_id_names_contact_id(self):
        details = self.assertInvalid(self.raw("profile-service", "unary_unary", PROFILE + "GetProfile"),
                                     b"\x0a\x02\xff\xfe")
        self.assertTrue(details.startswith("contact_id: not valid UTF-8"), details)

    def test_submit_feedback_garbage_is_invalid_argument(self):
        details = self.assertInvalid(self.raw("feedback-service", "unary_unary", FEEDBACK + "SubmitFeedback"),
                                     b"this is not protobuf " + SECRET.encode())
        self.assertEqual(details, "request: not a valid rapport.feedback.v1.SubmitFeedbackRequest "
                                  "(malformed protobuf)")

    def test_unary_call_without_a_message_is_invalid_argument(self):
        self.assertInvalid(self.raw("profile-service", "stream_unary", PROFILE + "GetProfile"), iter([]),
                           expect=["no request message", "rapport.profile.v1.GetProfileRequest"])

    def test_watch_feedback_with_bad_request_is_invalid_argument(self):
        req = feedback_pb2.WatchFeedbackRequest(start_after_id="XXXX")
        self.assertInvalid(self.raw("feedback-service", "unary_stream", FEEDBACK + "WatchFeedback"),
                           with_bad_bytes(req), expect=["start_after_id: not valid UTF-8"])

    def test_every_unary_rpc_refuses_garbage_naming_its_request_type(self):
        methods = {
            "profile-service": (PROFILE, "profile.v1", ["UpsertContact", "GetProfile", "RecordInteraction",
                                                        "RecordInteractions", "RecordInsight", "ListProfiles",
                                                        "DeleteContact"]),
            "scoring-service": (SCORING, "scoring.v1", ["ScoreMessage", "RecordOutcome", "RecordOutcomes",
                                                        "GetModel"]),
            "feedback-service": (FEEDBACK, "feedback.v1", ["SubmitFeedback", "ListFeedback", "GetDigest"]),
        }
        for service, (prefix, package, names) in methods.items():
            for name in names:
                with self.subTest(rpc=name):
                    details = self.assertInvalid(self.raw(service, "unary_unary", prefix + name), b"\xff\xff\xff")
                    self.assertIn(f"not a valid rapport.{package}.", details)

    # --- streams --------------------------------------------------------------

    def test_import_contacts_fails_at_the_bad_row_after_storing_the_rows_before(self):
        rows = [profile_pb2.ImportContactsRequest(contacts=[contact(f"raw-imp-{i}")]).SerializeToString()
                for i in range(1, 6)]
        rows[2] = b"\x0a\x05garbage " + SECRET.encode()  # row 3 of 5: not a protobuf
        details = self.assertInvalid(self.raw("profile-service", "stream_unary", PROFILE + "ImportContacts"),
                                     iter(rows))
        self.assertTrue(details.startswith("stream message 2 (counting from 0): request: not a valid "
                                           "rapport.profile.v1.ImportContactsRequest (malformed protobuf)"),
                        details)
        self.assertIn("the 2 messages before it were processed, none from it on", details)
        for i in (1, 2):
            p = self.profile.GetProfile(profile_pb2.GetProfileRequest(contact_id=f"raw-imp-{i}"), timeout=5)
            self.assertEqual(p.contact.id, f"raw-imp-{i}")
        for i in (3, 4, 5):
            with self.assertRaises(grpc.RpcError) as e:
                self.profile.GetProfile(profile_pb2.GetProfileRequest(contact_id=f"raw-imp-{i}"), timeout=5)
            self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)

    def test_import_contacts_invalid_utf8_names_message_and_field(self):
        rows = [profile_pb2.ImportContactsRequest(contacts=[contact("raw-utf-1")]).SerializeToString(),
                with_bad_bytes(profile_pb2.ImportContactsRequest(
                    contacts=[contact("raw-utf-2"), contact("raw-utf-3", title="XXXX")]))]
        self.assertInvalid(self.raw("profile-service", "stream_unary", PROFILE + "ImportContacts"), iter(rows),
                           expect=["stream message 1 (counting from 0): contacts[1].title: not valid UTF-8"])

    def test_score_messages_answers_items_before_a_bad_one_then_fails(self):
        good = scoring_pb2.ScoreMessageRequest(
            request_id="ok-0", contact_id="raw-mitch",
            message=scoring_pb2.Draft(channel=common_pb2.CHANNEL_EMAIL, subject="hello",
                                      body="Mitch, how are new reps ramping?")).SerializeToString()
        bad = with_bad_bytes(scoring_pb2.ScoreMessageRequest(
            request_id="bad-1", message=scoring_pb2.Draft(body="XXXX " + SECRET)))
        call = self.raw("scoring-service", "stream_stream", SCORING + "ScoreMessages")(iter([good, bad, good]),
                                                                                       timeout=30)
        answers = []
        with self.assertRaises(grpc.RpcError) as e:
            for a in call:
                answers.append(scoring_pb2.ScoreMessagesResponse.FromString(a))
        self.assertEqual(e.exception.code(), grpc.StatusCode.INVALID_ARGUMENT, e.exception.details())
        self.assertIn("stream message 1 (counting from 0): message.body: not valid UTF-8", e.exception.details())
        self.assertNotIn(SECRET, e.exception.details())
        self.assertEqual([(a.request_id, a.index) for a in answers], [("ok-0", 0)])
        self.assertTrue(answers[0].HasField("report"))

    # --- reflection and metrics still see every method -------------------------

    def test_reflection_and_metrics_work_for_raw_methods(self):
        # grpc.reflection.v1alpha by hand (no reflection client here):
        # list_services (field 7), then file_containing_symbol (field 4).
        reflect = self.raw("profile-service", "stream_stream",
                           "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
        listed = b"".join(reflect(iter([b"\x3a\x00"]), timeout=10))
        self.assertIn(b"rapport.profile.v1.ProfileService", listed)
        symbol = b"rapport.profile.v1.ProfileService"
        described = b"".join(reflect(iter([b"\x22" + bytes([len(symbol)]) + symbol]), timeout=10))
        for method in (b"UpsertContact", b"ImportContacts", b"GetProfile", b"DeleteContact"):
            self.assertIn(method, described)

        svc = self.platform["profile-service"]

        def refused():
            with urllib.request.urlopen(f"http://127.0.0.1:{svc.metrics_port}/metrics", timeout=5) as r:
                for line in r.read().decode().splitlines():
                    if (line.startswith("grpc_server_handled_total{") and 'grpc_method="GetProfile"' in line
                            and 'grpc_code="INVALID_ARGUMENT"' in line):
                        return float(line.rsplit(" ", 1)[1])
            return 0.0
        before = refused()
        self.assertInvalid(self.raw("profile-service", "unary_unary", PROFILE + "GetProfile"), b"\xff\xff")
        self.assertTrue(wait_for(lambda: refused() == before + 1, 5), (before, refused()))

    # --- logs -----------------------------------------------------------------

    def test_logs_stay_one_json_object_per_line_without_request_text(self):
        self.assertInvalid(self.raw("profile-service", "unary_unary", PROFILE + "UpsertContact"),
                           with_bad_bytes(profile_pb2.UpsertContactRequest(
                               contact=contact("raw-log", title="XXXX " + SECRET))))
        for name in ("profile-service", "scoring-service", "feedback-service"):
            text = self.platform[name].logs()
            self.assertNotIn(SECRET, text)
            self.assertNotIn("String field", text)  # protobuf's own free-text line
            for line in text.splitlines():
                json.loads(line)

    # --- valid requests on every converted RPC ---------------------------------

    def test_every_converted_rpc_still_answers_a_valid_request(self):
        p, s, f = self.profile, self.scoring, self.feedback
        r = p.UpsertContact(profile_pb2.UpsertContactRequest(contact=contact("raw-valid")), timeout=5)
        self.assertTrue(r.created)
        imported = p.ImportContacts(iter([profile_pb2.ImportContactsRequest(contacts=[contact("raw-valid-2")])]),
                                    timeout=5)
        self.assertEqual(imported.accepted_count, 1)
        self.assertEqual(p.GetProfile(profile_pb2.GetProfileRequest(contact_id="raw-valid"), timeout=5).address_as,
                         "Mitch")
        p.RecordInteraction(profile_pb2.RecordInteractionRequest(interaction=profile_pb2.Interaction(
            contact_id="raw-valid", kind=profile_pb2.INTERACTION_KIND_EMAIL_SENT,
            direction=profile_pb2.DIRECTION_OUTBOUND, occurred_at=now(), topics=["pricing"])), timeout=5)
        insight = p.RecordInsight(profile_pb2.RecordInsightRequest(insight=common_pb2.ContactInsight(
            contact_id="raw-valid", kind=common_pb2.INSIGHT_KIND_PRIORITY, text="cut ramp time")), timeout=5)
        self.assertGreater(insight.profile_version, 1)
        listed = p.ListProfiles(profile_pb2.ListProfilesRequest(page_size=500), timeout=5)
        self.assertIn("raw-valid", [x.contact.id for x in listed.profiles])

        report = s.ScoreMessage(scoring_pb2.ScoreMessageRequest(
            contact_id="raw-valid", message=scoring_pb2.Draft(channel=common_pb2.CHANNEL_EMAIL, subject="hi",
                                                              body="Mitch, how is ramp time going?")), timeout=10)
        self.assertTrue(report.message_id)
        answers = list(s.ScoreMessages(iter([scoring_pb2.ScoreMessageRequest(
            request_id=f"v-{i}", contact_id="raw-valid", message=scoring_pb2.Draft(body=f"Mitch, question {i}?"))
            for i in range(3)]), timeout=10))
        self.assertEqual([(a.request_id, a.index) for a in answers], [("v-0", 0), ("v-1", 1), ("v-2", 2)])
        self.assertTrue(all(a.HasField("report") for a in answers))
        s.RecordOutcome(scoring_pb2.RecordOutcomeRequest(message_id=report.message_id,
                                                         outcome=common_pb2.OUTCOME_MEETING_BOOKED), timeout=5)
        self.assertTrue(s.GetModel(scoring_pb2.GetModelRequest(), timeout=5).rules)

        watch = f.WatchFeedback(feedback_pb2.WatchFeedbackRequest(
            filter=feedback_pb2.FeedbackFilter(to_team=common_pb2.TEAM_LEGAL)), timeout=30)
        received = []

        def read():
            try:
                for item in watch:
                    received.append(item)
            except grpc.RpcError:
                pass
        reader = threading.Thread(target=read)
        reader.start()
        time.sleep(0.5)  # a watch starts "from now"
        submitted = f.SubmitFeedback(feedback_pb2.SubmitFeedbackRequest(feedback=feedback_pb2.Feedback(
            author=feedback_pb2.Author(team=common_pb2.TEAM_SALES, id="raw-rep"),
            subject=feedback_pb2.FeedbackSubject(team=common_pb2.TEAM_LEGAL),
            note=feedback_pb2.TeamNote(to_team=common_pb2.TEAM_LEGAL, text="Thanks for the quick review"))),
            timeout=5)
        self.assertTrue(submitted.feedback_id)
        self.assertTrue(wait_for(lambda: received, 10))
        watch.cancel()
        reader.join(5)
        self.assertEqual(received[0].id, submitted.feedback_id)
        listed = f.ListFeedback(feedback_pb2.ListFeedbackRequest(page_size=100), timeout=5)
        self.assertIn(submitted.feedback_id, [x.id for x in listed.items])
        f.GetDigest(feedback_pb2.GetDigestRequest(team=common_pb2.TEAM_LEGAL), timeout=5)

        deleted = p.DeleteContact(profile_pb2.DeleteContactRequest(contact_id="raw-valid-2"), timeout=5)
        self.assertIsNotNone(deleted)


if __name__ == "__main__":
    unittest.main()
