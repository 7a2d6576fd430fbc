#!/usr/bin/env python3
"""Generate SDK-HMAC-SHA256 signing test vectors (and a few SDK client-behaviour
facts) from the official Huawei Cloud Python SDK.

Nothing here re-implements the signing algorithm: every signature, canonical
request and string-to-sign below is produced by the SDK's own ``Signer`` (we only
subclass it to *record* the intermediate values its own methods return), and the
requests for the GaussDB operations are built by ``GaussDBClient`` itself.

No network traffic happens: requests are built and signed, never sent.

See README.md next to this file for how to run it and which versions are pinned.
"""

import argparse
import base64
import hashlib
import json
import os
import platform
import sys
from importlib import metadata

import requests
from requests.structures import CaseInsensitiveDict

# Importing huaweicloudsdkcore builds a User-Agent string and, as a side effect,
# writes a random id to $HOME/.huaweicloud/application_id. Hide HOME during the
# imports so running this script leaves no such file behind.
_saved_home = os.environ.get("HOME")
os.environ["HOME"] = ""

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions as sdk_exceptions
from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.algorithm import SigningAlgorithm
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkgaussdb.v3 import (
    GaussDBClient,
    CreateStarRocksDatabaseUserRequest, StarRocksDatabaseUserInfo,
    ShowStarRocksDatabaseUserRequest,
    UpdateStarRocksDatabaseUserPermissionRequest, StarRocksDatabaseUserPSinfo,
    UpdateStarRocksDatabaseUserPasswordRequest, StarRocksDatabaseUserPWinfo,
    DeleteStarRocksDatabaseUserRequest,
    SyncStarRocksUsersRequest, UserSyncReq,
)

if _saved_home is None:
    del os.environ["HOME"]
else:
    os.environ["HOME"] = _saved_home

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_VECTORS = os.path.join(REPO, "crates", "starkeep-auth", "tests", "data", "sdk_hmac_vectors.json")
DEFAULT_BEHAVIOUR = os.path.join(HERE, "sdk_client_behaviour.json")

PINNED = {"huaweicloudsdkcore": "3.1.219", "huaweicloudsdkgaussdb": "3.1.219"}

# Fixed, obviously fake test material.
AK = "STARKEEPTESTAK000001"
SK = "starkeepTestSecretKey0000000000000000001"
PROJECT_ID = "0123456789abcdef0123456789abcdef"      # 32 alphanumerics
INSTANCE_ID = "0123456789abcdef0123456789abcdefin07"  # 32 hex + "in" + 2 digits
X_SDK_DATE = "20240102T030405Z"
ENDPOINT = "http://127.0.0.1:8800"
HOST = "127.0.0.1:8800"
USER_AGENT_SUFFIX = "starkeep-sdk-vectors"  # replaces the SDK's machine-dependent UA part


# --------------------------------------------------------------------------
# Recording signer: the SDK's Signer, with its own intermediate results kept.
# --------------------------------------------------------------------------
class Capture:
    current = None


class RecordingSigner(Signer):
    def _process_canonical_request(self, request, signed_headers):
        value = super()._process_canonical_request(request, signed_headers)
        Capture.current["signed_headers"] = list(signed_headers)
        Capture.current["canonical_request"] = value
        # the SDK's own helpers for the individual parts
        Capture.current["canonical_uri"] = self._process_canonical_uri(request)
        Capture.current["canonical_query_string"] = self._process_canonical_query_string(request)
        Capture.current["payload_hash"] = self._process_hash_payload(request)
        return value

    def _process_string_to_sign(self, canonical_request, time):
        value = super()._process_string_to_sign(canonical_request, time)
        Capture.current["string_to_sign"] = value
        return value

    def _sign_string_to_sign(self, string_to_sign, key):
        value = super()._sign_string_to_sign(string_to_sign, key)
        Capture.current["signature"] = value
        return value


def VectorCredentials(ak, sk, project_id=None):
    """A plain SDK BasicCredentials whose HMAC-SHA256 signer is the recording one.

    (Set per instance: the client builder insists on the exact class name
    BasicCredentials, so we cannot subclass it.)"""
    creds = BasicCredentials(ak, sk, project_id)
    creds._SIGNER_CASE = dict(BasicCredentials._SIGNER_CASE)
    creds._SIGNER_CASE[SigningAlgorithm.HMAC_SHA256] = RecordingSigner
    return creds


def _wire_str(value):
    """Header values are handed to `requests` as latin-1 mojibake of their UTF-8
    bytes; turn them back into the real text for the JSON file."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    try:
        return value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _jsonable_query(query_params):
    out = []
    for k, v in query_params or []:
        out.append([k, v])
    return out


def _body_fields(body):
    if body is None:
        return {"body": None, "body_base64": None, "body_sha256": hashlib.sha256(b"").hexdigest()}
    raw = body if isinstance(body, bytes) else str(body).encode("utf-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {"body": text, "body_base64": base64.b64encode(raw).decode("ascii"),
            "body_sha256": hashlib.sha256(raw).hexdigest()}


def _sign_and_record(credentials, request, name, description, source, extra_input=None):
    """Sign `request` via the SDK's Credentials.sign_request and return a vector."""
    headers_before = {k: _wire_str(v) for k, v in request.header_params.items()}
    query_before = json.loads(json.dumps(_jsonable_query(request.query_params), ensure_ascii=False))
    body_before = request.body
    Capture.current = {}
    signed = credentials.sign_request(request)
    cap = Capture.current
    Capture.current = None

    # What `requests` would put on the wire for this SdkRequest (not sent).
    prepared = requests.Session().prepare_request(requests.Request(
        method=signed.method.upper(), url=signed.url,
        headers=CaseInsensitiveDict(signed.header_params), data=signed.body))
    target = prepared.path_url
    wire_headers = [[k, _wire_str(v)] for k, v in prepared.headers.items()]

    vector = {
        "name": name,
        "description": description,
        "built_by": source,
        "input": {
            "method": signed.method.upper(),
            "scheme": signed.schema,
            "host": signed.host,
            "resource_path": signed.resource_path,
            "query_params": query_before,
            "headers": headers_before,
            **_body_fields(body_before),
            "ak": credentials.ak,
            "sk": credentials.sk,
            "project_id": getattr(credentials, "project_id", None),
            "security_token": credentials.security_token,
            "x_sdk_date": X_SDK_DATE,
        },
        "wire": {
            "url": prepared.url,
            "request_target": target,
            "headers": wire_headers,
            "signed_request_headers": {k: _wire_str(v) for k, v in signed.header_params.items()},
            **_body_fields(prepared.body),
        },
        "expected": {
            "canonical_uri": cap["canonical_uri"],
            "canonical_query_string": cap["canonical_query_string"],
            "payload_hash": cap["payload_hash"],
            "signed_headers": ";".join(cap["signed_headers"]),
            "canonical_request": cap["canonical_request"],
            "canonical_request_sha256": hashlib.sha256(cap["canonical_request"].encode("utf-8")).hexdigest(),
            "string_to_sign": cap["string_to_sign"],
            "signature": cap["signature"],
            "authorization": _wire_str(signed.header_params["Authorization"]),
        },
    }
    if extra_input:
        vector["input"].update(extra_input)
    return vector


# --------------------------------------------------------------------------
# Vectors from GaussDBClient itself (the real request-building path).
# --------------------------------------------------------------------------
def _client(credentials):
    config = HttpConfig.get_default_config()
    config.user_agent = USER_AGENT_SUFFIX
    client = GaussDBClient.new_builder() \
        .with_credentials(credentials) \
        .with_endpoint(ENDPOINT) \
        .with_http_config(config) \
        .build()
    # The only deviation from a live call: the date is fixed instead of utcnow().
    client.preset_headers = {"X-Sdk-Date": X_SDK_DATE}
    return client


def _client_vector(client, credentials, op, sdk_request_obj, name, description):
    http_info = getattr(client, "_%s_http_info" % op)(sdk_request_obj)
    Capture.current = {}  # the client's own signing also goes through RecordingSigner
    future = client.build_future_request(
        method=http_info["method"],
        resource_path=http_info["resource_path"],
        path_params=http_info["path_params"],
        query_params=http_info["query_params"],
        header_params=http_info["header_params"],
        request_body=http_info["body"],
        post_params=http_info["post_params"],
        cname=http_info["cname"],
        response_type=http_info["response_type"],
        collection_formats=http_info["collection_formats"],
        progress_callback=None,
    )
    # build_future_request already signs (in the client's executor); re-sign an
    # identical unsigned copy synchronously so we can record the intermediates.
    try:
        signed_by_client = future.result()
    finally:
        Capture.current = None
    auth_from_client = _wire_str(signed_by_client.header_params["Authorization"])

    client_unsigned = _unsigned_copy_from_client(client, http_info)
    vec = _sign_and_record(credentials, client_unsigned, name, description,
                           "huaweicloudsdkgaussdb GaussDBClient.%s" % op,
                           extra_input={"sdk_operation": op,
                                        "sdk_request": sdk_request_obj.to_dict()})
    if vec["expected"]["authorization"] != auth_from_client:
        raise SystemExit("mismatch between client-signed and re-signed request for %s" % name)
    return vec


def _unsigned_copy_from_client(client, http_info):
    """Run the client's own request builder again, but stop before signing."""
    captured = {}

    class _Stop(Exception):
        pass

    creds = client.get_credentials()
    original = creds.process_auth_request

    def grab(request, http_client):
        captured["req"] = request
        raise _Stop()

    creds.process_auth_request = grab
    try:
        client.build_future_request(
            method=http_info["method"], resource_path=http_info["resource_path"],
            path_params=http_info["path_params"], query_params=http_info["query_params"],
            header_params=http_info["header_params"], request_body=http_info["body"],
            post_params=http_info["post_params"], cname=http_info["cname"],
            response_type=http_info["response_type"],
            collection_formats=http_info["collection_formats"], progress_callback=None)
    except _Stop:
        pass
    finally:
        creds.process_auth_request = original
    return captured["req"]


def client_vectors():
    creds = VectorCredentials(AK, SK, PROJECT_ID)
    client = _client(creds)
    out = []

    out.append(_client_vector(
        client, creds, "show_star_rocks_database_user",
        ShowStarRocksDatabaseUserRequest(instance_id=INSTANCE_ID, limit=10, offset=0, user_name="user_01"),
        "sdk_show_users_limit_offset_user_name",
        "GET list with limit/offset/user_name; SDK sends Content-Type application/json even on GET"))

    out.append(_client_vector(
        client, creds, "show_star_rocks_database_user",
        ShowStarRocksDatabaseUserRequest(instance_id=INSTANCE_ID, limit=100, offset=20,
                                         user_name="a b/c+d&e=f~g*h'é中", x_language="zh-cn"),
        "sdk_show_users_special_chars_x_language",
        "GET with a user_name needing escaping (space, /, +, &, =, ~, *, ', non-ASCII) and X-Language signed"))

    out.append(_client_vector(
        client, creds, "show_star_rocks_database_user",
        ShowStarRocksDatabaseUserRequest(instance_id=INSTANCE_ID, limit=5),
        "sdk_show_users_limit_only",
        "GET with only limit (offset omitted, None params are dropped)"))

    out.append(_client_vector(
        client, creds, "create_star_rocks_database_user",
        CreateStarRocksDatabaseUserRequest(instance_id=INSTANCE_ID, body=StarRocksDatabaseUserInfo(
            user_name="user_01", password="Test@12345", databases=["db1", "*"], dml=2, ddl=0)),
        "sdk_create_user_post_json",
        "POST with JSON body; Content-Type application/json;charset=utf-8 (lower-cased by the SDK)"))

    out.append(_client_vector(
        client, creds, "update_star_rocks_database_user_permission",
        UpdateStarRocksDatabaseUserPermissionRequest(instance_id=INSTANCE_ID, body=StarRocksDatabaseUserPSinfo(
            user_name="user_01", databases=["db2"], dml=1)),
        "sdk_update_permission_put",
        "PUT permission; unset fields (ddl) are omitted from the JSON body"))

    out.append(_client_vector(
        client, creds, "update_star_rocks_database_user_password",
        UpdateStarRocksDatabaseUserPasswordRequest(instance_id=INSTANCE_ID, body=StarRocksDatabaseUserPWinfo(
            user_name="user_01", password="New~Pass#2024")),
        "sdk_update_password_put",
        "PUT password"))

    out.append(_client_vector(
        client, creds, "delete_star_rocks_database_user",
        DeleteStarRocksDatabaseUserRequest(instance_id=INSTANCE_ID, user_name="user_01"),
        "sdk_delete_user_query",
        "DELETE with user_name in the query and no body (requests sends Content-Length: 0)"))

    out.append(_client_vector(
        client, creds, "sync_star_rocks_users",
        SyncStarRocksUsersRequest(instance_id=INSTANCE_ID, body=UserSyncReq(action="startSyncTaurusAccount")),
        "sdk_sync_users_start",
        "POST sync start"))

    out.append(_client_vector(
        client, creds, "sync_star_rocks_users",
        SyncStarRocksUsersRequest(instance_id=INSTANCE_ID, body=UserSyncReq(action="stopSyncTaurusAccount"),
                                  x_language="en-us"),
        "sdk_sync_users_stop_x_language",
        "POST sync stop with X-Language en-us"))

    out.append(_client_vector(
        client, creds, "delete_star_rocks_database_user",
        DeleteStarRocksDatabaseUserRequest(instance_id="inst ance/é%41", user_name="user_01"),
        "sdk_path_segment_needs_encoding",
        "instance_id with space, '/', non-ASCII and a literal '%41': the client encodes the path value with "
        "quote(safe=''), the signer decodes the whole path once and re-encodes each '/'-separated segment, so "
        "an encoded %2F becomes a real '/' in the canonical URI"))

    # Temporary credentials: X-Security-Token is added and signed.
    sts_creds = VectorCredentials(AK, SK, PROJECT_ID).with_security_token("starkeep-test-security-token")
    sts_client = _client(sts_creds)
    out.append(_client_vector(
        sts_client, sts_creds, "show_star_rocks_database_user",
        ShowStarRocksDatabaseUserRequest(instance_id=INSTANCE_ID, limit=10, offset=0),
        "sdk_show_users_security_token",
        "temporary AK/SK: X-Security-Token header is sent and signed"))
    return out


# --------------------------------------------------------------------------
# Vectors from hand-built SdkRequest objects (edge cases of the signer).
# --------------------------------------------------------------------------
BASE = "/v3/%s/instances/%s/starrocks" % (PROJECT_ID, INSTANCE_ID)


def raw(name, description, method, resource_path, query_params=None, headers=None, body=None,
        credentials=None, host=HOST):
    creds = credentials or VectorCredentials(AK, SK, PROJECT_ID)
    hdrs = {"X-Sdk-Date": X_SDK_DATE}
    hdrs.update(headers or {})
    req = SdkRequest(method=method, schema="http", host=host, resource_path=resource_path,
                     query_params=list(query_params or []), header_params=hdrs, body=body)
    return _sign_and_record(creds, req, name, description, "huaweicloudsdkcore SdkRequest + Signer")


def raw_vectors():
    json_ct = {"Content-Type": "application/json"}
    out = [
        raw("raw_get_limit_offset_user_name", "GET, query given out of order: canonical query is sorted by key",
            "GET", BASE + "/users",
            [("user_name", "root"), ("offset", 0), ("limit", 10)], json_ct),
        raw("raw_repeated_query_keys", "repeated keys as separate tuples and as a list value; sorted by "
            "(key, value) on the unencoded values",
            "GET", BASE + "/users",
            [("tag", "b"), ("limit", 10), ("tag", "a"), ("tag", "a b"), ("multi", ["z", "y", "x"])], json_ct),
        raw("raw_query_special_chars", "values with space, '+', '/', '=', '&', '~', '*', unicode: RFC 3986 "
            "encoding, only A-Z a-z 0-9 - . _ ~ left bare, uppercase hex, space as %20",
            "GET", BASE + "/users",
            [("user_name", "a b+c/d=e&f~g*h"), ("q", "é中😀"), ("k y", "v:w;x,y@z$!'()")], json_ct),
        raw("raw_query_sort_by_unencoded_value", "sorting happens on the raw values, not on the encoded "
            "text: '~' (0x7E) sorts before 'é' although '%C3%A9' < '~' as encoded strings",
            "GET", BASE + "/users",
            [("k", "é"), ("k", "~"), ("k", "A"), ("k", " ")], json_ct),
        raw("raw_query_empty_value_and_bool", "empty value gives 'k='; Python bool gives true/false; "
            "None-valued parameters never reach the signer in the client path",
            "GET", BASE + "/users",
            [("empty", ""), ("flag", True), ("other", False), ("limit", 1)], json_ct),
        raw("raw_post_json_body", "POST JSON body hashed as-is (SHA-256 hex of the exact bytes)",
            "POST", BASE + "/users", [],
            {"Content-Type": "application/json"},
            '{"user_name":"user_01","password":"Test@12345","databases":["*"]}'),
        raw("raw_post_content_type_charset", "Content-Type with charset is signed verbatim (after trim)",
            "POST", BASE + "/users/sync", [],
            {"Content-Type": "application/json; charset=UTF-8"}, '{"action":"startSyncTaurusAccount"}'),
        raw("raw_post_empty_body", "empty body (b'') hashes to SHA-256 of the empty string",
            "POST", BASE + "/users/sync", [], json_ct, b""),
        raw("raw_put_body", "PUT with JSON body",
            "PUT", BASE + "/users/permission", [], json_ct, '{"user_name":"user_01","dml":3,"ddl":1}'),
        raw("raw_delete_with_query", "DELETE with query and no body",
            "DELETE", BASE + "/users", [("user_name", "user_01")], json_ct),
        raw("raw_delete_singular_path", "DELETE on the seed's singular '/user' path",
            "DELETE", BASE + "/user", [("user_name", "user_01")], json_ct),
        raw("raw_path_percent_encoded_segment", "resource_path already percent-encoded: decoded once, "
            "split on '/', each segment re-encoded (so %2F becomes '/', %2541 stays %2541)",
            "GET", "/v3/%s/instances/a%%20b%%2Fc%%C3%%A9%%2541/starrocks/users" % PROJECT_ID,
            [("limit", 1)], json_ct),
        raw("raw_path_trailing_slash", "path already ending in '/' gets no second slash",
            "GET", BASE + "/users/", [("limit", 1)], json_ct),
        raw("raw_unsigned_payload", "non-JSON Content-Type: SDK adds X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD "
            "(signed) and uses that literal as payload hash",
            "POST", BASE + "/users", [], {"Content-Type": "text/plain"}, "hello"),
        raw("raw_unsigned_payload_empty_body", "UNSIGNED-PAYLOAD header present but body empty: payload hash "
            "is the empty-string SHA-256, not the literal",
            "POST", BASE + "/users", [], {"Content-Type": "application/octet-stream"}, b""),
        raw("raw_no_content_type", "no Content-Type header at all: not signed, body hashed normally",
            "POST", BASE + "/users/sync", [], {}, '{"action":"stopSyncTaurusAccount"}'),
        raw("raw_header_trim_and_underscore", "header values are trimmed; header names containing '_' are "
            "not signed (but still sent); names are lower-cased and sorted; inner whitespace is kept. Quirk: the "
            "UNSIGNED-PAYLOAD check runs on the untrimmed Content-Type, so '  application/json  ' gets "
            "X-Sdk-Content-Sha256 added (harmless here: empty body)",
            "GET", BASE + "/users", [("limit", 1)],
            {"Content-Type": "  application/json  ", "X-Language": " zh-cn", "X_Custom_Header": "ignored",
             "X-Extra-Header": "a  b\tc"}),
        raw("raw_non_ascii_header_value", "non-ASCII header value: canonical header uses the UTF-8 text; "
            "it goes on the wire as UTF-8 bytes",
            "GET", BASE + "/users", [("limit", 1)], {"Content-Type": "application/json", "X-Note": "é中"}),
        raw("raw_explicit_host_header", "caller-supplied Host header (any case) is kept instead of "
            "request.host",
            "GET", BASE + "/users", [("limit", 1)],
            {"Content-Type": "application/json", "host": "starkeep.example.com"}),
        raw("raw_https_default_port_host", "host without a port (https endpoint without explicit port)",
            "GET", BASE + "/users", [("limit", 1)], json_ct, host="gaussdb.example.com"),
        raw("raw_root_path", "root path '/'", "GET", "/", [], json_ct),
        raw("raw_no_project_id", "BasicCredentials without project_id: no X-Project-Id header (and the "
            "client would leave '{project_id}' in the path, encoded as %7Bproject_id%7D)",
            "GET", "/v3/%7Bproject_id%7D/instances/" + INSTANCE_ID + "/starrocks/users", [("limit", 1)],
            json_ct, credentials=VectorCredentials(AK, SK)),
    ]
    return out


# --------------------------------------------------------------------------
# Client behaviour facts (no signing): error parsing and response decoding.
# --------------------------------------------------------------------------
def _fake_response(status, body, headers):
    resp = requests.models.Response()
    resp.status_code = status
    resp._content = body.encode("utf-8")
    resp.headers = CaseInsensitiveDict(headers)
    resp.encoding = "utf-8"
    return resp


def error_parsing_vectors():
    cases = [
        (400, '{"error_code": "DBS.200076", "error_msg": "The instance does not exist."}',
         {"X-Request-Id": "req-1"}),
        (400, '{"error_code": "DBS.200001"}', {"X-Request-Id": "req-2"}),
        (403, '{"errorCode": "DBS.200044", "errorMsg": "camelCase form"}', {"x-request-id": "req-3"}),
        (404, '{"code": "APIGW.0101", "message": "The API does not exist"}', {}),
        (401, '{"error": {"code": "APIGW.0301", "message": "Incorrect IAM authentication information"}}',
         {"X-Request-Id": "req-5"}),
        (401, '{"error_code": "DBS.1", "error_msg": "top level wins", "error": {"code": "x", "message": "y"}}', {}),
        (500, '{"error_code": "DBS.999999", "error_msg": "internal"}', {"X-Request-Id": "req-7"}),
        (502, "Bad Gateway", {}),
        (400, "", {}),
        (400, '["not", "an", "object"]', {}),
        (400, '{"error_code": 123, "error_msg": "numeric code kept as-is"}', {}),
    ]
    handler = DefaultExceptionHandler()
    out = []
    for status, body, headers in cases:
        resp = _fake_response(status, body, headers)
        try:
            handler.handle_exception(None, resp)
            result = {"raised": None}
        except sdk_exceptions.ServiceResponseException as e:
            result = {"raised": type(e).__name__, "status_code": e.status_code, "error_code": e.error_code,
                      "error_msg": e.error_msg, "request_id": e.request_id}
        out.append({"status": status, "response_headers": headers, "response_body": body, "sdk_sees": result})
    return out


def response_decoding_vectors():
    creds = BasicCredentials(AK, SK, PROJECT_ID)
    client = _client(creds)
    cases = [
        ("ShowStarRocksDatabaseUserResponse",
         '{"user_details": [{"user_name": "root", "databases": ["*"], "data_bases": ["*"], "dml": 2, "ddl": 0}],'
         ' "total_count": 1}'),
        ("ShowStarRocksDatabaseUserResponse",
         '{"user_details": [{"user_name": "u", "databases": ["db1"]}], "total_count": 1}'),
        ("ShowStarRocksDatabaseUserResponse", '{"user_details": [], "total_count": "3"}'),
        ("CreateStarRocksDatabaseUserResponse", '{"result": "SUCCESS"}'),
        ("SyncStarRocksUsersResponse", '{"success": true}'),
        ("SyncStarRocksUsersResponse", '{"success": false}'),
        ("SyncStarRocksUsersResponse", '{"success": "false"}'),
        ("SyncStarRocksUsersResponse", '{"result": "SUCCESS"}'),
    ]
    out = []
    for type_name, body in cases:
        resp = _fake_response(200, body, {"Content-Type": "application/json"})
        model = client.sync_response_handler(resp, type_name, [], None)
        out.append({"response_type": type_name, "response_body": body, "sdk_model": model.to_dict()})
    return out


def versions():
    return {name: metadata.version(name) for name in
            ("huaweicloudsdkcore", "huaweicloudsdkgaussdb", "requests", "simplejson")}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_VECTORS, help="signing vectors JSON path")
    ap.add_argument("--behaviour-out", default=DEFAULT_BEHAVIOUR, help="client behaviour JSON path")
    ap.add_argument("--allow-other-versions", action="store_true",
                    help="do not fail when installed SDK versions differ from the pinned ones")
    args = ap.parse_args()

    vers = versions()
    for name, want in PINNED.items():
        if vers[name] != want and not args.allow_other_versions:
            sys.exit("%s %s installed, %s pinned (use --allow-other-versions to override)" % (name, vers[name], want))

    meta = {
        "generator": "tools/sdk-vectors/generate.py",
        "sdk_versions": vers,
        "python": platform.python_version(),
        "algorithm": "SDK-HMAC-SHA256",
        "notes": [
            "input.headers are the request headers before signing; expected.* come from the SDK Signer's own methods.",
            "wire.request_target / wire.headers / wire body are what the python 'requests' library would send; "
            "a verifier fed with these must reproduce expected.signature.",
            "Headers added by requests after signing (Accept, Accept-Encoding, Connection, Content-Length) are "
            "never signed.",
            "All vectors use x_sdk_date %s; a server enforcing clock skew must disable it for these tests." % X_SDK_DATE,
        ],
    }
    vectors = {"meta": meta, "vectors": client_vectors() + raw_vectors()}

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(vectors, f, ensure_ascii=False, indent=2)
        f.write("\n")

    behaviour = {"meta": {"generator": meta["generator"], "sdk_versions": vers},
                 "error_parsing": error_parsing_vectors(),
                 "response_decoding": response_decoding_vectors()}
    with open(args.behaviour_out, "w", encoding="utf-8") as f:
        json.dump(behaviour, f, ensure_ascii=False, indent=2)
        f.write("\n")

    print("wrote %d signing vectors to %s" % (len(vectors["vectors"]), args.out))
    print("wrote client behaviour facts to %s" % args.behaviour_out)


if __name__ == "__main__":
    main()
