"""The backup and restore scripts against a real PostgreSQL server and a local S3 stand-in.

A PostgreSQL server (Debian's ``postgresql`` package, installed by scripts/install-tools.sh) is
started on a free loopback port with its socket in a temporary directory; moto runs in server mode
as S3. ``pg-backup.sh`` dumps an application database owned by a non-superuser role (like the app's
role on DigitalOcean), ``pg-restore.sh`` restores it into a new database, and every table's row
count and checksum, and every sequence position, must match the source. Skipped only when the
server binaries are genuinely absent.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from moto.server import ThreadedMotoServer

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts" / "backup"
INITDB = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
PG_BIN = INITDB[-1].parent if INITDB else None

pytestmark = pytest.mark.skipif(
    PG_BIN is None, reason="PostgreSQL server binaries absent (scripts/install-tools.sh installs them)"
)

SUPERUSER_PASSWORD = "super-secret-pw"
APP_PASSWORD = "app-pw-with:special@chars"
BUCKET = "roundtrip-backups"

SCHEMA_AND_DATA = """
create table channels (
  id bigserial primary key,
  handle text not null unique,
  title text,
  subscribers bigint,
  created_at timestamptz not null default '2026-01-01T00:00:00Z',
  meta jsonb
);
create table videos (
  id bigserial primary key,
  channel_id bigint not null references channels (id),
  title text not null,
  views bigint,
  duration interval,
  published date,
  thumbnail bytea,
  tags text[]
);
create index videos_channel on videos (channel_id);
create table niche_scores (niche text, day date, score numeric(10, 4), primary key (niche, day));
create view top_channels as select id, handle from channels order by subscribers desc nulls last limit 10;
insert into channels (handle, title, subscribers, meta)
  select 'chan-' || g, case when g % 7 = 0 then null else 'Kanal Nº ' || g || ' — ünïcødé' end,
         g * 1000, jsonb_build_object('g', g, 'even', g % 2 = 0)
  from generate_series(1, 500) g;
insert into videos (channel_id, title, views, duration, published, thumbnail, tags)
  select 1 + g % 500, 'video ' || g || E' with\\ttab and ''quote''', g * 37, make_interval(secs => g),
         date '2025-01-01' + g % 365, decode(md5(g::text), 'hex'), array['t' || g % 5, 'u' || g % 3]
  from generate_series(1, 5000) g;
insert into niche_scores select 'niche-' || g % 50, date '2026-01-01' + g / 50, (g % 997) / 7.0
  from generate_series(0, 1999) g;
"""

FINGERPRINT = r"""
select format(
  'select %L || ''|'' || count(*) || '' '' || '
  'coalesce(md5(string_agg(t::text, E''\n'' order by t::text)), ''-'') from %s t',
  'table ' || n.nspname || '.' || c.relname, c.oid::regclass)
from pg_class c join pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and n.nspname = 'public' order by 1
\gexec
select 'sequence ' || sequencename || '|' || last_value from pg_sequences order by 1;
"""


@dataclass(frozen=True)
class Server:
    port: int
    superuser_url: str

    def url(self, database: str, user: str = "postgres", password: str = SUPERUSER_PASSWORD) -> str:
        return f"postgresql://{user}:{quote(password, safe='')}@127.0.0.1:{self.port}/{database}"


def pg(tool: str) -> str:
    assert PG_BIN is not None
    return str(PG_BIN / tool)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: under root (CI, containers) run them as `postgres`."""
    if os.geteuid() != 0:
        return command
    try:
        user = pwd.getpwnam("postgres").pw_name
    except KeyError:
        user = "nobody"
    return ["runuser", "-u", user, "--", *command]


def _server_uid() -> tuple[int, int]:
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    raise RuntimeError("no unprivileged user to run PostgreSQL as")


@pytest.fixture(scope="module")
def postgres() -> Iterator[Server]:
    root = Path(tempfile.mkdtemp(prefix="pg-roundtrip-"))
    data, sockets, pwfile = root / "data", root / "sockets", root / "pwfile"
    sockets.mkdir()
    pwfile.write_text(SUPERUSER_PASSWORD + "\n")
    if os.geteuid() == 0:
        uid, gid = _server_uid()
        for path in (root, sockets, pwfile):
            os.chown(path, uid, gid)
    port = _free_port()
    subprocess.run(
        _as_server_user(
            [
                pg("initdb"),
                "--no-sync",
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
            ]
        ),
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sockets} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = [pg("pg_ctl"), "-D", str(data), "-l", str(root / "server.log")]
    subprocess.run(
        _as_server_user([*pg_ctl, "-w", "-t", "30", "-o", options, "start"]), check=True, capture_output=True
    )
    server = Server(port=port, superuser_url="")
    server = Server(port=port, superuser_url=server.url("postgres"))
    try:
        yield server
    finally:
        subprocess.run(_as_server_user([*pg_ctl, "-m", "immediate", "stop"]), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    # Like the real vault: versioned, object lock on with a default retention.
    client.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    client.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
        },
    )
    try:
        yield endpoint
    finally:
        server.stop()


def psql(url: str, sql: str) -> str:
    result = subprocess.run(
        [pg("psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", url],
        input=sql,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def app_url(postgres: Server) -> str:
    """The application database, owned by a non-superuser role, reached over TCP with a password."""
    psql(
        postgres.superuser_url,
        f"create role app login password '{APP_PASSWORD}'; create database app owner app;",
    )
    url = postgres.url("app", "app", APP_PASSWORD)
    psql(url, SCHEMA_AND_DATA)
    return url


def fingerprint(url: str) -> dict[str, str]:
    """Row count and md5 of every public table's rows (in a total order), and every sequence position."""
    return dict(line.split("|", 1) for line in psql(url, FINGERPRINT).splitlines())


def script_env(s3_endpoint: str, tmp_path: Path, stack: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PATH=f"{PG_BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHON=sys.executable,
        TMPDIR=str(tmp_path),
        AWS_ENDPOINT_URL=s3_endpoint,
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        S3_BUCKET=BUCKET,
        BACKUP_STACK=stack,
        **extra,
    )
    return env


def backup(app_url: str, env: dict[str, str], timestamp: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / "pg-backup.sh")],
        env={**env, "DATABASE_URL": app_url, "BACKUP_TIMESTAMP": timestamp},
        check=True,
        capture_output=True,
        text=True,
    )


def restore(server: Server, env: dict[str, str], new_db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / "pg-restore.sh"), "--new-db", new_db, *args],
        env={**env, "SERVER_URL": server.superuser_url + "?connect_timeout=5"},
        check=False,
        capture_output=True,
        text=True,
    )


@dataclass(frozen=True)
class Dump:
    """One pg-backup.sh run of the untouched application database, shared by the restore tests."""

    stack: str
    key: str
    source: dict[str, str]
    """Fingerprint of the database when it was dumped."""
    log: str


@pytest.fixture(scope="module")
def dump(app_url: str, s3: str, tmp_path_factory: pytest.TempPathFactory) -> Dump:
    env = script_env(s3, tmp_path_factory.mktemp("dump"), "rt")
    source = fingerprint(app_url)
    result = backup(app_url, env, "20261101T100000Z")
    return Dump("rt", "postgres/rt/2026/11/01/20261101T100000Z.dump", source, result.stdout + result.stderr)


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_backup_then_restore_loses_nothing(postgres: Server, dump: Dump, s3: str, tmp_path: Path) -> None:
    restored = restore(postgres, script_env(s3, tmp_path, dump.stack), "restored_latest")

    assert restored.returncode == 0, restored.stderr
    assert fingerprint(postgres.url("restored_latest")) == dump.source
    assert dump.source["table public.videos"].startswith("5000 ")
    assert "public.videos 5000" in restored.stdout.splitlines()


def test_restore_with_owner_gives_the_app_role_every_object(
    postgres: Server, dump: Dump, s3: str, tmp_path: Path
) -> None:
    restored = restore(postgres, script_env(s3, tmp_path, dump.stack), "restored_owned", "--owner", "app")

    assert restored.returncode == 0, restored.stderr
    owned = postgres.url("restored_owned", "app", APP_PASSWORD)
    owners = psql(
        owned,
        "select distinct pg_get_userbyid(relowner) from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = 'public' union select pg_get_userbyid(datdba) from pg_database "
        "where datname = current_database()",
    )
    assert owners.split() == ["app"]
    assert fingerprint(owned) == dump.source


def test_dump_lands_under_a_timestamped_key_with_its_checksum(dump: Dump, s3: str) -> None:
    head = s3_client(s3).head_object(Bucket=BUCKET, Key=dump.key)

    assert head["Metadata"]["sha256"] in dump.log
    assert head["ContentLength"] > 0


def test_restore_at_picks_the_newest_dump_started_before_that_time(
    postgres: Server, app_url: str, s3: str, tmp_path: Path
) -> None:
    env = script_env(s3, tmp_path, "rt-at")
    before = fingerprint(app_url)
    backup(app_url, env, "20261103T100000Z")
    psql(app_url, "insert into channels (handle) select 'late-' || g from generate_series(1, 25) g;")
    after = fingerprint(app_url)
    backup(app_url, env, "20261103T110000Z")

    at_half_past = restore(postgres, env, "restored_at_1030", "--at", "2026-11-03T10:30:00Z")
    latest = restore(postgres, env, "restored_at_latest")

    assert at_half_past.returncode == 0, at_half_past.stderr
    assert latest.returncode == 0, latest.stderr
    assert before != after
    assert fingerprint(postgres.url("restored_at_1030")) == before
    assert fingerprint(postgres.url("restored_at_latest")) == after


def test_restore_refuses_a_dump_whose_checksum_does_not_match(postgres: Server, s3: str, tmp_path: Path) -> None:
    s3_client(s3).put_object(
        Bucket=BUCKET,
        Key="postgres/rt-corrupt/2026/11/04/20261104T100000Z.dump",
        Body=b"PGDMP not really a dump",
        Metadata={"sha256": "0" * 64},
    )

    result = restore(postgres, script_env(s3, tmp_path, "rt-corrupt"), "restored_corrupt")

    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert psql(postgres.superuser_url, "select count(*) from pg_database where datname = 'restored_corrupt'") == "0\n"


def test_restore_never_writes_into_an_existing_database(postgres: Server, dump: Dump, s3: str, tmp_path: Path) -> None:
    result = restore(postgres, script_env(s3, tmp_path, dump.stack), "app")

    assert result.returncode == 65
    assert "already exists" in result.stderr


def test_operators_can_list_dumps_oldest_first(s3: str, tmp_path: Path) -> None:
    for stamp in ("20261106T110000Z", "20261106T100000Z"):
        s3_client(s3).put_object(Bucket=BUCKET, Key=f"postgres/rt-list/2026/11/06/{stamp}.dump", Body=b"x")

    listing = subprocess.run(
        [sys.executable, str(SCRIPTS / "s3obj.py"), "list", "--bucket", BUCKET, "--prefix", "postgres/rt-list/"],
        env=script_env(s3, tmp_path, "rt-list"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()

    assert [line.split()[0] for line in listing] == ["2026-11-06T10:00:00Z", "2026-11-06T11:00:00Z"]
