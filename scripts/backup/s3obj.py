#!/usr/bin/env python3
"""The S3 side of the backup scripts: put a dump, find the one to restore, get it back verified.

A small boto3 program instead of the AWS CLI, so the backup image stays small and the scripts run
the same on a laptop, in the CronJob and against a local S3 stand-in (boto3 honours
``AWS_ENDPOINT_URL``). Credentials come from the standard chain (environment, profile).

Keys are ``<prefix>/<stack>/YYYY/MM/DD/<YYYYMMDDTHHMMSSZ>.dump``: the time in the name is when the
dump started, which is the point in time it restores to.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig

KEY_TIME = re.compile(r"/(\d{8}T\d{6}Z)\.dump$")
CHUNK = 1024 * 1024
MULTIPART_THRESHOLD = 64 * CHUNK
"""Dumps above this go up in parts (CreateMultipartUpload, UploadPart..., CompleteMultipartUpload)."""
PART_SIZE = 64 * CHUNK
"""64 MiB parts: a 640 GiB dump stays within S3's 10,000 parts."""
CHECKSUM_ALGORITHM = "CRC32"
"""Named explicitly: the bucket is object-locked, and S3 refuses a locked put (and every part) without a
checksum header. boto3 sends CRC32 only by default, and AWS_REQUEST_CHECKSUM_CALCULATION=when_required
(environment or profile) switches that default off; an explicit algorithm is sent whatever they say."""


def upload_args(checksum: str, kms_key_arn: str | None) -> dict[str, Any]:
    """ExtraArgs of every upload: the encryption the bucket policy admits, the checksum, the sha256.

    ``aws:kms`` plus the dedicated key's ARN when there is one (S3_KMS_KEY_ARN); ``aws:kms`` alone with
    the aws/s3 key. s3transfer sends the SSE headers on PutObject or CreateMultipartUpload only (parts
    inherit the upload's encryption) and the checksum algorithm on every request.
    """
    extra: dict[str, Any] = {
        "Metadata": {"sha256": checksum},
        "ContentType": "application/octet-stream",
        "ServerSideEncryption": "aws:kms",
        "ChecksumAlgorithm": CHECKSUM_ALGORITHM,
    }
    if kms_key_arn:
        extra["SSEKMSKeyId"] = kms_key_arn
    return extra


def _client() -> Any:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return boto3.client("s3", region_name=region)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; without an offset it is taken as UTC (every time here is UTC)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def key_time(key: str) -> datetime | None:
    match = KEY_TIME.search(key)
    return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) if match else None


def latest_before(keys: list[str], at: datetime) -> str | None:
    """The newest dump that started at or before ``at``."""
    dated = [(t, k) for k in keys if (t := key_time(k)) is not None and t <= at]
    return max(dated)[1] if dated else None


def put(args: argparse.Namespace) -> int:
    path = Path(args.file)
    checksum = sha256_of(path)
    # The writer may only PutObject (no HeadObject/GetObject), so nothing is read back here: S3 verifies
    # the CRC32 of every request on receipt, and the sha256 travels as metadata for restores.
    _client().upload_file(
        str(path),
        args.bucket,
        args.key,
        ExtraArgs=upload_args(checksum, os.environ.get("S3_KMS_KEY_ARN")),
        Config=TransferConfig(multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=PART_SIZE),
    )
    print(json.dumps({"bucket": args.bucket, "key": args.key, "sha256": checksum, "bytes": path.stat().st_size}))
    return 0


def latest(args: argparse.Namespace) -> int:
    at = parse_instant(args.at) if args.at else datetime.now(UTC)
    keys: list[str] = []
    for page in _client().get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix):
        keys += [item["Key"] for item in page.get("Contents", [])]
    key = latest_before(keys, at)
    if key is None:
        print(f"s3obj: no dump under s3://{args.bucket}/{args.prefix} at or before {at.isoformat()}", file=sys.stderr)
        return 1
    print(key)
    return 0


def list_dumps(args: argparse.Namespace) -> int:
    """The newest ``--limit`` dumps, oldest first: time, size, key (what an operator picks from)."""
    items: list[tuple[datetime, int, str]] = []
    for page in _client().get_paginator("list_objects_v2").paginate(Bucket=args.bucket, Prefix=args.prefix):
        for item in page.get("Contents", []):
            if (started := key_time(item["Key"])) is not None:
                items.append((started, int(item["Size"]), item["Key"]))
    for started, size, key in sorted(items)[-args.limit :]:
        print(f"{started.strftime('%Y-%m-%dT%H:%M:%SZ')}  {size:>14,}  {key}")
    return 0


def get(args: argparse.Namespace) -> int:
    response = _client().get_object(Bucket=args.bucket, Key=args.key)
    expected = response.get("Metadata", {}).get("sha256")
    digest = hashlib.sha256()
    with Path(args.file).open("wb") as handle:
        for chunk in response["Body"].iter_chunks(CHUNK):
            digest.update(chunk)
            handle.write(chunk)
    actual = digest.hexdigest()
    if expected != actual:
        print(f"s3obj: checksum mismatch for {args.key}: metadata {expected}, downloaded {actual}", file=sys.stderr)
        return 2
    print(json.dumps({"key": args.key, "sha256": actual, "bytes": Path(args.file).stat().st_size}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    put_parser = commands.add_parser("put", help="upload a dump with its sha256 as metadata")
    put_parser.add_argument("--bucket", required=True)
    put_parser.add_argument("--key", required=True)
    put_parser.add_argument("--file", required=True)
    put_parser.set_defaults(run=put)
    latest_parser = commands.add_parser("latest", help="print the newest dump key at or before --at")
    latest_parser.add_argument("--bucket", required=True)
    latest_parser.add_argument("--prefix", required=True)
    latest_parser.add_argument("--at", help="ISO 8601 instant (UTC unless an offset is given). Default: now.")
    latest_parser.set_defaults(run=latest)
    list_parser = commands.add_parser("list", help="print the newest dumps: start time, bytes, key")
    list_parser.add_argument("--bucket", required=True)
    list_parser.add_argument("--prefix", required=True)
    list_parser.add_argument("--limit", type=int, default=48)
    list_parser.set_defaults(run=list_dumps)
    get_parser = commands.add_parser("get", help="download a dump and verify its sha256")
    get_parser.add_argument("--bucket", required=True)
    get_parser.add_argument("--key", required=True)
    get_parser.add_argument("--file", required=True)
    get_parser.set_defaults(run=get)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
