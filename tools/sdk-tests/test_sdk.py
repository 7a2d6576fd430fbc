"""The official Huawei Cloud Python SDK as a client of a running starkeep.

`GaussDBClient` from `huaweicloudsdkgaussdb` (with `huaweicloudsdkcore`, both pinned in
`tools/sdk-vectors/requirements.txt`), configured with starkeep's endpoint and an access key made
by `starkeep iam credential create`, exactly as a user would point existing code at starkeep:

- all six StarRocks account operations succeed;
- errors (a password rule, an unknown account, an unknown instance, another project, a wrong SK)
  raise the SDK's own exceptions carrying starkeep's error_code, error_msg and request_id;
- a request whose body or query is changed after the SDK signed it, and one signed with a date
  20 minutes old (a replay), are refused.

Run by `crates/starkeep/tests/sdk.rs`, which starts the binary, makes the key and the venv, and
passes everything in the environment: STARKEEP_ENDPOINT, STARKEEP_AK, STARKEEP_SK,
STARKEEP_PROJECT_ID, STARKEEP_INSTANCE_ID, STARKEEP_OTHER_PROJECT_ID.
"""

import datetime
import os
import re
import unittest

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkgaussdb.v3 import (
    CreateStarRocksDatabaseUserRequest,
    DeleteStarRocksDatabaseUserRequest,
    GaussDBClient,
    ShowStarRocksDatabaseUserRequest,
    StarRocksDatabaseUserInfo,
    StarRocksDatabaseUserPSinfo,
    StarRocksDatabaseUserPWinfo,
    SyncStarRocksUsersRequest,
    UpdateStarRocksDatabaseUserPasswordRequest,
    UpdateStarRocksDatabaseUserPermissionRequest,
    UserSyncReq,
)

ENDPOINT = os.environ["STARKEEP_ENDPOINT"]
AK = os.environ["STARKEEP_AK"]
SK = os.environ["STARKEEP_SK"]
PROJECT = os.environ["STARKEEP_PROJECT_ID"]
INSTANCE = os.environ["STARKEEP_INSTANCE_ID"]
OTHER_PROJECT = os.environ["STARKEEP_OTHER_PROJECT_ID"]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def client(ak=AK, sk=SK, project=PROJECT, handler=None, sdk_date=None):
    """A GaussDBClient as a user would build one; `handler` sees each request after signing."""
    builder = (
        GaussDBClient.new_builder()
        .with_credentials(BasicCredentials(ak, sk, project))
        .with_endpoint(ENDPOINT)
        .with_http_config(HttpConfig.get_default_config())
    )
    if handler is not None:
        builder = builder.with_http_handler(HttpHandler().add_request_handler(handler))
    built = builder.build()
    if sdk_date is not None:
        built.preset_headers = {"X-Sdk-Date": sdk_date}
    return built


def show(name=None, instance=INSTANCE, limit=10, x_language=None):
    return ShowStarRocksDatabaseUserRequest(
        instance_id=instance, user_name=name, limit=limit, offset=0, x_language=x_language
    )


def create(name, password="Rds_1234", databases=("sales",), dml=1, ddl=0, instance=INSTANCE):
    return CreateStarRocksDatabaseUserRequest(
        instance_id=instance,
        body=StarRocksDatabaseUserInfo(
            user_name=name, password=password, databases=list(databases), dml=dml, ddl=ddl
        ),
    )


class SixOperations(unittest.TestCase):
    def test_create_show_change_sync_delete(self):
        c = client()
        self.assertEqual(c.create_star_rocks_database_user(create("sdk_user")).result, "SUCCESS")

        page = c.show_star_rocks_database_user(show("sdk_user"))
        self.assertEqual(page.total_count, 1)
        detail = page.user_details[0]
        self.assertEqual(detail.user_name, "sdk_user")
        self.assertEqual(detail.data_bases, ["sales"])
        self.assertEqual((detail.dml, detail.ddl), (1, 0))

        changed = c.update_star_rocks_database_user_permission(
            UpdateStarRocksDatabaseUserPermissionRequest(
                instance_id=INSTANCE,
                body=StarRocksDatabaseUserPSinfo(user_name="sdk_user", databases=["*"], dml=2, ddl=1),
            )
        )
        self.assertEqual(changed.result, "SUCCESS")
        detail = c.show_star_rocks_database_user(show("sdk_user")).user_details[0]
        self.assertEqual((detail.data_bases, detail.dml, detail.ddl), (["*"], 2, 1))

        changed = c.update_star_rocks_database_user_password(
            UpdateStarRocksDatabaseUserPasswordRequest(
                instance_id=INSTANCE,
                body=StarRocksDatabaseUserPWinfo(user_name="sdk_user", password="New_Pass99"),
            )
        )
        self.assertEqual(changed.result, "SUCCESS")

        # The demo instance has no TaurusDB source: start is refused with starkeep's code, stop
        # (harmless when already stopped) succeeds.
        with self.assertRaises(exceptions.ClientRequestException) as refused:
            c.sync_star_rocks_users(
                SyncStarRocksUsersRequest(
                    instance_id=INSTANCE, body=UserSyncReq(action="startSyncTaurusAccount")
                )
            )
        self.assertEqual(refused.exception.error_code, "DBS.280010")
        synced = c.sync_star_rocks_users(
            SyncStarRocksUsersRequest(
                instance_id=INSTANCE, body=UserSyncReq(action="stopSyncTaurusAccount")
            )
        )
        self.assertIs(synced.success, True)

        deleted = c.delete_star_rocks_database_user(
            DeleteStarRocksDatabaseUserRequest(instance_id=INSTANCE, user_name="sdk_user")
        )
        self.assertEqual(deleted.result, "SUCCESS")
        self.assertEqual(c.show_star_rocks_database_user(show("sdk_user")).total_count, 0)


class Errors(unittest.TestCase):
    def refused(self, call, status, code, words):
        """`call` raises the SDK's ClientRequestException with starkeep's code, message and id."""
        with self.assertRaises(exceptions.ClientRequestException) as caught:
            call()
        e = caught.exception
        self.assertEqual(e.status_code, status, e.error_msg)
        self.assertEqual(e.error_code, code, e.error_msg)
        self.assertIn(words, e.error_msg)
        self.assertRegex(e.request_id or "", UUID)
        return e

    def test_a_password_rule(self):
        self.refused(
            lambda: client().create_star_rocks_database_user(create("weak_pw", password="abc")),
            400, "DBS.200001", "password",
        )

    def test_an_unknown_account(self):
        self.refused(
            lambda: client().update_star_rocks_database_user_password(
                UpdateStarRocksDatabaseUserPasswordRequest(
                    instance_id=INSTANCE,
                    body=StarRocksDatabaseUserPWinfo(user_name="nobody_here", password="Rds_1234"),
                )
            ),
            400, "DBS.280002", "nobody_here",
        )

    def test_an_unknown_instance(self):
        unknown = "0" * 32 + "in07"
        self.refused(
            lambda: client().show_star_rocks_database_user(show(instance=unknown)),
            400, "DBS.200076", "instance",
        )

    def test_another_project(self):
        self.refused(
            lambda: client(project=OTHER_PROJECT).show_star_rocks_database_user(show()),
            403, "DBS.200044", "project",
        )

    def test_a_wrong_secret_key(self):
        e = self.refused(
            lambda: client(sk=SK[:-1] + ("A" if SK[-1] != "A" else "B")).show_star_rocks_database_user(show()),
            401, "APIGW.0301", "signature does not match",
        )
        self.assertNotIn(SK, e.error_msg)

    def test_messages_in_the_callers_language(self):
        self.refused(
            lambda: client().show_star_rocks_database_user(show(limit=1000, x_language="zh-cn")),
            400, "DBS.200001", "参数错误",
        )


class Tampering(unittest.TestCase):
    def refused(self, c, call, words):
        with self.assertRaises(exceptions.ClientRequestException) as caught:
            call(c)
        e = caught.exception
        self.assertEqual((e.status_code, e.error_code), (401, "APIGW.0301"), e.error_msg)
        self.assertIn(words, e.error_msg)
        self.assertRegex(e.request_id or "", UUID)

    def test_a_body_changed_after_signing(self):
        client().create_star_rocks_database_user(create("tampered"))
        changed = []

        def widen(request, **_):
            before = request.body
            # The signer has already turned the JSON text into bytes.
            request.body = request.body.replace(b'"dml": 1', b'"dml": 3')
            changed.append(before != request.body)

        grant = lambda c: c.update_star_rocks_database_user_permission(
            UpdateStarRocksDatabaseUserPermissionRequest(
                instance_id=INSTANCE,
                body=StarRocksDatabaseUserPSinfo(user_name="tampered", dml=1),
            )
        )
        self.refused(client(handler=widen), grant, "signature does not match")
        self.assertEqual(changed, [True])
        detail = client().show_star_rocks_database_user(show("tampered")).user_details[0]
        self.assertEqual(detail.dml, 1, "the changed body was not applied")
        self.assertEqual(grant(client()).result, "SUCCESS", "the same call, unchanged, works")

    def test_a_query_changed_after_signing(self):
        changed = []

        def other_account(request, **_):
            before = request.uri
            request.uri = request.uri.replace("user_name=sdk_reader", "user_name=root")
            changed.append(before != request.uri)

        read = lambda c: c.show_star_rocks_database_user(show("sdk_reader"))
        self.refused(client(handler=other_account), read, "signature does not match")
        self.assertEqual(changed, [True])
        self.assertEqual(read(client()).total_count, 0, "the same call, unchanged, works")

    def test_a_replay_with_an_old_date(self):
        old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
        replayed = client(sdk_date=old.strftime("%Y%m%dT%H%M%SZ"))
        self.refused(replayed, lambda c: c.show_star_rocks_database_user(show()), "expired")
        self.refused(
            replayed,
            lambda c: c.delete_star_rocks_database_user(
                DeleteStarRocksDatabaseUserRequest(instance_id=INSTANCE, user_name="tampered")
            ),
            "expired",
        )


if __name__ == "__main__":
    unittest.main(verbosity=2)
